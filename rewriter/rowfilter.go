package rewriter

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Row filters (roles.X.rows) and why they are leak-proof.
//
// A filter in the derived table's WHERE is not enough: PostgreSQL flattens the derived
// table into the outer query and then orders all quals of the scan by cost, so a cheap
// user predicate such as body::int > 0 can run before a costly filter — on a filtered
// row — and print its content in the error message (seen on PostgreSQL 15). So pgmask
// also projects every column of a row-filtered relation as
//
//	CASE WHEN (<filter>) THEN <column or mask> END
//
// and whatever user predicate runs first sees NULL on filtered rows. The WHERE filter
// stays, so filtered rows are never returned either.
//
// The CASE makes the projected columns opaque to the planner, which would turn a point
// lookup into a full scan. So simple user predicates of the form col = constant,
// col = $n and col IN (constants) on a column the role sees raw are copied into the
// derived table's WHERE (push-down), where they meet the raw, indexed column. That is
// safe: such a predicate cannot fail on any value (equality of built-in types with a
// constant does not raise errors), it only restricts rows the outer predicate, which
// stays in place and is strict, would reject anyway.

// rowFilter is a compiled row filter.
type rowFilter struct {
	text    string         // the expression as PostgreSQL deparses it, columns unqualified
	expr    *pg_query.Node // its tree, checked against the catalog at rewrite time
	columns []string       // the columns it reads
}

// filterNodes are the node types a row filter may contain: expressions over the
// table's own columns, constants and built-in functions and operators. No subqueries,
// no parameters, no aggregates or window functions.
var filterNodes = map[protoreflect.Name]bool{
	"Node": true, "List": true, "String": true, "Integer": true, "Float": true,
	"Boolean": true, "BitString": true, "A_Const": true, "A_Expr": true,
	"BoolExpr": true, "NullTest": true, "BooleanTest": true, "ColumnRef": true,
	"TypeCast": true, "TypeName": true, "FuncCall": true, "CaseExpr": true,
	"CaseWhen": true, "CoalesceExpr": true, "MinMaxExpr": true, "A_ArrayExpr": true,
	"SQLValueFunction": true, "CollateClause": true, "RowExpr": true,
	"NamedArgExpr": true,
}

// compileRowFilter parses the row filter of table ("schema.table") as the WHERE clause
// of a query over that table and checks it is nothing but a boolean expression of the
// kinds above.
func compileRowFilter(table, src string) (*rowFilter, error) {
	schema, name, _ := strings.Cut(table, ".")
	prefix := "SELECT 1 FROM " + quoteIdent(schema) + "." + quoteIdent(name)
	tree, err := pg_query.Parse(prefix + " WHERE (" + src + "\n)")
	if err != nil {
		return nil, fmt.Errorf("the row filter does not parse: %v", err)
	}
	if len(tree.Stmts) != 1 {
		return nil, fmt.Errorf("the row filter must be one SQL boolean expression")
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || sel.WhereClause == nil || len(sel.TargetList) != 1 || len(sel.FromClause) != 1 ||
		len(sel.GroupClause) != 0 || sel.HavingClause != nil || len(sel.WindowClause) != 0 ||
		len(sel.SortClause) != 0 || sel.LimitCount != nil || sel.LimitOffset != nil ||
		len(sel.LockingClause) != 0 || sel.WithClause != nil || len(sel.DistinctClause) != 0 ||
		sel.Op != pg_query.SetOperation_SETOP_NONE {
		return nil, fmt.Errorf("the row filter must be one SQL boolean expression")
	}
	f := &rowFilter{expr: sel.WhereClause}
	if err := f.check(sel.WhereClause.ProtoReflect(), schema, name); err != nil {
		return nil, err
	}
	out, err := pg_query.Deparse(tree)
	head, err2 := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{
		Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
			TargetList: sel.TargetList, FromClause: sel.FromClause, Op: pg_query.SetOperation_SETOP_NONE}}}}}})
	if err != nil || err2 != nil || !strings.HasPrefix(out, head+" WHERE ") {
		return nil, fmt.Errorf("the row filter cannot be rebuilt as SQL")
	}
	f.text = strings.TrimPrefix(out, head+" WHERE ")
	return f, nil
}

// check walks the filter expression, refusing other node types, normalizing column
// references to bare column names and collecting them.
func (f *rowFilter) check(m protoreflect.Message, schema, table string) error {
	name := m.Descriptor().Name()
	if !filterNodes[name] {
		return fmt.Errorf("a row filter may not contain %s (only expressions over the table's own columns, constants and built-in functions)", describeNode(name))
	}
	switch v := m.Interface().(type) {
	case *pg_query.ColumnRef:
		var parts []string
		for _, fld := range v.Fields {
			s := fld.GetString_()
			if s == nil {
				return fmt.Errorf("a row filter may only name columns of %s.%s", schema, table)
			}
			parts = append(parts, s.Sval)
		}
		switch {
		case len(parts) == 1:
		case len(parts) == 2 && parts[0] == table, len(parts) == 3 && parts[0] == schema && parts[1] == table:
			v.Fields = v.Fields[len(v.Fields)-1:]
		default:
			return fmt.Errorf("%s is not a column of %s.%s", strings.Join(parts, "."), schema, table)
		}
		f.columns = append(f.columns, parts[len(parts)-1])
		return nil
	case *pg_query.FuncCall:
		if v.Over != nil || v.AggStar || v.AggDistinct || v.AggFilter != nil || len(v.AggOrder) > 0 {
			return fmt.Errorf("a row filter may not contain aggregate or window functions")
		}
		if len(v.Funcname) > 2 || len(v.Funcname) == 2 && v.Funcname[0].GetString_().GetSval() != "pg_catalog" {
			return fmt.Errorf("a row filter may only call built-in functions (pg_catalog)")
		}
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len() && err == nil; i++ {
				err = f.check(v.List().Get(i).Message(), schema, table)
			}
		case fd.Kind() == protoreflect.MessageKind:
			err = f.check(v.Message(), schema, table)
		}
		return err == nil
	})
	return err
}

func describeNode(n protoreflect.Name) string {
	switch n {
	case "SubLink":
		return "subqueries"
	case "ParamRef":
		return "parameters"
	case "A_Star":
		return "*"
	}
	return string(n)
}

// checkFilter checks a compiled filter against the catalog and the session at rewrite
// time: its columns must exist, and its functions, operators and types must resolve
// where pgmask allows (the search_path is the session's).
func (rw *rewrite) checkFilter(rel *Relation, f *rowFilter) *Denial {
	for _, c := range f.columns {
		if rel.column(c) == nil {
			return policyError(rel.Qualified(), rw.role.name, fmt.Errorf("the row filter names column %q, which does not exist", c))
		}
	}
	saved := rw.changed
	d := rw.walk(f.expr.ProtoReflect())
	rw.changed = saved
	return d
}

// guard wraps a projected column of a row-filtered relation so it is NULL on rows the
// filter hides (see the comment at the top of this file).
func guard(filter, expr string) string {
	if filter == "" {
		return expr
	}
	return "CASE WHEN (" + filter + ") THEN " + expr + " END"
}

// pushDown copies the simple equality predicates of a query level's WHERE clause into
// the derived tables of row-filtered relations at that level (see the top of this file).
func (rw *rewrite) pushDown(where *pg_query.Node) {
	if where == nil {
		return
	}
	any := false
	for _, s := range rw.scope.derived {
		any = any || (s.tp != nil && s.tp.filter != nil)
	}
	if !any {
		return
	}
	for _, c := range conjuncts(where) {
		ref, build := pushable(c)
		if ref == nil {
			continue
		}
		sub, col := rw.pushTarget(ref)
		if sub == nil {
			continue
		}
		sub.pushed = append(sub.pushed, build(col))
	}
}

// conjuncts splits an expression at its top-level ANDs.
func conjuncts(n *pg_query.Node) []*pg_query.Node {
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg_query.BoolExprType_AND_EXPR {
		var out []*pg_query.Node
		for _, a := range b.Args {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []*pg_query.Node{n}
}

// pushable recognizes col = value, value = col and col IN (values), where value is a
// constant or a parameter, possibly cast to a built-in type. It returns the column
// reference and a function that copies the predicate with the column reference
// replaced.
func pushable(n *pg_query.Node) (*pg_query.ColumnRef, func(col string) *pg_query.Node) {
	e := n.GetAExpr()
	if e == nil || len(e.Name) != 1 || e.Name[0].GetString_().GetSval() != "=" {
		return nil, nil
	}
	copyWith := func(colOnLeft bool) func(string) *pg_query.Node {
		return func(col string) *pg_query.Node {
			c := proto.Clone(n).(*pg_query.Node)
			ref := &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{
				Fields: []*pg_query.Node{{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: col}}}}}}}
			if colOnLeft {
				c.GetAExpr().Lexpr = ref
			} else {
				c.GetAExpr().Rexpr = ref
			}
			return c
		}
	}
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if l := e.Lexpr.GetColumnRef(); l != nil && isValue(e.Rexpr) {
			return l, copyWith(true)
		}
		if r := e.Rexpr.GetColumnRef(); r != nil && isValue(e.Lexpr) {
			return r, copyWith(false)
		}
	case pg_query.A_Expr_Kind_AEXPR_IN:
		l := e.Lexpr.GetColumnRef()
		list := e.Rexpr.GetList()
		if l == nil || list == nil || len(list.Items) == 0 {
			return nil, nil
		}
		for _, it := range list.Items {
			if !isValue(it) {
				return nil, nil
			}
		}
		return l, copyWith(true)
	}
	return nil, nil
}

// isValue reports whether n is a non-NULL constant or a parameter, possibly cast to a
// built-in type.
func isValue(n *pg_query.Node) bool {
	if tc := n.GetTypeCast(); tc != nil {
		tn := tc.TypeName
		if tn == nil || tn.PctType || tn.Setof || len(tn.Names) > 2 ||
			len(tn.Names) == 2 && tn.Names[0].GetString_().GetSval() != "pg_catalog" {
			return false
		}
		n = tc.Arg
	}
	if c := n.GetAConst(); c != nil {
		return !c.Isnull
	}
	return n.GetParamRef() != nil
}

// pushableTypes are the column types whose equality with a constant cannot fail.
var pushableTypes = []string{"bigint", "integer", "smallint", "text", "character varying",
	"character", "uuid", "date", "boolean", "numeric", "timestamp"}

// pushTarget finds the row-filtered derived table and raw column a reference of the
// current level names: "alias.col" for a derived table with that alias, or a bare
// "col" when that derived table is the level's only FROM item.
func (rw *rewrite) pushTarget(ref *pg_query.ColumnRef) (*substitution, string) {
	var alias, col string
	switch len(ref.Fields) {
	case 1:
		col = ref.Fields[0].GetString_().GetSval()
	case 2:
		alias, col = ref.Fields[0].GetString_().GetSval(), ref.Fields[1].GetString_().GetSval()
	default:
		return nil, ""
	}
	var found *substitution
	for _, s := range rw.scope.derived {
		if alias == "" && !(s.topLevel && rw.scope.fromItems == 1) || alias != "" && s.alias != alias {
			continue
		}
		if found != nil {
			return nil, "" // ambiguous: leave it to PostgreSQL
		}
		found = s
	}
	if found == nil || found.tp == nil || found.tp.filter == nil || col == "" {
		return nil, ""
	}
	cp, ok := found.tp.columns[col]
	c := found.rel.column(col)
	if !ok || c == nil || cp.spec.Name != "keep" {
		return nil, ""
	}
	for _, t := range pushableTypes {
		if strings.HasPrefix(c.Type, t) {
			return found, col
		}
	}
	return nil, ""
}
