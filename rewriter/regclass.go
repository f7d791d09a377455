package rewriter

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Names and OIDs written as values (DESIGN §3, name resolution and default deny).
// PostgreSQL resolves a relation given as 'name'::regclass, to_regclass('name') or an
// OID, and a type given as 'name'::regtype or an OID (regtype.go), when the statement
// runs: it answers differently for an existing relation and a missing one, and prints
// the name of the one an OID stands for. pgmask checks such constants against the
// catalog snapshot, so that a relation the role may not see gets the answer of one
// that does not exist. Functions that print an object given by its OID (objectArgs)
// take it only from the filtered catalogs.

// regCast returns "regclass" or "regtype" when tn is that type or an array of it, and
// "" otherwise.
func regCast(tn *pg_query.TypeName) string {
	parts, _ := nameParts(tn.GetNames())
	if len(parts) > 0 {
		switch last := parts[len(parts)-1]; last {
		case "regclass", "regtype":
			return last
		}
	}
	return ""
}

// checkRegCast refuses x::regclass and x::regtype (and their arrays) where x could
// name a relation the role cannot see, or its row type, which would otherwise tell
// existing relations from missing ones (and, for an OID, print the name of a hidden
// one).
func (rw *rewrite) checkRegCast(tc *pg_query.TypeCast) *Denial {
	check := rw.checkRelationName
	switch regCast(tc.GetTypeName()) {
	case "":
		return nil
	case "regtype":
		check = rw.checkTypeArg
	}
	if len(tc.GetTypeName().GetArrayBounds()) > 0 {
		return rw.checkRegArray(tc.Arg, check)
	}
	return check(tc.Arg)
}

// checkRegArray checks x::regclass[] (or regtype[]): each element of ARRAY[…] like a
// single name. An array literal ('{a,b}') or an expression with a constant in it is
// refused: PostgreSQL would resolve every name in it.
func (rw *rewrite) checkRegArray(arg *pg_query.Node, check func(*pg_query.Node) *Denial) *Denial {
	if a := arg.GetAArrayExpr(); a != nil {
		for _, e := range a.Elements {
			if d := check(e); d != nil {
				return d
			}
		}
		return nil
	}
	if arg.GetAConst().GetIsnull() || !hasConstant(arg.ProtoReflect()) {
		return nil
	}
	return unsupported("an array of names written as one constant (write ARRAY['name', …])", rw.role.name)
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
		if regCast(tc.GetTypeName()) == "regclass" {
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
	text, ok := rw.constantText(c)
	if !ok {
		return nil
	}
	if oid, ok := parseOID(text); ok {
		// A numeric value is an OID; PostgreSQL prints the name of an existing one.
		if oid == 0 {
			return nil // prints "-"
		}
		if r := rw.cat.RelationByOID(oid); r == nil || !rw.visibility().relation(r) {
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

// constantText returns the text of a constant that PostgreSQL reads as a name or an
// OID, or false for NULL and for a boolean or bit string, which PostgreSQL refuses.
// The decision then depends on the value, so the rewrite must not become a template
// for other literals (cache.go).
func (rw *rewrite) constantText(c *pg_query.A_Const) (string, bool) {
	if c.Isnull {
		return "", false
	}
	rw.readValue = true
	switch {
	case c.GetSval() != nil:
		return c.GetSval().Sval, true
	case c.GetIval() != nil:
		return strconv.Itoa(int(c.GetIval().Ival)), true
	case c.GetFval() != nil:
		return c.GetFval().Fval, true
	}
	return "", false
}

// parseOID reads text as an OID the way oidin does: a decimal number, where a negative
// one down to -2^31 stands for its 32-bit two's complement ((-5)::regtype is OID
// 4294967291).
func parseOID(text string) (uint32, bool) {
	v, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil || v < math.MinInt32 || v > math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}

// objectArgs lists built-ins that print an object of the schema given by its OID, with
// the position of that argument. An index, constraint, trigger, statistics object or
// partition key can involve a column the role cannot see, a view can read a table it
// cannot, a comment can say anything, and pg_describe_object names columns. The
// catalogs a restricted role reads are filtered (visibility.go), so an OID taken from
// them, a column, is one the role may see, which is how psql and BI tools call these.
// An OID written into the statement may be any object's, so it is refused; only
// pg_get_viewdef also takes 'name'::regclass, which checkRegCast checks.
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
// parameter, possibly cast, or a regclass cast (checked by checkRegCast) given to
// pg_get_viewdef.
func (rw *rewrite) fromCatalogs(name string, arg *pg_query.Node) bool {
	for tc := arg.GetTypeCast(); tc != nil; tc = arg.GetTypeCast() {
		if name == "pg_get_viewdef" && regCast(tc.GetTypeName()) == "regclass" {
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

// relationArgs lists built-ins that take a relation (and maybe a column) by name as
// text: for each, a function of the argument count that returns the position of the
// relation argument and of the column argument (-1 when none). A string literal there
// is checked like 'name'::regclass, so these functions cannot tell a hidden relation
// or column from a missing one.
var relationArgs = map[string]func(n int) (rel, col int){
	"regclass":                 func(int) (int, int) { return 0, -1 }, // regclass('x'), a cast written as a call
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
