package rewriter

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The one generic walk over a statement's syntax tree. pg_query's tree is a protobuf
// message, so protoreflect visits every field of every node without a hand-written
// case per node type: nothing can be skipped by forgetting a field. Node types that
// need more than a visit of their children (relations, scopes, functions, operators,
// types, column references) have a handler; every other node type must be on the
// knownNodes list, so syntax pgmask has never seen — a newer PostgreSQL grammar, a
// node only the planner makes — is refused instead of passed through.

// knownNodes are the node types whose children are all the checking they need.
var knownNodes = map[protoreflect.Name]bool{
	"Node": true, "List": true, "String": true, "Integer": true, "Float": true,
	"Boolean": true, "BitString": true, "A_Const": true, "Alias": true,
	"A_ArrayExpr": true, "A_Indices": true, "A_Indirection": true, "A_Star": true,
	"BoolExpr": true, "BooleanTest": true, "CaseExpr": true, "CaseWhen": true,
	"CoalesceExpr": true, "CollateClause": true, "ColumnDef": true,
	"CTESearchClause": true, "CTECycleClause": true, "GroupingFunc": true,
	"GroupingSet": true, "JoinExpr": true, "MinMaxExpr": true, "MultiAssignRef": true,
	"NamedArgExpr": true, "NullTest": true, "ParamRef": true, "RangeFunction": true,
	"RangeSubselect": true, "RangeTableFunc": true, "RangeTableFuncCol": true,
	"ResTarget": true, "RowExpr": true, "SetToDefault": true, "SQLValueFunction": true,
	"WindowDef": true, "XmlExpr": true, "XmlSerialize": true, "DefElem": true,
	"OnConflictClause": true, "InferClause": true, "MergeWhenClause": true,
	"CurrentOfExpr": true, "JsonFormat": true, "JsonReturning": true,
	"JsonValueExpr": true, "JsonIsPredicate": true, "JsonOutput": true,
	"JsonKeyValue": true, "JsonObjectConstructor": true, "JsonArrayConstructor": true,
	"JsonArrayQueryConstructor": true, "JsonAggConstructor": true,
	"JsonObjectAgg": true, "JsonArrayAgg": true,
}

// scope is one query level: what an unqualified relation name or a qualified column
// reference can mean there. Levels nest like PostgreSQL's ParseState chain.
type scope struct {
	parent *scope
	// ctes are the CTE names visible at this level (WITH of this level, as far as
	// PostgreSQL's visibility rules have revealed them so far).
	ctes map[string]bool
	// tables are the unaliased relations pgmask replaced at this level, so that
	// schema-qualified column references to them can be rewritten.
	tables []qualifiedName
	// derived are the derived tables made at this level, for predicate push-down.
	derived []*substitution
	// fromItems counts the top-level FROM items of this level.
	fromItems int
}

func (rw *rewrite) push() { rw.scope = &scope{parent: rw.scope} }
func (rw *rewrite) pop()  { rw.scope = rw.scope.parent }

// isCTE reports whether an unqualified relation name is a CTE in scope.
func (sc *scope) isCTE(name string) bool {
	for s := sc; s != nil; s = s.parent {
		if s.ctes[name] {
			return true
		}
	}
	return false
}

// replacedTable reports whether schema.name was replaced by an unaliased derived table
// at this level or an outer one.
func (sc *scope) replacedTable(schema, name string) bool {
	for s := sc; s != nil; s = s.parent {
		for _, t := range s.tables {
			if t.schema == schema && t.name == name {
				return true
			}
		}
	}
	return false
}

// walk visits one message and everything below it.
func (rw *rewrite) walk(m protoreflect.Message) *Denial {
	switch v := m.Interface().(type) {
	case *pg_query.Node:
		if rv := v.GetRangeVar(); rv != nil {
			return rw.fromRelation(v, rv, nil)
		}
		if ts := v.GetRangeTableSample(); ts != nil {
			return rw.tableSample(v, ts)
		}
		return rw.children(m)
	case *pg_query.SelectStmt:
		return rw.selectStmt(v)
	case *pg_query.InsertStmt:
		return rw.insertStmt(v)
	case *pg_query.UpdateStmt:
		return rw.updateStmt(v)
	case *pg_query.DeleteStmt:
		return rw.deleteStmt(v)
	case *pg_query.MergeStmt:
		return rw.mergeStmt(v)
	case *pg_query.FuncCall:
		if d := rw.checkFunction(v.Funcname, v.Args); d != nil {
			return d
		}
		return rw.children(m)
	case *pg_query.A_Expr:
		if d := rw.checkAExpr(v); d != nil {
			return d
		}
		return rw.children(m)
	case *pg_query.SubLink:
		if d := rw.checkOperator(v.OperName); d != nil {
			return d
		}
		return rw.children(m)
	case *pg_query.SortBy:
		if d := rw.checkOperator(v.UseOp); d != nil {
			return d
		}
		return rw.children(m)
	case *pg_query.TypeName:
		return rw.checkType(v)
	case *pg_query.TypeCast:
		if d := rw.checkRegCast(v); d != nil {
			return d
		}
		return rw.children(m)
	case *pg_query.ColumnRef:
		return rw.columnRef(v)
	case *pg_query.LockingClause:
		return rw.lockingClause(v)
	case *pg_query.IndexElem:
		if len(v.Opclass) > 0 {
			return unsupported("an operator class in ON CONFLICT", rw.role.name)
		}
		return rw.children(m)
	}
	name := m.Descriptor().Name()
	if !knownNodes[name] {
		// RangeVar, WithClause, CommonTableExpr and IntoClause land here only outside
		// the places their handlers expect them, which pgmask does not know either.
		return unsupported(fmt.Sprintf("syntax %s", name), rw.role.name)
	}
	return rw.children(m)
}

// children visits every message-typed field of m, in field order.
func (rw *rewrite) children(m protoreflect.Message) *Denial {
	return rw.childrenExcept(m)
}

// childrenExcept visits the children of m but the fields named in skip, which the
// caller handles itself.
func (rw *rewrite) childrenExcept(m protoreflect.Message, skip ...protoreflect.Name) *Denial {
	var d *Denial
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		for _, s := range skip {
			if fd.Name() == s {
				return true
			}
		}
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := 0; i < l.Len() && d == nil; i++ {
				d = rw.walk(l.Get(i).Message())
			}
		case fd.IsMap():
			d = unsupported("a map field", rw.role.name)
		case fd.Kind() == protoreflect.MessageKind:
			d = rw.walk(v.Message())
		}
		return d == nil
	})
	return d
}

// walkNodes visits a list of nodes.
func (rw *rewrite) walkNodes(ns []*pg_query.Node) *Denial {
	for _, n := range ns {
		if n == nil {
			continue
		}
		if d := rw.walk(n.ProtoReflect()); d != nil {
			return d
		}
	}
	return nil
}

// walkNode visits one node, which may be nil.
func (rw *rewrite) walkNode(n *pg_query.Node) *Denial {
	if n == nil {
		return nil
	}
	return rw.walk(n.ProtoReflect())
}

// selectStmt handles one query level: its WITH list first (CTE scoping), then its
// FROM list (so relations are replaced before the column references that use them are
// looked at), then every other clause, then predicate push-down into the derived
// tables of row-filtered relations.
func (rw *rewrite) selectStmt(s *pg_query.SelectStmt) *Denial {
	if s.IntoClause != nil {
		return unsupported("SELECT ... INTO here", rw.role.name)
	}
	rw.push()
	defer rw.pop()
	if s.WithClause != nil {
		if d := rw.withClause(s.WithClause); d != nil {
			return d
		}
	}
	for _, f := range s.FromClause {
		rw.scope.fromItems++
		if d := rw.walkNode(f); d != nil {
			return d
		}
		if rv := f.GetRangeVar(); rv != nil {
			for _, sub := range rw.scope.derived {
				if sub.placeholder == rv {
					sub.topLevel = true
				}
			}
		}
	}
	if d := rw.childrenExcept(s.ProtoReflect(), "with_clause", "from_clause", "into_clause"); d != nil {
		return d
	}
	rw.pushDown(s.WhereClause)
	return nil
}

// withClause makes the CTE names visible as PostgreSQL does: in WITH RECURSIVE every
// name is visible in every CTE body; otherwise a CTE sees only the ones before it. A
// CTE body is its own query level below this one.
func (rw *rewrite) withClause(w *pg_query.WithClause) *Denial {
	sc := rw.scope
	if sc.ctes == nil {
		sc.ctes = map[string]bool{}
	}
	ctes := make([]*pg_query.CommonTableExpr, 0, len(w.Ctes))
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			return unsupported("a WITH item that is not a common table expression", rw.role.name)
		}
		ctes = append(ctes, cte)
		if w.Recursive {
			sc.ctes[cte.Ctename] = true
		}
	}
	for _, cte := range ctes {
		if d := rw.childrenExcept(cte.ProtoReflect(), "ctequery"); d != nil {
			return d
		}
		if d := rw.walkNode(cte.Ctequery); d != nil {
			return d
		}
		sc.ctes[cte.Ctename] = true
	}
	return nil
}

// columnRef rewrites schema-qualified references to a relation pgmask replaced by a
// derived table ("clinic.patients.id" becomes "patients.id", which is what the derived
// table, aliased "patients", answers to) and checks the database part of four-part
// names.
func (rw *rewrite) columnRef(c *pg_query.ColumnRef) *Denial {
	str := func(i int) string { return c.Fields[i].GetString_().GetSval() }
	if len(c.Fields) == 4 {
		if rw.ctx.Database != "" && str(0) != rw.ctx.Database {
			return &Denial{Code: CodeFeatureNotSupported, Message: "cross-database references are not implemented: " +
				writtenName(str(0), str(1), str(2), str(3))}
		}
		c.Fields = c.Fields[1:]
		rw.changed = true
	}
	if len(c.Fields) == 3 && c.Fields[0].GetString_() != nil && c.Fields[1].GetString_() != nil &&
		rw.scope.replacedTable(str(0), str(1)) {
		c.Fields = c.Fields[1:]
		rw.changed = true
	}
	return rw.children(c.ProtoReflect())
}
