package rewriter

import (
	"fmt"
	"path"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
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
	if d := rw.checkTypeArgs(name, args); d != nil {
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
	// A name that resolves nowhere is refused like a hidden row type on the path, so
	// that NULL::secrets cannot tell a hidden relation from a missing one.
	found := rw.cat.builtinType(parts[0])
	for _, t := range rw.cat.typesNamed(parts[0]) {
		if rw.path.onPath(t.Schema) {
			if !rw.typeAllowed(t) {
				return functionNotAvailable("type", written, rw.role.name, false)
			}
			found = true
		}
	}
	if !found {
		return functionNotAvailable("type", written, rw.role.name, false)
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

// lockingClause refuses SELECT ... FOR UPDATE/SHARE for read-only roles (it locks
// rows, which is a write); its relation list names FROM items, not relations.
func (rw *rewrite) lockingClause(lc *pg_query.LockingClause) *Denial {
	if rw.role.readOnly {
		return readOnlyRefused("SELECT ... FOR UPDATE/SHARE", rw.role.name)
	}
	return nil
}
