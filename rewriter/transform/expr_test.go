package transform

import (
	"strings"
	"testing"
)

func TestExprCheckerAcceptsPureExpressionsOverValue(t *testing.T) {
	for _, src := range []string{
		"value",
		"left(value, 1) || '.'",
		"pg_catalog.upper(value)",
		"coalesce(value, 'n/a')",
		"CASE WHEN value > 89 THEN 90 ELSE value END",
		"CASE value WHEN 'F' THEN 'female' ELSE 'other' END",
		"value IS NULL OR value IS NOT TRUE",
		"NOT (value LIKE 'a%' OR value ILIKE 'b%' OR value NOT LIKE 'c%' OR value SIMILAR TO 'd%')",
		"value IN ('a', 'b') AND value NOT IN ('c')",
		"value BETWEEN 1 AND 5 OR value NOT BETWEEN 7 AND 9",
		"nullif(value, '')",
		"greatest(value, 0) + least(value, 10)",
		"value OPERATOR(pg_catalog.+) 1",
		"-value",
		"value::int / 10 * 10",
		"CAST(value AS varchar(3))",
		"value::pg_catalog.text",
		"extract(year from value)",
		"date_trunc('month', value)::date",
		"make_date(extract(year from value)::int, 1, 1)",
		"substring(value from 2 for 3)",
		"trim(both ' ' from value)",
		"position('@' in value)",
		"(regexp_match(value, '([0-9]+)$'))[1]",
		"value = ANY (ARRAY['a', 'b'])",
		"to_char(value, 'YYYY')",
		"value + interval '1 day' < CURRENT_DATE",
		"(value || 'x') IS NULL",
		"(value = 'a') IS TRUE",
		"value || 'x' = ANY (ARRAY['ax'])",
		"value LIKE 'a!%' ESCAPE '!'",
		`'it''s' || value || E'\\'`,
	} {
		out, err := rebuildExpr(src, nil)
		if err != nil {
			t.Errorf("expr(%q): %v", src, err)
			continue
		}
		mustParse(t, out)
	}
}

func TestExprCheckerRefusesEverythingElse(t *testing.T) {
	for _, c := range []struct{ src, wantErr string }{
		{"(SELECT ssn FROM clinic.patients LIMIT 1)", "subqueries are not allowed"},
		{"EXISTS (SELECT 1)", "subqueries are not allowed"},
		{"value IN (SELECT 1)", "subqueries are not allowed"},
		{"ARRAY(SELECT 1)", "subqueries are not allowed"},
		{"ssn", `found "ssn"`},
		{"value || ssn", `found "ssn"`},
		{"t.value", `found "t.value"`},
		{"p.*", `found "p.*"`},
		{`"Value"`, `found "Value"`},
		{"md5(value)", "function md5 is not allowed"},
		{"sha256(value::bytea)", "function sha256 is not allowed"},
		{"pg_sleep(1)", "function pg_sleep is not allowed"},
		{"set_config('a', value, false)", "function set_config is not allowed"},
		{"query_to_xml('select 1', true, true, '')", "function query_to_xml is not allowed"},
		{"public.left(value, 1)", "function public.left is not allowed"},
		{"count(value)", "function count is not allowed"},
		{"left(VARIADIC ARRAY[value])", "VARIADIC"},
		{"left(value, n => 1)", "named arguments"},
		{"current_user", "CURRENT_USER is not allowed"},
		{"session_user || value", "SESSION_USER is not allowed"},
		{"$1 || value", "parameters ($n) are not allowed"},
		{`value COLLATE "C"`, "COLLATE is not allowed"},
		{"value::regclass", "cast to type regclass is not allowed"},
		{"value::public.mytype", "cast to type public.mytype is not allowed"},
		{"ROW(value, 1)", "RowExpr is not allowed"},
		{"value OPERATOR(public.+) 1", "only pg_catalog operators"},
		{"value IS DISTINCT FROM 'a'", "DISTINCT is not allowed"},
		{"value; DROP TABLE clinic.patients", "not 2 statements"},
		{"value FROM clinic.patients", "not a query"},
		{"value, value", "not 2"},
		{"value AS x", "without an alias"},
		{"value WHERE true", "not a query"},
		{"", "empty expression"},
		{"value +", "syntax error"},
		{"'constant'", "does not use value"},
	} {
		_, err := rebuildExpr(c.src, nil)
		if err == nil {
			t.Errorf("expr(%q) accepted, want an error containing %q", c.src, c.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("expr(%q) = %v, want an error containing %q", c.src, err, c.wantErr)
		}
	}
}

func TestExprRebuildsTheExpressionQualifiedAroundTheColumn(t *testing.T) {
	s, err := Parse(`expr("CASE value WHEN 'a' THEN left(value, 1) || '.' ELSE upper(value) END")`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Expr(Column{Ref: `p."first name"`, Type: "character varying(20)"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := `(((CASE WHEN p."first name" OPERATOR(pg_catalog.=) 'a' THEN pg_catalog."left"(p."first name", 1) OPERATOR(pg_catalog.||) '.' ELSE pg_catalog.upper(p."first name") END))::character varying(20))`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	assertSelfContained(t, got, "p.first name")
}

func TestExprNeverPastesTheDBAsText(t *testing.T) {
	// Comments and odd spacing are gone: the output is printed from the checked tree.
	s, err := Parse(`expr("upper( value /* comment */ ) -- trailing")`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Expr(Column{Ref: `t."c"`, Type: "text"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `(((pg_catalog.upper(t.c)))::pg_catalog.text)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
