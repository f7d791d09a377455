package rewriter

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Functions, operators and types (DESIGN §3, default deny). A function outside
// pg_catalog can read the raw tables with pgmask's upstream privileges, so it is
// refused unless the role allowlists it (roles.X.functions). An unqualified name is
// checked against every function of that name in a schema on the session's
// search_path: PostgreSQL picks among all of them by argument types, so if any of them
// is outside pg_catalog and not allowlisted, pgmask cannot be sure the built-in wins.
// Operators are functions too, and so are the support functions behind domains and
// user-defined types, which is why casts to types outside pg_catalog are refused too.
//
// Inside pg_catalog, a denylist refuses the built-ins that run SQL text, read server
// files, change server state or show other sessions' query texts. The SQL-running ones
// and set_config can never be allowlisted: they would bypass the rewriter.
//
// pg_get_viewdef, pg_get_indexdef, pg_get_constraintdef and the other pg_get_*def
// functions stay allowed: they print schema, never data values, and BI tools need
// them. (They may name a hidden column in an index or constraint definition; see the
// known gaps in the package README.)

// neverFunctions run SQL text, show query texts or data values, or change settings
// pgmask pins; no policy can allow them. current_query() shows the statement as pgmask
// rewrote it: the role's row filters and the keys of its keyed transforms.
var neverFunctions = []string{
	"query_to_xml*", "table_to_xml*", "schema_to_xml*", "database_to_xml*",
	"cursor_to_xml*", "ts_stat", "set_config", "dblink*", "current_query",
	"pg_stat_get_activity", "pg_stat_get_backend_activity", "pg_prepared_statement",
	"pg_cursor", "pg_mcv_list_items", "pg_stat_statements*",
}

// deniedFunctions touch server files, large objects, replication, other backends or
// server state; a policy may allow one by name ("pg_catalog.lo_get").
var deniedFunctions = []string{
	"pg_read_file*", "pg_read_binary_file*", "pg_ls_*", "pg_stat_file", "pg_file_*",
	"lo_*", "loread", "lowrite", "pg_terminate_backend", "pg_cancel_backend",
	"pg_reload_conf", "pg_rotate_logfile*", "pg_switch_wal", "pg_create_*", "pg_drop_*",
	"pg_logical_*", "pg_replication_*", "pg_copy_*", "pg_notify", "pg_promote",
	"pg_backup_*", "pg_start_backup", "pg_stop_backup", "pg_wal_replay_*",
	"pg_log_backend_memory_contexts", "pg_stat_reset*", "pg_import_system_collations",
	"binary_upgrade_*", "pg_nextoid", "pg_stop_making_pinned_objects",
	"pg_export_snapshot", "pg_config", "pg_hba_file_rules", "pg_ident_file_mappings",
	"pg_show_all_file_settings", "pg_current_logfile*", "pg_get_backend_memory_contexts",
	"pg_show_replication_origin_status", "pg_get_replication_slots", "pg_get_wal_*",
	"pg_get_shmem_allocations", "pg_extension_config_dump", "currtid*",
	"brin_summarize*", "brin_desummarize_range", "gin_clean_pending_list",
}

// writingFunctions change data; read-only roles may not call them.
var writingFunctions = []string{"nextval", "setval"}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// neverAllowlistable reports whether a roles.X.functions entry names a function no
// policy may allow.
func neverAllowlistable(entry string) bool {
	schema, name, ok := strings.Cut(entry, ".")
	if !ok {
		name, schema = entry, "pg_catalog"
	}
	return schema == "pg_catalog" && matchAny(neverFunctions, name)
}

// nameParts returns the strings of a qualified name, or false if a part is not one.
func nameParts(ns []*pg_query.Node) ([]string, bool) {
	out := make([]string, len(ns))
	for i, n := range ns {
		s := n.GetString_()
		if s == nil {
			return nil, false
		}
		out[i] = s.Sval
	}
	return out, true
}

// allowlisted reports whether the role lists schema.name (or the bare name).
func (rw *rewrite) allowlisted(schema, name string) bool {
	return rw.role.functions[schema+"."+name] || rw.role.functions[name]
}

// checkFunction checks a function (or procedure, or TABLESAMPLE method) name.
func (rw *rewrite) checkFunction(names []*pg_query.Node, args []*pg_query.Node) *Denial {
	parts, ok := nameParts(names)
	if !ok || len(parts) == 0 || len(parts) > 3 {
		return unsupported("this function name", rw.role.name)
	}
	written := strings.Join(parts, ".")
	if len(parts) == 3 {
		if rw.ctx.Database != "" && parts[0] != rw.ctx.Database {
			return &Denial{Code: CodeFeatureNotSupported, Message: "cross-database references are not implemented: " + written}
		}
		parts = parts[1:]
	}
	if len(parts) == 2 {
		schema, name := parts[0], parts[1]
		if schema != "pg_catalog" {
			if rw.allowlisted(schema, name) || catalogFunction(schema, name) {
				return nil
			}
			return functionNotAvailable("function", written, rw.role.name, true)
		}
		return rw.builtin(name, args, written)
	}
	name := parts[0]
	for _, f := range rw.cat.functionsNamed(name) {
		if f.Schema != "pg_catalog" && rw.path.onPath(f.Schema) && !rw.allowlisted(f.Schema, name) {
			return functionNotAvailable("function", f.Schema+"."+name, rw.role.name, true)
		}
	}
	return rw.builtin(name, args, written)
}

// builtin applies the pg_catalog denylists.
func (rw *rewrite) builtin(name string, args []*pg_query.Node, written string) *Denial {
	nargs := len(args)
	if matchAny(neverFunctions, name) || name == "ts_rewrite" && nargs == 2 {
		return functionNotAvailable("function", written, rw.role.name, false)
	}
	if matchAny(deniedFunctions, name) && !rw.allowlisted("pg_catalog", name) {
		return functionNotAvailable("function", "pg_catalog."+name, rw.role.name, true)
	}
	if d := rw.checkNameArgs(name, args); d != nil {
		return d
	}
	if d := rw.checkObjectArg(name, args); d != nil {
		return d
	}
	if rw.role.readOnly && matchAny(writingFunctions, name) {
		return readOnlyRefused(fmt.Sprintf("function %q, which writes,", written), rw.role.name)
	}
	return nil
}

// checkOperator checks an operator name (["="], or ["schema", "op"] from OPERATOR()).
func (rw *rewrite) checkOperator(names []*pg_query.Node) *Denial {
	if len(names) == 0 {
		return nil
	}
	parts, ok := nameParts(names)
	if !ok || len(parts) > 2 {
		return unsupported("this operator name", rw.role.name)
	}
	if len(parts) == 2 {
		if parts[0] == "pg_catalog" || rw.allowlisted(parts[0], parts[1]) {
			return nil
		}
		return functionNotAvailable("operator", parts[0]+"."+parts[1], rw.role.name, true)
	}
	for _, o := range rw.cat.operatorsNamed(parts[0]) {
		if o.Schema != "pg_catalog" && rw.path.onPath(o.Schema) && !rw.allowlisted(o.Schema, o.Name) {
			return functionNotAvailable("operator", o.Schema+"."+o.Name, rw.role.name, true)
		}
	}
	return nil
}

// checkAExpr checks the operators an operator expression resolves by name. BETWEEN
// carries a keyword instead of an operator name but compares with <= and >=.
func (rw *rewrite) checkAExpr(e *pg_query.A_Expr) *Denial {
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL,
		pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT,
		pg_query.A_Expr_Kind_AEXPR_NULLIF, pg_query.A_Expr_Kind_AEXPR_IN,
		pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE, pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		return rw.checkOperator(e.Name)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		for _, op := range []string{"<=", ">=", "<", ">"} {
			if d := rw.checkOperator([]*pg_query.Node{pg_query.MakeStrNode(op)}); d != nil {
				return d
			}
		}
		return nil
	}
	return unsupported("this kind of operator expression", rw.role.name)
}

// checkType allows built-in types, and enums and the row types of granted relations
// outside pg_catalog; other types (domains, base and range types) carry functions of
// their own.
func (rw *rewrite) checkType(tn *pg_query.TypeName) *Denial {
	if tn.PctType {
		return unsupported("%TYPE", rw.role.name)
	}
	parts, ok := nameParts(tn.Names)
	if !ok || len(parts) == 0 || len(parts) > 2 {
		return unsupported("this type name", rw.role.name)
	}
	written := strings.Join(parts, ".")
	if len(parts) == 2 {
		if parts[0] == "pg_catalog" {
			return rw.walkNodes(tn.Typmods)
		}
		t := rw.cat.typeOf(parts[0], parts[1])
		if t == nil || !rw.typeAllowed(t) {
			return functionNotAvailable("type", written, rw.role.name, false)
		}
		return rw.walkNodes(tn.Typmods)
	}
	for _, t := range rw.cat.typesNamed(parts[0]) {
		if rw.path.onPath(t.Schema) && !rw.typeAllowed(t) {
			return functionNotAvailable("type", written, rw.role.name, false)
		}
	}
	return rw.walkNodes(tn.Typmods)
}

func (rw *rewrite) typeAllowed(t *Type) bool {
	switch {
	case t.Kind == "e":
		return true
	case t.Kind == "c" && t.Relation != 0:
		// The row type lists every column of the relation, so it is allowed only when
		// the role sees them all: (NULL::t).* would name the hidden ones, and
		// (NULL::t).hidden would tell an excluded column from a missing one.
		r := rw.cat.RelationByOID(t.Relation)
		if r == nil {
			return false
		}
		tp := rw.role.byName[qualifiedName{r.Schema, r.Name}]
		if tp == nil {
			return false
		}
		for _, c := range r.Columns {
			if cp, ok := tp.columns[c.Name]; !ok || cp.spec.Excludes() {
				return false
			}
		}
		return true
	}
	return false
}

// checkRegclassCast refuses x::regclass where x could name a relation the role cannot
// see, which would otherwise tell existing relations from missing ones (and, for an
// OID, print the name of a hidden one).
func (rw *rewrite) checkRegclassCast(tc *pg_query.TypeCast) *Denial {
	parts, _ := nameParts(tc.GetTypeName().GetNames())
	if len(parts) == 0 || parts[len(parts)-1] != "regclass" {
		return nil
	}
	return rw.checkRelationName(tc.Arg)
}

// checkRelationName checks an expression that PostgreSQL reads as a relation's name or
// OID. A constant must name a relation the role can see (or be NULL, or OID 0). A
// column or parameter is allowed: a column holds what the role may read (the OIDs of
// the filtered catalogs, as psql and BI tools use them), and a parameter's value is
// only known at Bind. A cast is looked through ('x'::text, '16386'::oid). An
// expression with a constant in it ('clinic.' || 'x', concat(…, 'x')) is refused:
// pgmask cannot tell which relation it names. An expression of columns only is
// allowed, so a name assembled from the values of a VALUES list or CTE escapes the
// check (rewriter/README.md, known gaps).
func (rw *rewrite) checkRelationName(arg *pg_query.Node) *Denial {
	if arg.GetColumnRef() != nil || arg.GetParamRef() != nil {
		return nil
	}
	if tc := arg.GetTypeCast(); tc != nil {
		if parts, _ := nameParts(tc.GetTypeName().GetNames()); len(parts) > 0 && parts[len(parts)-1] == "regclass" {
			return nil // the walk checks the cast itself
		}
		return rw.checkRelationName(tc.Arg) // 'x'::text, '16386'::oid: the value inside
	}
	c := arg.GetAConst()
	if c == nil {
		if hasConstant(arg.ProtoReflect()) {
			return unsupported("a relation name computed from a constant (write it as a string literal)", rw.role.name)
		}
		return nil // computed from columns, as BI tools do: pg_get_serial_sequence(...)::regclass
	}
	if c.Isnull {
		return nil
	}
	rw.readValue = true
	var text string
	switch {
	case c.GetSval() != nil:
		text = c.GetSval().Sval
	case c.GetIval() != nil:
		text = strconv.Itoa(int(c.GetIval().Ival))
	case c.GetFval() != nil:
		text = c.GetFval().Fval
	default:
		return nil // PostgreSQL refuses a boolean or bit string as a regclass
	}
	if oid, err := strconv.ParseUint(strings.TrimSpace(text), 10, 32); err == nil {
		// A numeric value is an OID; PostgreSQL prints the name of an existing one.
		if oid == 0 {
			return nil // prints "-"
		}
		if r := rw.cat.RelationByOID(uint32(oid)); r == nil || !rw.visibility().relation(r) {
			return relationNotAvailable(text, rw.role.name)
		}
		return nil
	}
	names, err := splitQualified(text)
	if err != nil || len(names) > 2 {
		return nil // PostgreSQL answers "invalid name syntax" either way
	}
	rv := &pg_query.RangeVar{Relname: names[len(names)-1], Inh: true}
	if len(names) == 2 {
		rv.Schemaname = names[0]
	}
	rel, d := rw.resolveRelation(rv)
	if d != nil {
		return relationNotAvailable(text, rw.role.name)
	}
	if !rw.visibility().relation(rel) {
		return relationNotAvailable(text, rw.role.name)
	}
	return nil
}

// objectArgs lists built-ins that print an object of the schema given by its OID, with
// the position of that argument. An index, constraint, trigger, statistics object or
// partition key can involve a column the role cannot see, a view can read a table it
// cannot, a comment can say anything, and pg_describe_object names columns. The
// catalogs a restricted role reads are filtered (visibility.go), so an OID taken from
// them, a column, is one the role may see, which is how psql and BI tools call these.
// An OID written into the statement may be any object's, so it is refused; only
// pg_get_viewdef also takes 'name'::regclass, which checkRegclassCast checks.
var objectArgs = map[string][]int{
	"pg_get_indexdef": {0}, "pg_get_constraintdef": {0}, "pg_get_triggerdef": {0}, "pg_get_ruledef": {0},
	"pg_get_statisticsobjdef": {0}, "pg_get_statisticsobjdef_columns": {0}, "pg_get_statisticsobjdef_expressions": {0},
	"pg_get_partkeydef": {0}, "pg_get_viewdef": {0}, "pg_get_expr": {1},
	"col_description": {0, 1}, "obj_description": {0}, "shobj_description": {0},
	"pg_describe_object": {1, 2}, "pg_identify_object": {1, 2}, "pg_identify_object_as_address": {1, 2},
}

// checkObjectArg applies objectArgs.
func (rw *rewrite) checkObjectArg(name string, args []*pg_query.Node) *Denial {
	for _, pos := range objectArgs[name] {
		if pos < len(args) && !rw.fromCatalogs(name, args[pos]) {
			return denyf("Take the object's OID from the catalogs (pg_class, pg_index, pg_constraint, …), which list what the role may see.",
				"%s of an object given by a constant or an expression is not available to role %s", name, rw.role.name)
		}
	}
	return nil
}

// fromCatalogs reports whether arg, an argument of function name, is a column or a
// parameter, possibly cast, or a regclass cast (checked by checkRegclassCast) given to
// pg_get_viewdef.
func (rw *rewrite) fromCatalogs(name string, arg *pg_query.Node) bool {
	for tc := arg.GetTypeCast(); tc != nil; tc = arg.GetTypeCast() {
		if parts, _ := nameParts(tc.GetTypeName().GetNames()); name == "pg_get_viewdef" && len(parts) > 0 && parts[len(parts)-1] == "regclass" {
			return true
		}
		arg = tc.Arg
	}
	return arg.GetColumnRef() != nil || arg.GetParamRef() != nil
}

// hasConstant reports whether a constant occurs anywhere in m.
func hasConstant(m protoreflect.Message) bool {
	if _, ok := m.Interface().(*pg_query.A_Const); ok {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len() && !found; i++ {
				found = hasConstant(v.List().Get(i).Message())
			}
		case !fd.IsMap():
			found = hasConstant(v.Message())
		}
		return !found
	})
	return found
}

// splitQualified splits a possibly qualified name written as text ("a.b", `"A".b`).
func splitQualified(s string) ([]string, error) {
	var out []string
	for _, part := range splitOutsideQuotes(s, '.') {
		p, err := parseSearchPath(part)
		if err != nil || len(p) != 1 {
			return nil, errBadName
		}
		out = append(out, p[0])
	}
	return out, nil
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

type nameError struct{}

func (nameError) Error() string { return "invalid name syntax" }

var errBadName = nameError{}

// lockingClause refuses SELECT ... FOR UPDATE/SHARE for read-only roles (it locks
// rows, which is a write); its relation list names FROM items, not relations.
func (rw *rewrite) lockingClause(lc *pg_query.LockingClause) *Denial {
	if rw.role.readOnly {
		return readOnlyRefused("SELECT ... FOR UPDATE/SHARE", rw.role.name)
	}
	return nil
}

// relationArgs lists built-ins that take a relation (and maybe a column) by name as
// text: for each, a function of the argument count that returns the position of the
// relation argument and of the column argument (-1 when none). A string literal there
// is checked like 'name'::regclass, so these functions cannot tell a hidden relation
// or column from a missing one.
var relationArgs = map[string]func(n int) (rel, col int){
	"to_regclass":              func(int) (int, int) { return 0, -1 },
	"pg_relation_size":         func(int) (int, int) { return 0, -1 },
	"pg_total_relation_size":   func(int) (int, int) { return 0, -1 },
	"pg_table_size":            func(int) (int, int) { return 0, -1 },
	"pg_indexes_size":          func(int) (int, int) { return 0, -1 },
	"pg_relation_filenode":     func(int) (int, int) { return 0, -1 },
	"pg_relation_filepath":     func(int) (int, int) { return 0, -1 },
	"pg_get_viewdef":           func(int) (int, int) { return 0, -1 },
	"pg_get_serial_sequence":   func(int) (int, int) { return 0, 1 },
	"pg_partition_tree":        func(int) (int, int) { return 0, -1 },
	"pg_partition_ancestors":   func(int) (int, int) { return 0, -1 },
	"pg_partition_root":        func(int) (int, int) { return 0, -1 },
	"has_table_privilege":      func(n int) (int, int) { return n - 2, -1 },
	"has_sequence_privilege":   func(n int) (int, int) { return n - 2, -1 },
	"has_any_column_privilege": func(n int) (int, int) { return n - 2, -1 },
	"has_column_privilege":     func(n int) (int, int) { return n - 3, n - 2 },
}

// checkNameArgs applies relationArgs.
func (rw *rewrite) checkNameArgs(name string, args []*pg_query.Node) *Denial {
	pos, ok := relationArgs[name]
	if !ok {
		return nil
	}
	ri, ci := pos(len(args))
	if ri < 0 || ri >= len(args) {
		return nil
	}
	if d := rw.checkRelationName(args[ri]); d != nil {
		return d
	}
	if ci < 0 || ci >= len(args) {
		return nil
	}
	lit := args[ri].GetAConst().GetSval()
	col := args[ci].GetAConst().GetSval()
	if lit == nil || col == nil {
		if args[ci].GetAConst() == nil && hasConstant(args[ci].ProtoReflect()) {
			return unsupported("a column name computed from a constant (write it as a string literal)", rw.role.name)
		}
		return nil
	}
	rel := rw.relationNamed(lit.Sval)
	if rel == nil || isSystemSchema(rel.Schema) {
		return nil
	}
	for _, c := range rw.visibility().columns[rel.OID] {
		if c.Name == col.Sval {
			return nil
		}
	}
	return denyf(fmt.Sprintf("Ask the DBA to classify and grant %q to role %q in pgmask.toml.", lit.Sval+"."+col.Sval, rw.role.name),
		"column %q of relation %q is not available to role %s", col.Sval, lit.Sval, rw.role.name)
}

// relationNamed resolves a relation written as text, or returns nil.
func (rw *rewrite) relationNamed(s string) *Relation {
	names, err := splitQualified(s)
	if err != nil || len(names) == 0 || len(names) > 2 {
		return nil
	}
	rv := &pg_query.RangeVar{Relname: names[len(names)-1], Inh: true}
	if len(names) == 2 {
		rv.Schemaname = names[0]
	}
	rel, _ := rw.resolveRelation(rv)
	return rel
}
