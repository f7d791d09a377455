package config

import (
	"fmt"
	"slices"
	"strings"
)

// Statement kinds a role may be allowed to run (roles.X.statements). The rewriter
// classifies every statement into exactly one kind and refuses kinds the role does not
// list; a statement it cannot classify is refused. Kinds that read data (select,
// copy_to, cursor, prepare) are still rewritten, never passed through, for restricted
// roles.
const (
	StatementSelect      = "select"      // SELECT, VALUES, TABLE, WITH ... SELECT
	StatementShow        = "show"        // SHOW
	StatementSet         = "set"         // SET and RESET of session settings the rewriter deems harmless
	StatementTransaction = "transaction" // BEGIN, START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT, RELEASE
	StatementCursor      = "cursor"      // DECLARE, FETCH, MOVE, CLOSE
	StatementPrepare     = "prepare"     // PREPARE, EXECUTE, DEALLOCATE
	StatementCopyTo      = "copy_to"     // COPY ... TO STDOUT
	StatementCopyFrom    = "copy_from"   // COPY ... FROM STDIN
	StatementExplain     = "explain"     // EXPLAIN (always refused for restricted roles)
	StatementInsert      = "insert"      // INSERT
	StatementUpdate      = "update"      // UPDATE
	StatementDelete      = "delete"      // DELETE
	StatementMerge       = "merge"       // MERGE
	StatementTruncate    = "truncate"    // TRUNCATE
	StatementCall        = "call"        // CALL
	StatementDo          = "do"          // DO (anonymous code blocks)
	StatementLock        = "lock"        // LOCK TABLE
	StatementListen      = "listen"      // LISTEN, UNLISTEN, NOTIFY
	StatementDiscard     = "discard"     // DISCARD
	StatementMaintenance = "maintenance" // VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT
	StatementDDL         = "ddl"         // CREATE, ALTER, DROP, COMMENT, GRANT, REVOKE, REFRESH MATERIALIZED VIEW, ...
)

// StatementKinds lists every statement kind.
var StatementKinds = []string{
	StatementSelect, StatementShow, StatementSet, StatementTransaction, StatementCursor,
	StatementPrepare, StatementCopyTo, StatementCopyFrom, StatementExplain,
	StatementInsert, StatementUpdate, StatementDelete, StatementMerge, StatementTruncate,
	StatementCall, StatementDo, StatementLock, StatementListen, StatementDiscard,
	StatementMaintenance, StatementDDL,
}

// DefaultStatements is what a role may run when it does not list statements and is
// read-only: what BI tools and psql need to browse and query, nothing that writes.
var DefaultStatements = []string{
	StatementSelect, StatementShow, StatementSet, StatementTransaction, StatementCursor,
	StatementPrepare, StatementCopyTo,
}

// writeStatements change data, schema or server state, so only a role with
// read_only = false may list them. CALL and DO are here because the code they run may
// write.
var writeStatements = []string{
	StatementCopyFrom, StatementInsert, StatementUpdate, StatementDelete, StatementMerge,
	StatementTruncate, StatementCall, StatementDo, StatementMaintenance, StatementDDL,
}

// statementKeywords maps SQL keywords a DBA may write in place of a kind to the kind
// they belong to, for the error message.
var statementKeywords = map[string]string{
	"values": StatementSelect, "table": StatementSelect, "with": StatementSelect, "reset": StatementSet,
	"begin": StatementTransaction, "start": StatementTransaction, "commit": StatementTransaction,
	"rollback": StatementTransaction, "savepoint": StatementTransaction, "release": StatementTransaction,
	"declare": StatementCursor, "fetch": StatementCursor, "move": StatementCursor, "close": StatementCursor,
	"execute": StatementPrepare, "deallocate": StatementPrepare, "unlisten": StatementListen,
	"notify": StatementListen, "copy": StatementCopyTo + " or " + StatementCopyFrom,
	"vacuum": StatementMaintenance, "analyze": StatementMaintenance, "cluster": StatementMaintenance,
	"reindex": StatementMaintenance, "checkpoint": StatementMaintenance,
	"create": StatementDDL, "alter": StatementDDL, "drop": StatementDDL, "comment": StatementDDL,
	"grant": StatementDDL, "revoke": StatementDDL, "refresh": StatementDDL,
}

// unknownStatement explains an unknown statement kind.
func unknownStatement(s string) string {
	if kind, ok := statementKeywords[strings.ToLower(s)]; ok {
		return fmt.Sprintf("unknown statement kind %q (%s statements are kind %s)", s, strings.ToUpper(s), kind)
	}
	return unknown("statement kind", s, StatementKinds)
}

// IsStatementKind reports whether s is a statement kind.
func IsStatementKind(s string) bool { return slices.Contains(StatementKinds, s) }

// IsWriteStatement reports whether statements of the kind may change data, schema or
// server state.
func IsWriteStatement(kind string) bool { return slices.Contains(writeStatements, kind) }
