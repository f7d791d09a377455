package rewriter

import (
	"reflect"
	"strings"
	"testing"
)

func TestSearchPathIsSplitLikePostgreSQLDoes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{`"$user", public`, []string{"$user", "public"}, false},
		{`Clinic,PUBLIC`, []string{"clinic", "public"}, false},
		{`"Clinic", "My ""Schema"""`, []string{"Clinic", `My "Schema"`}, false},
		{`  clinic ,public  `, []string{"clinic", "public"}, false},
		{``, nil, false},
		{`$user`, []string{"$user"}, false},
		{`a,,b`, nil, true},
		{`"unterminated`, nil, true},
		{`a b`, nil, true},
	} {
		got, err := parseSearchPath(tc.in)
		if (err != nil) != tc.bad || !tc.bad && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseSearchPath(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestEffectivePathPutsPgCatalogFirstUnlessListedAndSkipsMissingSchemas(t *testing.T) {
	_, cat := fixture(t)
	for _, tc := range []struct {
		setting, user string
		want          []string
		unknownUser   bool
	}{
		{`"$user", public`, "proxy", []string{"pg_catalog", "public"}, false}, // no schema "proxy"
		{`"$user", public`, "clinic", []string{"pg_catalog", "clinic", "public"}, false},
		{`"$user", public`, "", []string{"pg_catalog", "public"}, true},
		{`clinic, pg_catalog, public`, "", []string{"clinic", "pg_catalog", "public"}, false},
		{`nosuch, pg_temp, clinic, clinic`, "", []string{"pg_catalog", "clinic"}, false},
	} {
		sp, err := effectivePath(tc.setting, tc.user, cat)
		if err != nil || !reflect.DeepEqual(sp.schemas, tc.want) || sp.unknownUser != tc.unknownUser {
			t.Errorf("effectivePath(%q, %q) = %+v, %v; want %q", tc.setting, tc.user, sp, err, tc.want)
		}
	}
}

func TestRelationsResolveThroughSearchPathQuotingAndCaseFolding(t *testing.T) {
	p, cat := fixture(t)
	for _, tc := range []struct {
		path, sql, want string // want: the relation the derived table reads, or "denied"
	}{
		{"clinic, public", "SELECT 1 FROM patients", "FROM ONLY clinic.patients"},
		{"public, clinic", "SELECT 1 FROM patients", "denied"},
		{"public, clinic", "SELECT 1 FROM PATIENTS", "denied"},
		{"public, clinic", "SELECT 1 FROM Clinic.Patients", "FROM ONLY clinic.patients"},
		{"public, clinic", `SELECT 1 FROM "clinic"."patients"`, "FROM ONLY clinic.patients"},
		{"public, clinic", `SELECT 1 FROM "Clinic"."patients"`, "denied"},
		{"clinic", `SELECT 1 FROM "Appointments"`, `FROM ONLY clinic."Appointments"`},
		{"clinic", `SELECT 1 FROM appointments`, "denied"},
		{"clinic", `SELECT 1 FROM lookup_codes`, "denied"},
		{"clinic, public", `SELECT 1 FROM lookup_codes`, "FROM ONLY public.lookup_codes"},
	} {
		c := ctx("support")
		c.SearchPath = tc.path
		r := Rewrite(tc.sql, c, p, cat)
		switch {
		case tc.want == "denied" && r.Denial == nil:
			t.Errorf("%s with search_path %s: got %s, want a denial", tc.sql, tc.path, r.SQL)
		case tc.want != "denied" && (r.Denial != nil || !strings.Contains(r.SQL, tc.want)):
			t.Errorf("%s with search_path %s: got %+v, want %s", tc.sql, tc.path, r, tc.want)
		}
	}
}

func TestCTEShadowingFollowsPostgreSQLScopes(t *testing.T) {
	for _, tc := range []struct {
		sql        string
		substitute int // how many times clinic.patients is read
	}{
		{"WITH patients AS (SELECT 1) SELECT * FROM patients", 0},
		{"WITH patients AS (SELECT * FROM patients) SELECT * FROM patients", 1},
		{"WITH RECURSIVE patients AS (SELECT 1 AS id UNION ALL SELECT id + 1 FROM patients WHERE id < 3) SELECT * FROM patients", 0},
		{"WITH a AS (SELECT * FROM patients), patients AS (SELECT 1) SELECT * FROM a, patients", 1},
		{"SELECT (WITH patients AS (SELECT 1) SELECT 1 FROM patients), (SELECT 1 FROM patients LIMIT 1)", 1},
		{"WITH patients AS (SELECT 1) SELECT * FROM (SELECT * FROM patients) s, clinic.patients", 1},
		{"WITH patients AS (SELECT 1) SELECT 1 UNION ALL SELECT 1 FROM patients", 0},
		{"WITH x AS (SELECT 1) SELECT * FROM (WITH patients AS (SELECT 1) SELECT 1) a, patients", 1},
	} {
		r := rewriteAs(t, "support", tc.sql)
		if r.Denial != nil {
			t.Errorf("%s: %s", tc.sql, r.Denial.Message)
			continue
		}
		if n := strings.Count(r.SQL, "FROM ONLY clinic.patients"); n != tc.substitute {
			t.Errorf("%s: clinic.patients read %d times, want %d:\n%s", tc.sql, n, tc.substitute, r.SQL)
		}
	}
}

func TestMinimalQuoteQuotesKeywordsAndUpperCase(t *testing.T) {
	for in, want := range map[string]string{
		"id": "id", "patient_id": "patient_id", "Id": `"Id"`, "user": `"user"`, "order": `"order"`,
		"name": "name", "x1$": "x1$", "1x": `"1x"`, `a"b`: `"a""b"`, "": `""`,
	} {
		if got := minimalQuote(in); got != want {
			t.Errorf("minimalQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
