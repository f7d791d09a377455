package rewriter

import (
	"fmt"
	"strings"
)

// SQLSTATE codes the rewriter answers with.
const (
	CodeInsufficientPrivilege = "42501"
	CodeSyntaxError           = "42601"
	CodeFeatureNotSupported   = "0A000"
)

// Denial is a policy refusal, shown to the client as an ErrorResponse.
type Denial struct {
	Code    string // SQLSTATE
	Message string
	Hint    string
	// Position is the 1-based character position in the statement string the error
	// refers to, as in PostgreSQL's ErrorResponse 'P' field; 0 when there is none.
	Position int

	codes bool // refused only because the database has no table of codes yet
}

// NeedsCodes reports whether the statement was refused only because the database
// has no table of re-identification codes yet (which pgmask creates on first use), so
// that `pgmask check` can tell that apart from a policy that does not fit.
func (d *Denial) NeedsCodes() bool { return d != nil && d.codes }

func (d *Denial) Error() string { return fmt.Sprintf("%s (SQLSTATE %s)", d.Message, d.Code) }

// denyf returns an insufficient-privilege Denial.
func denyf(hint, format string, args ...any) *Denial {
	return &Denial{Code: CodeInsufficientPrivilege, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// The constructors below are the only places messages are worded, so that two
// refusals that must look alike (a relation that is not granted and one that does not
// exist) cannot drift apart.

// relationNotAvailable refuses a relation that does not exist, is not granted or is
// not on the catalog allowlist. The message and hint depend only on what the client
// wrote, never on what exists, so the answer reveals nothing.
func relationNotAvailable(written, role string) *Denial {
	return denyf(fmt.Sprintf("Ask the DBA to grant %q to role %q in pgmask.toml.", written, role),
		"relation %q is not available to role %s", written, role)
}

// typeNotAvailable refuses a type, given by name or OID, that does not exist or is the
// row type of a relation the role may not see (or an array of one). Like
// relationNotAvailable, message and hint depend only on what the client wrote.
func typeNotAvailable(written, role string) *Denial {
	return denyf(fmt.Sprintf("The row type of a relation is available when the relation is; ask the DBA to grant it to role %q in pgmask.toml.", role),
		"type %q is not available to role %s", written, role)
}

// systemRelationRefused refuses a PostgreSQL catalog that is not on the allowlist. Its
// existence is public knowledge, so the message may say why.
func systemRelationRefused(written, role, why string) *Denial {
	return denyf("pgmask refuses system relations that "+why+" for restricted roles.",
		"relation %q is not available to role %s", written, role)
}

// kindRefused refuses a statement kind the role may not run.
func kindRefused(kind, what, role string, readOnly bool) *Denial {
	hint := fmt.Sprintf("Ask the DBA to add %q to roles.%s.statements in pgmask.toml.", kind, role)
	if readOnly && isWriteKind(kind) {
		hint = fmt.Sprintf("Role %q is read-only; ask the DBA for a role that may write.", role)
	}
	return denyf(hint, "%s is not available to role %s", what, role)
}

// readOnlyRefused refuses something that writes, for a read-only role.
func readOnlyRefused(what, role string) *Denial {
	return denyf(fmt.Sprintf("Role %q is read-only; ask the DBA for a role that may write.", role),
		"%s is not available to role %s", what, role)
}

// neverAllowed refuses what pgmask cannot check and so never allows for a restricted
// role, whatever the policy says.
func neverAllowed(what, role string) *Denial {
	return denyf("pgmask cannot prove such statements safe; run them with a role whose profile is \"full\".",
		"%s is not available to role %s", what, role)
}

// functionNotAvailable refuses a function (or procedure, or operator) that is outside
// pg_catalog and not allowlisted, or on the built-in denylist.
func functionNotAvailable(what, written, role string, allowlistable bool) *Denial {
	hint := fmt.Sprintf("Ask the DBA to add %q to roles.%s.functions in pgmask.toml.", written, role)
	if !allowlistable {
		hint = "pgmask never allows functions that run SQL text, change pinned settings or touch server files and state."
	}
	return denyf(hint, "%s %q is not available to role %s", what, written, role)
}

// settingRefused refuses SET/RESET of a setting that is not on the harmless list.
func settingRefused(name, role string) *Denial {
	return denyf("pgmask pins security-relevant settings for restricted roles; only harmless settings (application_name, DateStyle, TimeZone, statement_timeout, ...) may be changed.",
		"changing setting %q is not available to role %s", name, role)
}

// unsupported refuses syntax the rewriter does not know, so cannot prove safe.
func unsupported(what, role string) *Denial {
	return denyf("pgmask refuses statements it cannot check; rewrite the statement without it, or ask the DBA.",
		"%s is not supported by pgmask for role %s", what, role)
}

// writeRefused refuses a write whose target the role cannot see completely.
func writeRefused(verb, written, role string) *Denial {
	return denyf("Writes that read rows (UPDATE, DELETE, MERGE, RETURNING, ON CONFLICT) need a role that sees every column of the table unmasked and unfiltered.",
		"%s on relation %q is not available to role %s", verb, written, role)
}

// policyError refuses a statement because the policy itself does not fit the catalog
// (a transform that does not apply to a column type, a row filter naming a column that
// does not exist). pgmask check reports the same problems ahead of time.
func policyError(rel, role string, err error) *Denial {
	return denyf("Run \"pgmask check\" and ask the DBA to fix the policy.",
		"the policy for relation %q and role %s does not fit the database: %v", rel, role, err)
}

// codesNotSetUp refuses a relation whose policy shows re-identification codes while
// the database has no table of codes yet.
func codesNotSetUp(rel, role string) *Denial {
	d := denyf("Ask the DBA to run \"pgmask init\", which creates pgmask's table of re-identification codes.",
		"relation %q cannot be shown to role %s: the database has no re-identification codes yet", rel, role)
	d.codes = true
	return d
}

// writtenName joins the parts of a name as the client wrote them (without quotes).
func writtenName(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}
