// Package rewriter decides, for one statement and one caller, what pgmask sends upstream.
//
// It sits between config (the file format) and proxy (the wire): Compile turns a
// config.Config into an immutable Policy, and Rewrite turns (SQL text, Context, Policy,
// Catalog) into a Result — the SQL to forward, or a Denial. The package does no I/O and
// holds no mutable state outside the Cache; it must never return SQL it could not prove
// safe for the caller's role (fail closed).
//
// How: every statement is parsed with PostgreSQL's own parser (pg_query), walked once
// (walk.go, which refuses node kinds it does not know), and every reference to a
// relation the role may read is replaced by a derived table that projects only what
// the role may see (substitute.go, DESIGN §3). Everything else — statement kinds,
// functions, settings, system catalogs — is allowlisted (statements.go, functions.go,
// catalogs.go).
package rewriter

import (
	"errors"

	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
)

// Treatment says how a column reached the caller.
type Treatment string

const (
	Raw      Treatment = "raw"
	Excluded Treatment = "excluded"
	Filtered Treatment = "filtered"
)

// Masked returns the treatment of a column disclosed through the named transform.
func Masked(transform string) Treatment { return Treatment("masked:" + transform) }

// Disclosure records that a statement touched a column of a protected relation and how.
type Disclosure struct {
	Relation  string // "schema.table"
	Column    string // "" for a relation-level entry (such as a row filter)
	Treatment Treatment
}

// Result is the outcome of rewriting one statement string. A Result may be shared by
// the Cache: treat it, and its Disclosures, as read-only.
type Result struct {
	// SQL is what to send upstream. When Denial is set, SQL is empty.
	SQL string
	// Unchanged is true when SQL is exactly the input, so the proxy may forward the
	// client's bytes as they are.
	Unchanged bool
	// Denial is set when the statement must be refused.
	Denial *Denial
	// Before is set with Denial when the refused statement is not the first of a
	// multi-statement string: the statements before it, checked and rewritten.
	// PostgreSQL runs a string's statements in order and stops at the first error, so
	// a proxy that sends Before followed by the refusal gives the client exactly the
	// results and transaction state PostgreSQL would have (BEGIN; <refused> leaves a
	// failed transaction block). Statements after the refused one are never sent.
	Before string
	// Disclosures lists what the statement reads of protected relations, for audit.
	Disclosures []Disclosure

	// shapeOnly is set when the rewrite is a function of the statement's shape alone:
	// every statement is a query, and no decision read the value of a constant the
	// client wrote. The Cache may then reuse it, through a normalize.Template, for
	// statements that differ only in their literals (normalize/GUIDE.md).
	shapeOnly bool
}

// Context is what the rewriter knows about the caller of one statement.
type Context struct {
	// Role is the effective policy role (after purpose and break-glass).
	Role string
	// SearchPath is the session's pinned search_path, as PostgreSQL reports it
	// (e.g. `"$user", public`).
	SearchPath string
	// User is the upstream session user, which "$user" in SearchPath stands for. When
	// it is empty, pgmask assumes "$user" may name any schema when it checks function
	// names (fail closed).
	User string
	// Database is the upstream database, for four-part names (db.schema.table.column).
	// When empty, a database part is dropped unchecked (PostgreSQL would have refused a
	// different database; dropping it cannot disclose anything).
	Database string
	// Now is the statement time, for transforms that depend on the date (age_top90).
	// The zero value means time.Now(); tests inject it.
	Now time.Time
}

// Rewrite decides what to send upstream for sql, a complete statement string as a
// client sent it in a Query or Parse message.
func Rewrite(sql string, c Context, p *Policy, cat *Catalog) (res Result) {
	if p == nil {
		return deny(denyf("Ask the DBA to check pgmask.toml.", "no pgmask policy is loaded"))
	}
	role, ok := p.roles[c.Role]
	if !ok {
		return deny(denyf("Ask the DBA to define the role in pgmask.toml.",
			"role %q is not defined in the pgmask policy", c.Role))
	}
	if role.profile == ProfileFull {
		return Result{SQL: sql, Unchanged: true}
	}
	// The rewriter must never take the proxy down nor let a statement through because
	// of a bug: a panic anywhere below is a refusal.
	defer func() {
		if r := recover(); r != nil {
			res = deny(denyf("This is a bug in pgmask; please report it.",
				"pgmask could not check this statement for role %s (internal error)", c.Role))
		}
	}()
	if cat == nil {
		cat = &Catalog{}
	}
	rw, d := newRewrite(c, p, role, cat)
	if d != nil {
		return deny(d)
	}
	return rw.run(sql)
}

// run parses, checks and rewrites every statement of sql.
func (rw *rewrite) run(sql string) Result {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return deny(syntaxError(err))
	}
	if len(tree.Stmts) == 0 {
		if !isASCII(sql) {
			return Result{} // only comments: PostgreSQL answers "" the same way (ascii.go)
		}
		return Result{SQL: sql, Unchanged: true}
	}
	for i, s := range tree.Stmts {
		subs, disclosures := len(rw.subs), len(rw.disclosures)
		if d := rw.statement(s); d != nil {
			if i == 0 {
				return deny(d)
			}
			rw.subs, rw.disclosures = rw.subs[:subs], rw.disclosures[:disclosures]
			tree.Stmts = tree.Stmts[:i]
			return rw.refusedAfter(tree, d)
		}
	}
	shapeOnly := !rw.readValue && queriesOnly(tree)
	// A statement with a non-ASCII byte is always rebuilt, in ASCII (ascii.go).
	if !rw.changed && isASCII(sql) {
		return Result{SQL: sql, Unchanged: true, Disclosures: rw.disclosures, shapeOnly: shapeOnly}
	}
	out, d := rw.splice(tree)
	if d != nil {
		return deny(d)
	}
	if !isASCII(out) {
		if out, d = rw.asciiOnly(out); d != nil {
			return deny(d)
		}
	}
	return Result{SQL: out, Disclosures: rw.disclosures, shapeOnly: shapeOnly}
}

// queriesOnly reports whether every statement of tree is a plain query (SELECT,
// VALUES, TABLE, WITH … SELECT), whose allow or deny takes no argument values: not
// SELECT … INTO, which creates a table, nor a WITH that writes (PostgreSQL allows
// data-modifying WITH only at the top level).
func queriesOnly(tree *pg_query.ParseResult) bool {
	for _, s := range tree.Stmts {
		sel := s.GetStmt().GetSelectStmt()
		if sel == nil || sel.IntoClause != nil {
			return false
		}
		for _, cte := range sel.GetWithClause().GetCtes() {
			if cte.GetCommonTableExpr().GetCtequery().GetSelectStmt() == nil {
				return false
			}
		}
	}
	return true
}

func deny(d *Denial) Result { return Result{Denial: d} }

// refusedAfter is the Result of a string whose statements in tree were allowed and
// whose next statement was refused with d. If the allowed ones cannot be rebuilt, the
// whole string is refused.
func (rw *rewrite) refusedAfter(tree *pg_query.ParseResult, d *Denial) Result {
	before, d2 := rw.splice(tree)
	if d2 == nil && !isASCII(before) {
		before, d2 = rw.asciiOnly(before)
	}
	if d2 != nil {
		return deny(d)
	}
	return Result{Denial: d, Before: before, Disclosures: rw.disclosures}
}

// syntaxError answers a statement PostgreSQL's parser rejects with PostgreSQL's own
// message, which is what the client would have seen without pgmask.
func syntaxError(err error) *Denial {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &Denial{Code: CodeSyntaxError, Message: pe.Message, Position: pe.Cursorpos}
	}
	return &Denial{Code: CodeSyntaxError, Message: err.Error()}
}
