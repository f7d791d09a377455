package rewriter

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pgmask/pgmask/config"
)

// Statement kinds (roles.X.statements): every statement is classified into exactly one
// config.Statement* kind, which the role must list. Kinds that read (select, copy_to,
// cursor, prepare) are rewritten, never passed through; statements nested in others
// (a DELETE in a WITH, the body of PREPARE) are checked as their own kind too.

// statement checks and rewrites one top-level statement.
func (rw *rewrite) statement(raw *pg_query.RawStmt) *Denial {
	rw.scope = nil
	n := raw.Stmt
	if n == nil {
		return nil
	}
	switch s := n.Node.(type) {
	case *pg_query.Node_SelectStmt:
		if s.SelectStmt.IntoClause != nil {
			return rw.selectInto(n, s.SelectStmt)
		}
		if d := rw.allow(config.StatementSelect, "SELECT"); d != nil {
			return d
		}
		return rw.walkNode(n)
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		return rw.walkNode(n) // the handlers check their kinds, wherever they are nested
	case *pg_query.Node_VariableShowStmt:
		return rw.allow(config.StatementShow, "SHOW")
	case *pg_query.Node_VariableSetStmt:
		if d := rw.allow(config.StatementSet, "SET"); d != nil {
			return d
		}
		return rw.setStmt(s.VariableSetStmt)
	case *pg_query.Node_TransactionStmt:
		if d := rw.allow(config.StatementTransaction, "transaction control"); d != nil {
			return d
		}
		return rw.transactionStmt(s.TransactionStmt)
	case *pg_query.Node_CopyStmt:
		return rw.copyStmt(s.CopyStmt)
	case *pg_query.Node_DeclareCursorStmt:
		if d := rw.allow(config.StatementCursor, "DECLARE"); d != nil {
			return d
		}
		return rw.walkQuery(s.DeclareCursorStmt.Query)
	case *pg_query.Node_FetchStmt:
		return rw.allow(config.StatementCursor, "FETCH and MOVE")
	case *pg_query.Node_ClosePortalStmt:
		return rw.allow(config.StatementCursor, "CLOSE")
	case *pg_query.Node_PrepareStmt:
		if d := rw.allow(config.StatementPrepare, "PREPARE"); d != nil {
			return d
		}
		if d := rw.walkNodes(s.PrepareStmt.Argtypes); d != nil {
			return d
		}
		return rw.walkQuery(s.PrepareStmt.Query)
	case *pg_query.Node_ExecuteStmt:
		if d := rw.allow(config.StatementPrepare, "EXECUTE"); d != nil {
			return d
		}
		return rw.walkNodes(s.ExecuteStmt.Params)
	case *pg_query.Node_DeallocateStmt:
		return rw.allow(config.StatementPrepare, "DEALLOCATE")
	case *pg_query.Node_DiscardStmt:
		return rw.allow(config.StatementDiscard, "DISCARD")
	case *pg_query.Node_ListenStmt, *pg_query.Node_UnlistenStmt, *pg_query.Node_NotifyStmt:
		return rw.allow(config.StatementListen, "LISTEN, UNLISTEN and NOTIFY")
	case *pg_query.Node_CreateTableAsStmt:
		return rw.createTableAs(s.CreateTableAsStmt)
	case *pg_query.Node_CallStmt:
		if d := rw.allow(config.StatementCall, "CALL"); d != nil {
			return d
		}
		return rw.walk(s.CallStmt.Funccall.ProtoReflect())
	case *pg_query.Node_ExplainStmt:
		return neverAllowed("EXPLAIN", rw.role.name)
	case *pg_query.Node_DoStmt:
		return neverAllowed("DO", rw.role.name)
	case *pg_query.Node_VacuumStmt, *pg_query.Node_ClusterStmt, *pg_query.Node_ReindexStmt, *pg_query.Node_CheckPointStmt:
		return neverAllowed("maintenance (VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT)", rw.role.name)
	case *pg_query.Node_TruncateStmt:
		return rw.lockOrTruncate(config.StatementTruncate, "TRUNCATE", s.TruncateStmt.Relations)
	case *pg_query.Node_LockStmt:
		return rw.lockOrTruncate(config.StatementLock, "LOCK", s.LockStmt.Relations)
	}
	// Everything else is DDL, role and server administration, or a statement kind
	// pgmask does not know: none of it can be checked.
	if d := rw.allow(config.StatementDDL, "DDL"); d != nil {
		return d
	}
	return neverAllowed("this statement", rw.role.name)
}

// allow refuses a statement kind the role does not list.
func (rw *rewrite) allow(kind, what string) *Denial {
	if rw.role.statements[kind] && !(rw.role.readOnly && config.IsWriteStatement(kind)) {
		return nil
	}
	return kindRefused(kind, what, rw.role.name, rw.role.readOnly)
}

// walkQuery walks the query of DECLARE, PREPARE, COPY or CREATE TABLE AS. It must be
// a statement pgmask rewrites (SELECT or, where allowed, a data-modifying statement).
func (rw *rewrite) walkQuery(q *pg_query.Node) *Denial {
	switch q.GetNode().(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		return rw.walkNode(q)
	}
	return unsupported("this statement inside another", rw.role.name)
}

// copyStmt handles COPY. COPY ... TO STDOUT is a read: "COPY t [(cols)] TO STDOUT"
// becomes "COPY (SELECT cols FROM t) TO STDOUT", whose query is then rewritten like
// any other. COPY ... FROM STDIN is a write into a granted relation. Files and
// programs on the server are never allowed.
func (rw *rewrite) copyStmt(c *pg_query.CopyStmt) *Denial {
	if c.IsProgram || c.Filename != "" {
		return neverAllowed("COPY to or from a server file or program", rw.role.name)
	}
	if d := copyOptionsDeparsable(c.Options, rw.role.name); d != nil {
		return d
	}
	if c.IsFrom {
		if d := rw.allow(config.StatementCopyFrom, "COPY FROM"); d != nil {
			return d
		}
		if _, d := rw.writeTarget(c.Relation, "COPY FROM", false); d != nil {
			return d
		}
		return rw.walkNode(c.WhereClause)
	}
	if d := rw.allow(config.StatementCopyTo, "COPY TO"); d != nil {
		return d
	}
	if d := rw.walkNodes(c.Options); d != nil {
		return d
	}
	if c.Query != nil {
		return rw.walkQuery(c.Query)
	}
	if c.Relation == nil {
		return unsupported("COPY without a relation or query", rw.role.name)
	}
	targets := []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{
		Val: &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{
			Fields: []*pg_query.Node{{Node: &pg_query.Node_AStar{AStar: &pg_query.A_Star{}}}}}}}}}}}
	if len(c.Attlist) > 0 {
		targets = nil
		for _, a := range c.Attlist {
			targets = append(targets, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{
				Val: &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{
					Fields: []*pg_query.Node{a}}}}}}})
		}
	}
	rv := c.Relation
	rv.Inh = false // COPY t TO reads t alone, never its children
	if r, _ := rw.resolveRelation(&pg_query.RangeVar{Schemaname: rv.Schemaname, Relname: rv.Relname}); r != nil && r.Kind == KindPartitionedTable {
		rv.Inh = true // a partitioned table's rows are in its partitions
	}
	c.Query = &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
		TargetList:  targets,
		FromClause:  []*pg_query.Node{{Node: &pg_query.Node_RangeVar{RangeVar: rv}}},
		Op:          pg_query.SetOperation_SETOP_NONE,
		LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT,
	}}}
	c.Relation, c.Attlist = nil, nil
	rw.changed = true
	return rw.walkQuery(c.Query)
}

// selectInto handles SELECT ... INTO, which creates a table: CREATE TABLE AS.
func (rw *rewrite) selectInto(n *pg_query.Node, s *pg_query.SelectStmt) *Denial {
	if d := rw.allow(config.StatementDDL, "SELECT ... INTO"); d != nil {
		return d
	}
	into := s.IntoClause
	if d := rw.newRelation(into); d != nil {
		return d
	}
	s.IntoClause = nil
	defer func() { s.IntoClause = into }()
	return rw.walkNode(n)
}

// createTableAs allows CREATE TABLE AS and CREATE MATERIALIZED VIEW AS with the query
// rewritten, for roles that may run DDL: what they store is what the role may see.
func (rw *rewrite) createTableAs(c *pg_query.CreateTableAsStmt) *Denial {
	if d := rw.allow(config.StatementDDL, "CREATE TABLE AS"); d != nil {
		return d
	}
	if c.Objtype != pg_query.ObjectType_OBJECT_TABLE && c.Objtype != pg_query.ObjectType_OBJECT_MATVIEW {
		return neverAllowed("this statement", rw.role.name)
	}
	if d := rw.newRelation(c.Into); d != nil {
		return d
	}
	return rw.walkQuery(c.Query)
}

// newRelation checks the relation a statement creates: never a temporary one (it could
// shadow what pgmask resolved for later statements of the session).
func (rw *rewrite) newRelation(into *pg_query.IntoClause) *Denial {
	rel := into.GetRel()
	if rel == nil {
		return unsupported("this INTO clause", rw.role.name)
	}
	if rel.Relpersistence == "t" || rel.Schemaname == "pg_temp" || strings.HasPrefix(rel.Schemaname, "pg_temp_") {
		return neverAllowed("creating temporary relations", rw.role.name)
	}
	if rel.Schemaname != "" && isSystemSchema(rel.Schemaname) {
		return neverAllowed("creating relations in system schemas", rw.role.name)
	}
	return rw.childrenExcept(into.ProtoReflect(), "rel")
}

// lockOrTruncate allows LOCK and TRUNCATE on granted relations for roles that list
// them; neither reads data.
func (rw *rewrite) lockOrTruncate(kind, what string, rels []*pg_query.Node) *Denial {
	if d := rw.allow(kind, what); d != nil {
		return d
	}
	for _, n := range rels {
		rv := n.GetRangeVar()
		if rv == nil {
			return unsupported(what+" of this", rw.role.name)
		}
		if _, d := rw.writeTarget(rv, what, false); d != nil {
			return d
		}
	}
	return nil
}

// valuelessCopyOptions are the COPY options pg_query can deparse without a value.
// pg_query v5's deparser dereferences the missing value of any other option (FORMAT,
// DELIMITER, NULL, QUOTE, ENCODING, FORCE_QUOTE...) and crashes the whole process with
// SIGSEGV, which no recover can catch, so such statements must never reach Deparse.
var valuelessCopyOptions = map[string]bool{"header": true, "freeze": true, "csv": true, "binary": true}

func copyOptionsDeparsable(opts []*pg_query.Node, role string) *Denial {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			return unsupported("a COPY option pgmask does not recognise", role)
		}
		if d.Arg == nil && !valuelessCopyOptions[d.Defname] {
			return &Denial{Code: CodeSyntaxError, Message: fmt.Sprintf("COPY option %q needs a value", d.Defname),
				Hint: "Write the option with its value, e.g. FORMAT csv."}
		}
	}
	return nil
}
