package transform

import (
	"reflect"
	"testing"
)

// Whatever Parse accepts, String must print so that Parse reads the same spec, and
// Expr must either fail or produce SQL that parses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"last4", "partial(1,4)", "bucket(0.5)", "round(-2)", "date_shift(30)",
		`expr("left(value, 1) || '.'")`, `expr("CASE value WHEN 'a' THEN 1 END")`, "hash()", "zip3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		again, err := Parse(s.String())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse(%q) = %#v, but Parse(%q) = %#v, %v", in, s, s.String(), again, err)
		}
		if s.Excludes() {
			return
		}
		for _, typ := range []string{"text", "integer", "date", "numeric(12,2)"} {
			if sql, err := s.Expr(Column{Ref: `t."c"`, Type: typ, Subject: `t."id"`}, testEnv); err == nil {
				mustParse(t, sql)
				assertSelfContained(t, sql)
			}
		}
	})
}

// Whatever the expr checker accepts must come out self-contained: only the column,
// pg_catalog functions, operators and types, nothing else.
func FuzzExprChecker(f *testing.F) {
	for _, s := range []string{"left(value, 1) || '.'", "CASE value WHEN 'a' THEN 1 ELSE 2 END",
		"value IN (1, 2) OR value BETWEEN 3 AND 4", "nullif(value, '') IS NULL", "(value || 'x') IS NULL",
		"(regexp_match(value, '[0-9]+'))[1]", "extract(year from value)::int", "value LIKE 'a%' ESCAPE '!'",
		"greatest(value, 1) = ANY(ARRAY[1, 2])", "NOT value", "-value * 2 ^ 3", "substring(value from 1 for 2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		sql, err := exprExpr(Spec{Name: "expr", Args: []string{src}}, Column{Ref: `t."c"`}, colType{cast: "pg_catalog.text"}, Env{})
		if err != nil {
			return
		}
		mustParse(t, sql)
		assertSelfContained(t, sql)
	})
}
