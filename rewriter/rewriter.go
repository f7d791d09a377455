// Package rewriter decides, for one statement and one caller, what pgmask sends upstream.
//
// It sits between config (the file format) and proxy (the wire): Compile turns a
// config.Config into an immutable Policy, and Rewrite turns (SQL text, Context, Policy,
// Catalog) into a Result — the SQL to forward, or a Denial. The package does no I/O and
// holds no mutable state outside the Cache; it must never return SQL it could not prove
// safe for the caller's role (fail closed).
package rewriter

import "fmt"

// SQLSTATE codes the rewriter answers with.
const (
	CodeInsufficientPrivilege = "42501"
	CodeSyntaxError           = "42601"
)

// Denial is a policy refusal, shown to the client as an ErrorResponse.
type Denial struct {
	Code    string // SQLSTATE
	Message string
	Hint    string
}

func (d *Denial) Error() string { return fmt.Sprintf("%s (SQLSTATE %s)", d.Message, d.Code) }

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

// Result is the outcome of rewriting one statement string.
type Result struct {
	// SQL is what to send upstream. When Denial is set, SQL is empty.
	SQL string
	// Unchanged is true when SQL is exactly the input, so the proxy may forward the
	// client's bytes as they are.
	Unchanged bool
	// Denial is set when the statement must be refused.
	Denial *Denial
	// Disclosures lists what the statement reads of protected relations, for audit.
	Disclosures []Disclosure
}

// Context is what the rewriter knows about the caller of one statement.
type Context struct {
	// Role is the effective policy role (after purpose and break-glass).
	Role string
	// SearchPath is the session's pinned search_path, as PostgreSQL reports it.
	SearchPath string
}

// Rewrite decides what to send upstream for sql, a complete statement string as a
// client sent it in a Query or Parse message.
func Rewrite(sql string, c Context, p *Policy, cat *Catalog) Result {
	role, ok := p.roles[c.Role]
	if !ok {
		return deny(fmt.Sprintf("role %q is not defined in the pgmask policy", c.Role),
			"Ask the DBA to define the role in pgmask.toml.")
	}
	if role.profile == ProfileFull {
		return Result{SQL: sql, Unchanged: true}
	}
	return deny(fmt.Sprintf("statements are not yet supported for role %q with profile %q", c.Role, role.profile),
		"Ask the DBA for a role with profile \"full\".")
}

func deny(msg, hint string) Result {
	return Result{Denial: &Denial{Code: CodeInsufficientPrivilege, Message: msg, Hint: hint}}
}
