package transform

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// exprArgs checks expr("..."): one argument, an expression that passes the checker.
func exprArgs(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("takes one argument (a quoted SQL expression over value), got %d", len(args))
	}
	_, err := rebuildExpr(args[0], nil)
	return err
}

// exprExpr ("expr(\"<SQL expression>\")") is the escape hatch for a DBA-written
// expression over value, the column: expr("left(value, 1) || '.'") gives initials. The
// expression is parsed with PostgreSQL's parser and checked node by node against an
// allowlist: the column reference value (no other column), constants, casts to
// built-in types, operators, CASE, boolean logic, NULL tests, COALESCE,
// GREATEST/LEAST, arrays and calls of pure pg_catalog text, number and date functions
// (exprFuncs). Everything else — subqueries, other columns, parameters, other functions,
// collations, any node the checker does not know — is refused. The checked tree is
// rebuilt with every function, operator and type qualified by pg_catalog and value
// replaced by the column, and the result is cast back to the column's type. The DBA's
// text itself never reaches PostgreSQL.
func exprExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	ref, err := parseSingleExpr(c.Ref)
	if err != nil {
		return "", fmt.Errorf("transform expr: column reference %q: %w", c.Ref, err)
	}
	out, err := rebuildExpr(s.Args[0], ref)
	if err != nil {
		return "", err
	}
	return cast(out, t.cast), nil
}

// rebuildExpr checks src, rewrites it into its safe form and deparses it; with a
// non-nil ref, every value reference becomes ref.
func rebuildExpr(src string, ref *pg_query.Node) (string, error) {
	root, err := parseSingleExpr(src)
	if err != nil {
		return "", fmt.Errorf("expr %q: %w", src, err)
	}
	c := checker{ref: ref}
	root, err = c.node(root)
	if err != nil {
		return "", fmt.Errorf("expr %q: %w", src, err)
	}
	if !c.sawValue {
		return "", fmt.Errorf("expr %q: does not use value, the column", src)
	}
	out, err := deparseExpr(root)
	if err != nil {
		return "", fmt.Errorf("expr %q: cannot rebuild the expression: %w", src, err)
	}
	// PostgreSQL must read the rebuilt text as exactly the checked tree: a deparser
	// that dropped a needed parenthesis would change what runs.
	again, err := parseSingleExpr(out)
	if err != nil {
		return "", fmt.Errorf("expr %q: the rebuilt expression does not parse: %w", src, err)
	}
	clearLocations(root.ProtoReflect())
	clearLocations(again.ProtoReflect())
	if !proto.Equal(root, again) {
		return "", fmt.Errorf("expr %q: cannot rebuild the expression faithfully (got %s)", src, out)
	}
	return "(" + out + ")", nil
}

// deparseExpr prints one expression with pg_query's deparser.
func deparseExpr(n *pg_query.Node) (string, error) {
	const prefix = "SELECT "
	tree := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{
		SelectStmt: &pg_query.SelectStmt{
			TargetList:  []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}}},
			Op:          pg_query.SetOperation_SETOP_NONE,
			LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT,
		}}}}}}
	out, err := pg_query.Deparse(tree)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(out, prefix) {
		return "", fmt.Errorf("unexpected deparser output %q", out)
	}
	return strings.TrimPrefix(out, prefix), nil
}

// clearLocations zeroes every "location" field (source offsets) of a parse tree, so
// two trees can be compared for structure alone.
func clearLocations(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "location":
			m.Clear(fd)
		case fd.IsList() && fd.Message() != nil:
			for i, l := 0, v.List(); i < l.Len(); i++ {
				clearLocations(l.Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			clearLocations(v.Message())
		}
		return true
	})
}

// parseSingleExpr parses src as exactly one SQL expression.
func parseSingleExpr(src string) (*pg_query.Node, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	tree, err := pg_query.Parse("SELECT " + src)
	if err != nil {
		return nil, fmt.Errorf("syntax error: %w", err)
	}
	if len(tree.Stmts) != 1 {
		return nil, fmt.Errorf("must be one expression, not %d statements", len(tree.Stmts))
	}
	sel := tree.Stmts[0].GetStmt().GetSelectStmt()
	if sel == nil || !onlyTargets(sel) {
		return nil, fmt.Errorf("must be one expression, not a query")
	}
	if len(sel.TargetList) != 1 {
		return nil, fmt.Errorf("must be one expression, not %d", len(sel.TargetList))
	}
	rt := sel.TargetList[0].GetResTarget()
	if rt == nil || rt.Name != "" || len(rt.Indirection) != 0 || rt.Val == nil {
		return nil, fmt.Errorf("must be one expression without an alias")
	}
	return rt.Val, nil
}
