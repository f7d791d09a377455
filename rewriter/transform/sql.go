package transform

import (
	"math"
	"strconv"
	"strings"
)

// The helpers below are the only way this package writes SQL. Each returns a
// parenthesized expression, so results can be nested without precedence surprises.

// lit quotes s as a SQL string literal. Literals without a backslash are written
// plainly (the same under any standard_conforming_strings); a literal with one uses the
// E” form, whose meaning does not depend on that setting either.
func lit(s string) string {
	q := strings.ReplaceAll(s, "'", "''")
	if strings.Contains(q, `\`) {
		return "E'" + strings.ReplaceAll(q, `\`, `\\`) + "'"
	}
	return "'" + q + "'"
}

// text is a text literal, typed so that function resolution never depends on it.
func text(s string) string { return "(" + lit(s) + "::pg_catalog.text)" }

// num is an integer constant (of type integer when it fits, as a plain literal would
// be). Negative constants are written as a cast literal so that no unary operator has
// to be resolved.
func num(n int64) string {
	if n >= 0 {
		return strconv.FormatInt(n, 10)
	}
	t := "integer"
	if n < math.MinInt32 {
		t = "bigint"
	}
	return "(" + lit(strconv.FormatInt(n, 10)) + "::" + t + ")"
}

// fn calls the pg_catalog function name.
func fn(name string, args ...string) string {
	return "pg_catalog." + name + "(" + strings.Join(args, ", ") + ")"
}

// op applies the pg_catalog operator o; with l == "" it is a prefix operator.
func op(l, o, r string) string {
	if l == "" {
		return "(OPERATOR(pg_catalog." + o + ") " + r + ")"
	}
	return "(" + l + " OPERATOR(pg_catalog." + o + ") " + r + ")"
}

// cast converts x to the type written as t (already safe, see colType.cast).
func cast(x, t string) string { return "((" + x + ")::" + t + ")" }

// paren wraps x in parentheses.
func paren(x string) string { return "(" + x + ")" }

// when is one WHEN … THEN … arm of a searched CASE.
type when struct{ cond, then string }

// caseWhen builds a searched CASE (never the simple form, whose implicit "=" would be
// resolved through search_path).
func caseWhen(arms []when, otherwise string) string {
	var b strings.Builder
	b.WriteString("(CASE")
	for _, a := range arms {
		b.WriteString(" WHEN " + a.cond + " THEN " + a.then)
	}
	if otherwise != "" {
		b.WriteString(" ELSE " + otherwise)
	}
	b.WriteString(" END)")
	return b.String()
}

// isNull tests x for NULL.
func isNull(x string) string { return "(" + x + " IS NULL)" }

// asText is the column value as text (for character(n), without its padding).
func asText(ref string) string { return cast(ref, "pg_catalog.text") }
