package transform

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// exprFuncs are the functions an expr() may call: pure pg_catalog functions on text,
// numbers and dates. Left out on purpose: digests (md5, sha*: a plain digest of an
// identifier can be reversed by guessing), anything that runs SQL, reads settings,
// files or other rows, and set-returning functions.
var exprFuncs = set(
	// text
	"left", "right", "substr", "substring", "lower", "upper", "initcap", "length",
	"char_length", "character_length", "octet_length", "concat", "concat_ws", "replace",
	"translate", "regexp_replace", "regexp_match", "regexp_substr", "regexp_count",
	"regexp_like", "split_part", "btrim", "ltrim", "rtrim", "lpad", "rpad", "repeat",
	"reverse", "strpos", "position", "starts_with", "overlay", "to_char", "to_date",
	"to_number", "like_escape", "similar_to_escape",
	// numbers
	"abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "mod", "div", "width_bucket",
	// dates
	"date_trunc", "date_part", "extract", "make_date", "make_timestamp", "make_interval",
	"age", "isfinite", "justify_days", "justify_hours", "justify_interval", "date_bin",
	"timezone",
)

// exprTypes are the types an expr() may cast to (their pg_catalog names).
var exprTypes = set(
	"text", "varchar", "bpchar", "int2", "int4", "int8", "numeric", "float4", "float8",
	"bool", "date", "timestamp", "timestamptz", "time", "timetz", "interval", "uuid",
)

// exprSQLValueFunctions are the CURRENT_* forms an expr() may use: dates and times only
// (CURRENT_USER and friends would tell pgmask's upstream identity).
var exprSQLValueFunctions = map[pg_query.SQLValueFunctionOp]bool{
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        true,
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   true,
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: true,
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      true,
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    true,
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checker walks an expression, refusing every node it does not know to be safe and
// returning the node rewritten into its safe form.
type checker struct {
	ref      *pg_query.Node
	sawValue bool
}

func (c *checker) nodes(ns []*pg_query.Node) error {
	for i, n := range ns {
		r, err := c.node(n)
		if err != nil {
			return err
		}
		ns[i] = r
	}
	return nil
}

// node checks n; nil is allowed (an absent optional child).
func (c *checker) node(n *pg_query.Node) (*pg_query.Node, error) {
	if n == nil || n.Node == nil {
		return n, nil
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_ColumnRef:
		f := x.ColumnRef.Fields
		if len(f) != 1 || f[0].GetString_() == nil || f[0].GetString_().Sval != "value" {
			return nil, fmt.Errorf("only the column reference value is allowed, found %s", describeColumnRef(x.ColumnRef))
		}
		c.sawValue = true
		if c.ref != nil {
			return c.ref, nil
		}
		return n, nil
	case *pg_query.Node_AConst:
		return n, nil
	case *pg_query.Node_TypeCast:
		if err := checkTypeName(x.TypeCast.TypeName); err != nil {
			return nil, err
		}
		return c.groupedChild(n, &x.TypeCast.Arg)
	case *pg_query.Node_AExpr:
		return c.aExpr(n, x.AExpr)
	case *pg_query.Node_FuncCall:
		return c.funcCall(n, x.FuncCall)
	case *pg_query.Node_CaseExpr:
		return c.caseExpr(n, x.CaseExpr)
	case *pg_query.Node_BoolExpr:
		return n, c.nodes(x.BoolExpr.Args)
	case *pg_query.Node_NullTest:
		if x.NullTest.Argisrow {
			return nil, fmt.Errorf("row NULL tests are not allowed")
		}
		return c.groupedChild(n, &x.NullTest.Arg)
	case *pg_query.Node_BooleanTest:
		return c.groupedChild(n, &x.BooleanTest.Arg)
	case *pg_query.Node_CoalesceExpr:
		return n, c.nodes(x.CoalesceExpr.Args)
	case *pg_query.Node_MinMaxExpr:
		return n, c.nodes(x.MinMaxExpr.Args)
	case *pg_query.Node_AArrayExpr:
		return n, c.nodes(x.AArrayExpr.Elements)
	case *pg_query.Node_AIndirection:
		for _, ind := range x.AIndirection.Indirection {
			idx := ind.GetAIndices()
			if idx == nil {
				return nil, fmt.Errorf("only array subscripts are allowed after an expression")
			}
			var err error
			if idx.Lidx, err = c.node(idx.Lidx); err != nil {
				return nil, err
			}
			if idx.Uidx, err = c.node(idx.Uidx); err != nil {
				return nil, err
			}
		}
		return c.groupedChild(n, &x.AIndirection.Arg)
	case *pg_query.Node_SqlvalueFunction:
		if !exprSQLValueFunctions[x.SqlvalueFunction.Op] {
			return nil, fmt.Errorf("%s is not allowed (only CURRENT_DATE, CURRENT_TIMESTAMP and LOCALTIMESTAMP)", strings.TrimPrefix(x.SqlvalueFunction.Op.String(), "SVFOP_"))
		}
		return n, nil
	case *pg_query.Node_SubLink:
		return nil, fmt.Errorf("subqueries are not allowed")
	case *pg_query.Node_ParamRef:
		return nil, fmt.Errorf("parameters ($n) are not allowed")
	case *pg_query.Node_CollateClause:
		return nil, fmt.Errorf("COLLATE is not allowed")
	}
	return nil, fmt.Errorf("%s is not allowed", nodeName(n))
}

// child checks the child *p of n in place and returns n.
func (c *checker) child(n *pg_query.Node, p **pg_query.Node) (*pg_query.Node, error) {
	r, err := c.node(*p)
	if err != nil {
		return nil, err
	}
	*p = r
	return n, nil
}

// groupedChild is child for a position the deparser prints without parentheses: an
// operator, boolean or test expression there is wrapped in a one-argument COALESCE,
// which changes nothing but groups it.
func (c *checker) groupedChild(n *pg_query.Node, p **pg_query.Node) (*pg_query.Node, error) {
	if _, err := c.child(n, p); err != nil {
		return nil, err
	}
	*p = group(*p)
	return n, nil
}

func group(n *pg_query.Node) *pg_query.Node {
	switch n.Node.(type) {
	case *pg_query.Node_AExpr, *pg_query.Node_BoolExpr, *pg_query.Node_NullTest, *pg_query.Node_BooleanTest:
		return &pg_query.Node{Node: &pg_query.Node_CoalesceExpr{CoalesceExpr: &pg_query.CoalesceExpr{Args: []*pg_query.Node{n}}}}
	}
	return n
}

// aExpr checks an operator expression. Every operator is rewritten to the
// pg_catalog one; forms that look an operator up implicitly (LIKE, IN, BETWEEN,
// NULLIF) are rewritten into plain operator calls so that the lookup is qualified too.
func (c *checker) aExpr(n *pg_query.Node, a *pg_query.A_Expr) (*pg_query.Node, error) {
	name, err := operatorName(a.Name)
	if err != nil {
		return nil, err
	}
	if a.Lexpr, err = c.node(a.Lexpr); err != nil {
		return nil, err
	}
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL,
		pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE, pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		if a.Rexpr, err = c.node(a.Rexpr); err != nil {
			return nil, err
		}
		if a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ANY || a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL {
			a.Lexpr = group(a.Lexpr)
		} else {
			a.Kind = pg_query.A_Expr_Kind_AEXPR_OP
		}
		a.Name = qualifiedOp(name)
		return n, nil
	case pg_query.A_Expr_Kind_AEXPR_IN:
		list := a.Rexpr.GetList()
		if list == nil {
			return nil, fmt.Errorf("IN needs a list of values")
		}
		if err := c.nodes(list.Items); err != nil {
			return nil, err
		}
		// x IN (a, b) is x = ANY (ARRAY[a, b]); x NOT IN (a, b) is x <> ALL (…).
		a.Kind = pg_query.A_Expr_Kind_AEXPR_OP_ANY
		if name == "<>" {
			a.Kind = pg_query.A_Expr_Kind_AEXPR_OP_ALL
		}
		a.Name = qualifiedOp(name)
		a.Lexpr = group(a.Lexpr)
		a.Rexpr = &pg_query.Node{Node: &pg_query.Node_AArrayExpr{AArrayExpr: &pg_query.A_ArrayExpr{Elements: list.Items}}}
		return n, nil
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		list := a.Rexpr.GetList()
		if list == nil || len(list.Items) != 2 {
			return nil, fmt.Errorf("BETWEEN needs two bounds")
		}
		if err := c.nodes(list.Items); err != nil {
			return nil, err
		}
		// x BETWEEN a AND b is x >= a AND x <= b; NOT BETWEEN is x < a OR x > b.
		lo, hi, bop := ">=", "<=", pg_query.BoolExprType_AND_EXPR
		if a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN {
			lo, hi, bop = "<", ">", pg_query.BoolExprType_OR_EXPR
		}
		return &pg_query.Node{Node: &pg_query.Node_BoolExpr{BoolExpr: &pg_query.BoolExpr{Boolop: bop, Args: []*pg_query.Node{
			opNode(lo, a.Lexpr, list.Items[0]), opNode(hi, a.Lexpr, list.Items[1]),
		}}}}, nil
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		if a.Rexpr, err = c.node(a.Rexpr); err != nil {
			return nil, err
		}
		// NULLIF(a, b) is CASE WHEN a = b THEN NULL ELSE a END.
		return &pg_query.Node{Node: &pg_query.Node_CaseExpr{CaseExpr: &pg_query.CaseExpr{
			Args: []*pg_query.Node{{Node: &pg_query.Node_CaseWhen{CaseWhen: &pg_query.CaseWhen{
				Expr:   opNode("=", a.Lexpr, a.Rexpr),
				Result: &pg_query.Node{Node: &pg_query.Node_AConst{AConst: &pg_query.A_Const{Isnull: true}}},
			}}}},
			Defresult: a.Lexpr,
		}}}, nil
	}
	return nil, fmt.Errorf("%s is not allowed (it compares through the search_path); write it with CASE and IS NULL",
		strings.TrimPrefix(a.Kind.String(), "AEXPR_"))
}

// operatorName returns the operator of an unqualified or pg_catalog-qualified name.
func operatorName(names []*pg_query.Node) (string, error) {
	var parts []string
	for _, n := range names {
		s := n.GetString_()
		if s == nil {
			return "", fmt.Errorf("bad operator name")
		}
		parts = append(parts, s.Sval)
	}
	switch {
	case len(parts) == 1:
		return parts[0], nil
	case len(parts) == 2 && parts[0] == "pg_catalog":
		return parts[1], nil
	}
	return "", fmt.Errorf("operator %s is not allowed (only pg_catalog operators)", strings.Join(parts, "."))
}

func qualifiedOp(name string) []*pg_query.Node {
	return []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(name)}
}

// opNode builds l <pg_catalog op> r.
func opNode(name string, l, r *pg_query.Node) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_AExpr{AExpr: &pg_query.A_Expr{
		Kind: pg_query.A_Expr_Kind_AEXPR_OP, Name: qualifiedOp(name), Lexpr: l, Rexpr: r,
	}}}
}

// funcCall checks a function call against exprFuncs and qualifies it.
func (c *checker) funcCall(n *pg_query.Node, f *pg_query.FuncCall) (*pg_query.Node, error) {
	var parts []string
	for _, p := range f.Funcname {
		s := p.GetString_()
		if s == nil {
			return nil, fmt.Errorf("bad function name")
		}
		parts = append(parts, s.Sval)
	}
	name := strings.Join(parts, ".")
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		parts = parts[1:]
	}
	if len(parts) != 1 || !exprFuncs[parts[0]] {
		return nil, fmt.Errorf("function %s is not allowed", name)
	}
	if f.AggStar || f.AggDistinct || f.FuncVariadic || len(f.AggOrder) > 0 || f.AggFilter != nil || f.Over != nil || f.AggWithinGroup {
		return nil, fmt.Errorf("function %s: aggregates, windows and VARIADIC are not allowed", name)
	}
	for _, a := range f.Args {
		if a.GetNamedArgExpr() != nil {
			return nil, fmt.Errorf("function %s: named arguments are not allowed", name)
		}
	}
	if err := c.nodes(f.Args); err != nil {
		return nil, err
	}
	f.Funcname = []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(parts[0])}
	return n, nil
}

// caseExpr checks a CASE. The simple form (CASE x WHEN a …) compares with an "="
// looked up through search_path, so it becomes the searched form with pg_catalog.=.
func (c *checker) caseExpr(n *pg_query.Node, e *pg_query.CaseExpr) (*pg_query.Node, error) {
	arg, err := c.node(e.Arg)
	if err != nil {
		return nil, err
	}
	for _, w := range e.Args {
		cw := w.GetCaseWhen()
		if cw == nil {
			return nil, fmt.Errorf("bad CASE")
		}
		if cw.Expr, err = c.node(cw.Expr); err != nil {
			return nil, err
		}
		if cw.Result, err = c.node(cw.Result); err != nil {
			return nil, err
		}
		if arg != nil {
			cw.Expr = opNode("=", arg, cw.Expr)
		}
	}
	e.Arg = nil
	if e.Defresult, err = c.node(e.Defresult); err != nil {
		return nil, err
	}
	return n, nil
}

// checkTypeName allows casts to built-in types (exprTypes) and qualifies them.
func checkTypeName(t *pg_query.TypeName) error {
	if t == nil || t.Setof || t.PctType || len(t.Names) == 0 {
		return fmt.Errorf("bad type name")
	}
	var parts []string
	for _, p := range t.Names {
		s := p.GetString_()
		if s == nil {
			return fmt.Errorf("bad type name")
		}
		parts = append(parts, s.Sval)
	}
	name := strings.Join(parts, ".")
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		parts = parts[1:]
	}
	if len(parts) != 1 || !exprTypes[parts[0]] {
		return fmt.Errorf("cast to type %s is not allowed", name)
	}
	for _, m := range t.Typmods {
		if m.GetAConst() == nil || m.GetAConst().GetIval() == nil {
			return fmt.Errorf("type %s: only integer type modifiers are allowed", name)
		}
	}
	t.Names = []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(parts[0])}
	return nil
}

// describeColumnRef renders a column reference for an error message.
func describeColumnRef(r *pg_query.ColumnRef) string {
	var parts []string
	for _, f := range r.Fields {
		switch {
		case f.GetString_() != nil:
			parts = append(parts, f.GetString_().Sval)
		case f.GetAStar() != nil:
			parts = append(parts, "*")
		}
	}
	return fmt.Sprintf("%q", strings.Join(parts, "."))
}

// nodeName names a node kind for an error message, e.g. "RowExpr".
func nodeName(n *pg_query.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", n.Node), "*pg_query.Node_")
}
