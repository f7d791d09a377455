package transform

import "fmt"

// Re-identification codes (45 CFR 164.514(c)). A code may stand for a subject in a
// de-identified data set only if it is not derived from information about the
// individual and the means of re-identification is not disclosed. pgmask keeps one
// random code per subject in the table below, which proxy/reid creates (`pgmask
// init`, or on first use) and fills from a strong random source; restricted upstream
// identities may read it, but the rewriter never lets a role name it, so a role sees a
// code only as the value of a column of a table it is granted.
const (
	// CodeSchema is the schema pgmask owns in the upstream database. No role may be
	// granted a relation in it.
	CodeSchema = "pgmask"
	// CodeTable is the mapping: subject text PRIMARY KEY (the subject key as text),
	// code bigint NOT NULL UNIQUE.
	CodeTable = "subject_codes"
	// MaxCode is the largest code: codes are 1..MaxCode, so they fit an integer column.
	MaxCode = 2147483647
)

// CodeName is the name of the transform that shows re-identification codes.
const CodeName = "code"

// codeDigits is the number of decimal digits of the largest code.
const codeDigits = 10

// codeExpr ("code") replaces the value by the code of the row's subject, looked up in
// pgmask.subject_codes by the subject key as text: the column's own value plays no
// part, so a subject's code is the same in every column and table that carries it (a
// subject key, or an other_id column configured to carry a code), in every session
// and for every role, and researchers can join on it. A subject without a code yet
// (pgmask gives new subjects one at the next catalog refresh) and a row without a
// subject key get NULL, never the raw value.
//
// The result keeps the column's type: integer and bigint; numeric with room for 10
// integer digits; text types (the code's decimal digits) that hold 10 characters. Any
// other column, or a table without a subject key, is an error.
//
// The subject key is read in a subquery of its own in FROM: it cannot see the
// columns of pgmask.subject_codes, so a subject key named like one of them ("subject",
// "code") still means the table's column.
func codeExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	const want = "an integer or bigint column, a numeric column with room for 10 integer digits, or a text column of at least 10 characters"
	switch t.kind {
	case kindInt:
		if t.bits < 32 {
			return "", typeError(s, t, want)
		}
	case kindNumeric:
		if t.precision > 0 && t.precision-t.scale < codeDigits {
			return "", typeError(s, t, want)
		}
	case kindText:
		if t.length > 0 && t.length < codeDigits {
			return "", typeError(s, t, want)
		}
	default:
		return "", typeError(s, t, want)
	}
	if c.Subject == "" {
		return "", fmt.Errorf("transform %s needs the table's subject key (subject_key in pgmask.toml): the code is the subject's", s)
	}
	lookup := "(SELECT c.code FROM (SELECT " + asText(c.Subject) + ") AS s(subject) JOIN " +
		CodeSchema + "." + CodeTable + " AS c ON " + op("c.subject", "=", "s.subject") + ")"
	if t.kind == kindText {
		lookup = asText(lookup)
	}
	return cast(lookup, t.cast), nil
}
