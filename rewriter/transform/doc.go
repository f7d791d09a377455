// Package transform generates the SQL of pgmask's masking transforms.
//
// It sits inside the rewriter: the policy names a transform per column (a Spec parsed
// from pgmask.toml), and the rewriter core asks Spec.Expr for the SQL expression that
// yields the masked value, which it projects in the derived table that replaces the
// protected relation ("SELECT <expr> AS col, ... FROM ONLY schema.table").
//
// Every expression is built from PostgreSQL 15 built-ins only and is self-contained:
// fully parenthesized, every function and operator qualified with pg_catalog (so no
// search_path can redirect them), every type written so that it resolves to the
// built-in type, and every literal generated and quoted by this package (never
// depending on standard_conforming_strings). Expressions keep the column's type,
// including its length or precision, and map NULL to NULL unless a transform says
// otherwise. The one expression that reads a table is code's: a scalar subquery on
// pgmask's own mapping, pgmask.subject_codes (schema-qualified, see CodeSchema).
//
// The transforms (see Names; each is documented on its generating function):
//
//	keep             the value as is
//	exclude          the column is left out of the derived table (Spec.Excludes)
//	null             NULL of the column's type
//	redact           a constant of the column's type ('[REDACTED]', 0, {} …)
//	last4            'XXX-XX-6789': all but the last 4 letters and digits masked
//	partial(f,l)     the first f and last l characters kept, letters and digits between masked
//	email_domain     '*@example.com'
//	hash             keyed HMAC-SHA-256, as hex, integer or uuid of the column's type
//	year, month      the date or timestamp truncated to its year or month
//	date_shift(d)    moved by a keyed per-subject offset in [-d, d] days
//	zip3             the first three ZIP digits, '000' for restricted prefixes (Zip3Table)
//	age_top90        ages over 89 as 90; on a birth date, BirthYearTop90
//	bucket(w)        floor(v / w) * w
//	round(n)         rounded to n decimals (integers: n trailing digits rounded away)
//	redact_patterns  SSNs, US phone numbers and email addresses in free text replaced
//	expr("…")        a DBA's expression over value, checked against an allowlist and rebuilt
//	code             the subject's random re-identification code (164.514(c)) from pgmask.subject_codes
//
// The package is pure: it does no I/O besides reading its embedded ZIP3 list (and the
// replacement list LoadZip3 is asked to read), holds no mutable state, and never
// pastes text written by a DBA or a client into SQL.
package transform
