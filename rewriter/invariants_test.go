package rewriter

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkInvariants checks rewritten SQL the way an auditor would, independently of the
// walk that produced it: it must parse, and every relation it references must be
//
//   - a CTE visible at that point (PostgreSQL's scoping, re-implemented here), or
//   - a system relation that is readable as it is, or sits inside a pgmask derived
//     table whose WHERE is exactly the visibility filter for the role, or
//   - a protected relation inside a derived table pgmask generated: the sole FROM item
//     of a subquery in FROM whose target list is exactly the role's projection and
//     whose WHERE starts with the role's row filter, or
//   - the target of a write the role may make.
func checkInvariants(sql string, c Context, p *Policy, cat *Catalog) error {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return fmt.Errorf("output does not parse: %v", err)
	}
	rw, d := newRewrite(c, p, p.roles[c.Role], cat)
	if d != nil {
		return fmt.Errorf("context: %s", d.Message)
	}
	ic := &invariants{rw: rw}
	for _, s := range tree.Stmts {
		if err := ic.walk(s.Stmt.ProtoReflect(), nil, false); err != nil {
			return err
		}
	}
	return nil
}

type invariants struct{ rw *rewrite }

// ctes is the chain of visible CTE names.
type ctes struct {
	names  map[string]bool
	parent *ctes
}

func (c *ctes) has(n string) bool {
	for ; c != nil; c = c.parent {
		if c.names[n] {
			return true
		}
	}
	return false
}

// walk visits m; generated is set when m is the query of a pgmask derived table (it
// has been checked by the caller).
func (ic *invariants) walk(m protoreflect.Message, sc *ctes, generated bool) error {
	switch v := m.Interface().(type) {
	case *pg_query.SelectStmt:
		return ic.selectStmt(v, sc)
	case *pg_query.RangeSubselect:
		if sel := v.GetSubquery().GetSelectStmt(); sel != nil && len(sel.FromClause) == 1 {
			if rv := innerRangeVar(sel.FromClause[0]); rv != nil && rv.Schemaname != "" {
				if ok, err := ic.derived(sel, rv); ok || err != nil {
					return err
				}
			}
		}
	case *pg_query.RangeVar:
		return ic.rangeVar(v, sc)
	case *pg_query.InsertStmt, *pg_query.UpdateStmt, *pg_query.DeleteStmt, *pg_query.MergeStmt:
		return ic.write(m, sc)
	case *pg_query.CopyStmt:
		if v.Relation != nil && v.IsFrom {
			return ic.target(v.Relation, false)
		}
		if v.Relation != nil {
			return fmt.Errorf("COPY of relation %s was not rewritten to a query", v.Relation.Relname)
		}
	case *pg_query.IntoClause:
		return nil // a new relation
	case *pg_query.LockingClause:
		return nil // names FROM items, not relations
	case *pg_query.TruncateStmt, *pg_query.LockStmt:
		return nil // targets are checked by the rewriter; nothing is read
	}
	return ic.children(m, sc, "")
}

func (ic *invariants) children(m protoreflect.Message, sc *ctes, skip protoreflect.Name) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() == skip {
			return true
		}
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len() && err == nil; i++ {
				err = ic.walk(v.List().Get(i).Message(), sc, false)
			}
		case fd.Kind() == protoreflect.MessageKind:
			err = ic.walk(v.Message(), sc, false)
		}
		return err == nil
	})
	return err
}

// withScope applies PostgreSQL's CTE visibility to one WITH list and walks the bodies.
func (ic *invariants) withScope(w *pg_query.WithClause, sc *ctes) (*ctes, error) {
	if w == nil {
		return sc, nil
	}
	inner := &ctes{names: map[string]bool{}, parent: sc}
	if w.Recursive {
		for _, n := range w.Ctes {
			inner.names[n.GetCommonTableExpr().Ctename] = true
		}
	}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if err := ic.walk(cte.Ctequery.ProtoReflect(), inner, false); err != nil {
			return nil, err
		}
		inner.names[cte.Ctename] = true
	}
	return inner, nil
}

func (ic *invariants) selectStmt(s *pg_query.SelectStmt, sc *ctes) error {
	inner, err := ic.withScope(s.WithClause, sc)
	if err != nil {
		return err
	}
	return ic.children(s.ProtoReflect(), inner, "with_clause")
}

func (ic *invariants) write(m protoreflect.Message, sc *ctes) error {
	var with *pg_query.WithClause
	var target *pg_query.RangeVar
	full := true
	switch v := m.Interface().(type) {
	case *pg_query.InsertStmt:
		with, target = v.WithClause, v.Relation
		full = len(v.ReturningList) > 0 || v.OnConflictClause != nil
	case *pg_query.UpdateStmt:
		with, target = v.WithClause, v.Relation
	case *pg_query.DeleteStmt:
		with, target = v.WithClause, v.Relation
	case *pg_query.MergeStmt:
		with, target = v.WithClause, v.Relation
	}
	inner, err := ic.withScope(with, sc)
	if err != nil {
		return err
	}
	if err := ic.target(target, full); err != nil {
		return err
	}
	var rerr error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() == "with_clause" || fd.Name() == "relation" {
			return true
		}
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len() && rerr == nil; i++ {
				rerr = ic.walk(v.List().Get(i).Message(), inner, false)
			}
		case fd.Kind() == protoreflect.MessageKind:
			rerr = ic.walk(v.Message(), inner, false)
		}
		return rerr == nil
	})
	return rerr
}

// target checks the target of a write.
func (ic *invariants) target(rv *pg_query.RangeVar, full bool) error {
	rel := ic.rw.cat.Relation(rv.Schemaname, rv.Relname)
	if rv.Schemaname == "" || rel == nil {
		return fmt.Errorf("write target %s is not schema-qualified or unknown", rv.Relname)
	}
	tp := ic.rw.role.byName[qualifiedName{rel.Schema, rel.Name}]
	if tp == nil {
		return fmt.Errorf("write target %s is not granted", rel.Qualified())
	}
	if full && !fullyVisible(rel, tp) {
		return fmt.Errorf("write target %s reads rows the role cannot fully see", rel.Qualified())
	}
	return nil
}

// rangeVar checks a relation reference outside a derived table pgmask generated.
func (ic *invariants) rangeVar(rv *pg_query.RangeVar, sc *ctes) error {
	if rv.Schemaname == "" {
		if sc.has(rv.Relname) {
			return nil
		}
		return fmt.Errorf("unqualified relation %q is not a CTE in scope", rv.Relname)
	}
	rel := ic.rw.cat.Relation(rv.Schemaname, rv.Relname)
	if rel == nil {
		return fmt.Errorf("relation %s.%s is not in the catalog", rv.Schemaname, rv.Relname)
	}
	if isSystemSchema(rel.Schema) {
		if rule, ok := catalogRules[rel.Qualified()]; ok && rule.refuse == "" && rule.where == nil {
			return nil
		}
	}
	return fmt.Errorf("relation %s is referenced outside a pgmask derived table", rel.Qualified())
}

func innerRangeVar(n *pg_query.Node) *pg_query.RangeVar {
	if ts := n.GetRangeTableSample(); ts != nil {
		n = ts.Relation
	}
	return n.GetRangeVar()
}

// derived checks a candidate derived table (SELECT ... FROM ONLY schema.rel ...):
// it reports true when it is one pgmask generates for this role, false when it is not
// one at all (a user's own subquery, walked as usual), and an error when it reads a
// protected relation with the wrong projection or filter.
func (ic *invariants) derived(sel *pg_query.SelectStmt, rv *pg_query.RangeVar) (bool, error) {
	rel := ic.rw.cat.Relation(rv.Schemaname, rv.Relname)
	if rel == nil {
		return false, nil
	}
	var want string
	var d *Denial
	if isSystemSchema(rel.Schema) {
		rule, ok := catalogRules[rel.Qualified()]
		if !ok || rule.where == nil {
			return false, nil
		}
		want = "SELECT * FROM ONLY " + rel.quotedName() + " WHERE " + rule.where(ic.rw.visibility())
	} else {
		tp := ic.rw.role.byName[qualifiedName{rel.Schema, rel.Name}]
		if tp == nil {
			return false, fmt.Errorf("relation %s is not granted but read", rel.Qualified())
		}
		var where string
		want, where, d = ic.rw.protectedBody(rel, tp, !rv.Inh)
		if d != nil {
			return false, fmt.Errorf("%s: %s", rel.Qualified(), d.Message)
		}
		if where != "" {
			want += " WHERE " + where
		}
	}
	wantTree, err := pg_query.Parse(want)
	if err != nil {
		return false, err
	}
	w := wantTree.Stmts[0].Stmt.GetSelectStmt()
	if deparseTargets(sel.TargetList) != deparseTargets(w.TargetList) {
		return false, fmt.Errorf("derived table over %s projects\n%s\nwant\n%s", rel.Qualified(), deparseTargets(sel.TargetList), deparseTargets(w.TargetList))
	}
	if w.WhereClause != nil {
		got := sel.WhereClause
		if b := got.GetBoolExpr(); b != nil && b.Boolop == pg_query.BoolExprType_AND_EXPR && deparseExpr(got) != deparseExpr(w.WhereClause) {
			got = b.Args[0]
		}
		if got == nil || deparseExpr(got) != deparseExpr(w.WhereClause) {
			return false, fmt.Errorf("derived table over %s lost its row filter", rel.Qualified())
		}
	}
	if sel.WithClause != nil || len(sel.GroupClause) > 0 || sel.HavingClause != nil || len(sel.DistinctClause) > 0 {
		return false, fmt.Errorf("derived table over %s has extra clauses", rel.Qualified())
	}
	return true, nil
}

func deparseTargets(ts []*pg_query.Node) string {
	out, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{
		Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{TargetList: ts, Op: pg_query.SetOperation_SETOP_NONE}}}}}})
	if err != nil {
		return "error: " + err.Error()
	}
	return out
}

func deparseExpr(n *pg_query.Node) string {
	s := deparseTargets([]*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}}})
	return strings.TrimPrefix(s, "SELECT ")
}
