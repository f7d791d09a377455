package rewriter

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pgmask/pgmask/config"
)

// Writes (INSERT, UPDATE, DELETE, MERGE, COPY FROM), for roles that are not read-only
// and list the kind. The target of a write is not replaced by a derived table (one
// cannot write into a subquery); instead pgmask requires what the write can read of
// it to be visible anyway: UPDATE, DELETE and MERGE evaluate WHERE and SET on the raw
// row, and RETURNING and ON CONFLICT hand raw values back, so those need a role that
// sees every column of the target raw and every row. A plain INSERT or COPY FROM
// reads nothing and only needs the target granted. Everything else in the statement
// (FROM, USING, subqueries, the SELECT of an INSERT) is rewritten as usual.

// writeTarget resolves the target of a write; needFull asks for a completely visible
// target. The target is written schema-qualified.
func (rw *rewrite) writeTarget(rv *pg_query.RangeVar, verb string, needFull bool) (*Relation, *Denial) {
	if rv == nil {
		return nil, unsupported(verb+" without a target", rw.role.name)
	}
	written := writtenName(rv.Catalogname, rv.Schemaname, rv.Relname)
	rel, d := rw.resolveRelation(rv)
	if d != nil {
		return nil, d
	}
	if isSystemSchema(rel.Schema) {
		return nil, neverAllowed("writing to system catalogs", rw.role.name)
	}
	tp := rw.role.byName[qualifiedName{rel.Schema, rel.Name}]
	if tp == nil {
		return nil, relationNotAvailable(written, rw.role.name)
	}
	if needFull {
		if !fullyVisible(rel, tp) {
			return nil, writeRefused(verb, written, rw.role.name)
		}
		rw.disclose(rel, tp)
	}
	if rv.Schemaname != rel.Schema {
		rv.Schemaname = rel.Schema
		rw.changed = true
	}
	return rel, nil
}

// fullyVisible reports whether the role sees every column of rel raw and every row.
func fullyVisible(rel *Relation, tp *tablePolicy) bool {
	if tp.filter != nil {
		return false
	}
	for _, c := range rel.Columns {
		if cp, ok := tp.columns[c.Name]; !ok || cp.spec.Name != "keep" {
			return false
		}
	}
	return true
}

// write runs the common frame of a write: its own query level with its WITH
// list, the target, then the rest.
func (rw *rewrite) write(kind, verb string, with *pg_query.WithClause, target *pg_query.RangeVar, needFull bool, rest func() *Denial) *Denial {
	if d := rw.allow(kind, verb); d != nil {
		return d
	}
	rw.push()
	defer rw.pop()
	if with != nil {
		if d := rw.withClause(with); d != nil {
			return d
		}
	}
	if _, d := rw.writeTarget(target, verb, needFull); d != nil {
		return d
	}
	return rest()
}

func (rw *rewrite) insertStmt(s *pg_query.InsertStmt) *Denial {
	needFull := len(s.ReturningList) > 0 || s.OnConflictClause != nil
	return rw.write(config.StatementInsert, "INSERT", s.WithClause, s.Relation, needFull, func() *Denial {
		return rw.childrenExcept(s.ProtoReflect(), "relation", "with_clause")
	})
}

func (rw *rewrite) updateStmt(s *pg_query.UpdateStmt) *Denial {
	return rw.write(config.StatementUpdate, "UPDATE", s.WithClause, s.Relation, true, func() *Denial {
		return rw.childrenExcept(s.ProtoReflect(), "relation", "with_clause")
	})
}

func (rw *rewrite) deleteStmt(s *pg_query.DeleteStmt) *Denial {
	return rw.write(config.StatementDelete, "DELETE", s.WithClause, s.Relation, true, func() *Denial {
		return rw.childrenExcept(s.ProtoReflect(), "relation", "with_clause")
	})
}

func (rw *rewrite) mergeStmt(s *pg_query.MergeStmt) *Denial {
	return rw.write(config.StatementMerge, "MERGE", s.WithClause, s.Relation, true, func() *Denial {
		return rw.childrenExcept(s.ProtoReflect(), "relation", "with_clause")
	})
}
