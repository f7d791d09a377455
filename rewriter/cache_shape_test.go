package rewriter

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/rewriter/normalize"
)

func TestStatementsThatDifferOnlyInLiteralsShareOneRewrite(t *testing.T) {
	p, cat := fixture(t)
	c := NewCache(100)
	for i := 1; i <= 5; i++ {
		sql := "SELECT id, ssn, dob FROM clinic.patients WHERE id = " + strconv.Itoa(i)
		got := c.Rewrite(sql, ctx("support"), p, cat)
		want := Rewrite(sql, ctx("support"), p, cat)
		if got.Denial != nil || got.SQL != want.SQL {
			t.Fatalf("id %d: cached rewrite differs:\n got %s\nwant %s", i, got.SQL, want.SQL)
		}
		if !strings.Contains(got.SQL, "id = "+strconv.Itoa(i)) {
			t.Fatalf("id %d: the literal is not in the rewrite: %s", i, got.SQL)
		}
	}
	// The first two statements are rewritten (the second one learns the template);
	// the other three are template hits.
	if hits, misses := c.Stats(); hits != 3 || misses != 2 {
		t.Errorf("Stats() = %d hits, %d misses; want 3, 2", hits, misses)
	}
}

func TestALiteralThatADecisionReadsIsNeverTemplated(t *testing.T) {
	p, cat := fixture(t)
	// Each decision reads a string: the allowed statements, sent often enough to learn a
	// template if one were allowed, must not make the refused one pass.
	for _, tc := range []struct{ role, allowed, refused string }{
		{"support", "SELECT 'clinic.patients'::regclass", "SELECT 'clinic.claims'::regclass"},
		{"support", "SELECT has_table_privilege('clinic.patients', 'SELECT')", "SELECT has_table_privilege('clinic.claims', 'SELECT')"},
		{"analyst", "SELECT has_column_privilege('clinic.patients', 'id', 'SELECT')", "SELECT has_column_privilege('clinic.patients', 'ssn', 'SELECT')"},
	} {
		c := NewCache(100)
		for range 3 {
			if r := c.Rewrite(tc.allowed, ctx(tc.role), p, cat); r.Denial != nil {
				t.Fatalf("%s: refused: %s", tc.allowed, r.Denial.Message)
			}
		}
		if r := c.Rewrite(tc.refused, ctx(tc.role), p, cat); r.Denial == nil {
			t.Errorf("%s: allowed through a cached template: %s", tc.refused, r.SQL)
		}
	}
}

func TestOtherKindsOfLiteralInTheSameShapeAreRewrittenOnTheirOwn(t *testing.T) {
	p, cat := fixture(t)
	c := NewCache(100)
	for _, sql := range []string{
		"SELECT id FROM clinic.patients WHERE id = 1",
		"SELECT id FROM clinic.patients WHERE id = 2",
		"SELECT id FROM clinic.patients WHERE id = '3'",
		"SELECT id FROM clinic.patients WHERE id = 4.5",
		"SELECT id FROM clinic.patients WHERE id = 99999999999",
	} {
		if got, want := c.Rewrite(sql, ctx("support"), p, cat), Rewrite(sql, ctx("support"), p, cat); !sameResult(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", sql, got, want)
		}
	}
}

// TestCachedRewritesOfTheGoldenStatementsMatchFreshRewrites replays every golden
// statement with other literal values through a warm cache and compares each result
// with an uncached Rewrite: a template must never change what pgmask sends.
func TestCachedRewritesOfTheGoldenStatementsMatchFreshRewrites(t *testing.T) {
	p, cat := fixture(t)
	templated := 0
	for _, g := range goldenFiles(t) {
		for _, gc := range g.cases {
			n, err := checkShapeReuse(NewCache(100), strings.TrimSpace(gc.input), gc.context(), p, cat)
			if err != nil {
				t.Errorf("%s %s: %v", g.name, gc.name, err)
			}
			templated += n
		}
	}
	t.Logf("%d golden statements served from a template", templated)
	if templated < 50 {
		t.Errorf("only %d golden statements were served from a template; the shape cache is not working", templated)
	}
}

// FuzzCachedRewriteMatchesRewrite checks, on arbitrary statements, that the cache
// serves exactly what an uncached Rewrite returns for statements that differ only in
// their literals.
func FuzzCachedRewriteMatchesRewrite(f *testing.F) {
	addGoldenSeeds(f)
	f.Add(shortQuery)
	f.Fuzz(func(t *testing.T, sql string) {
		p, cat := fixture(t)
		for _, role := range []string{"support", "analyst", "researcher"} {
			if _, err := checkShapeReuse(NewCache(10), sql, ctx(role), p, cat); err != nil {
				t.Fatalf("%s: %v\n%s", role, err, sql)
			}
		}
	})
}

// checkShapeReuse sends sql and two variants of it with other literals through c, and
// reports how many of them a template served and any difference from Rewrite.
func checkShapeReuse(c *Cache, sql string, cx Context, p *Policy, cat *Catalog) (int, error) {
	served := 0
	for i, v := range []string{sql, variant(sql, 1), variant(sql, 2), variant(sql, 3)} {
		hits, _ := c.Stats()
		got := c.Rewrite(v, cx, p, cat)
		if after, _ := c.Stats(); i > 0 && after > hits && v != sql {
			served++
		}
		if want := Rewrite(v, cx, p, cat); !sameResult(got, want) {
			return served, &shapeError{v, got, want}
		}
	}
	return served, nil
}

type shapeError struct {
	sql       string
	got, want Result
}

func (e *shapeError) Error() string {
	return "cached result differs for " + e.sql + "\n got " + describe(e.got) + "\nwant " + describe(e.want)
}

func describe(r Result) string {
	if r.Denial != nil {
		return "denial " + r.Denial.Code + ": " + r.Denial.Message
	}
	return r.SQL
}

func sameResult(a, b Result) bool {
	if (a.Denial == nil) != (b.Denial == nil) {
		return false
	}
	if a.Denial != nil && (a.Denial.Code != b.Denial.Code || a.Denial.Message != b.Denial.Message) {
		return false
	}
	return a.SQL == b.SQL && a.Unchanged == b.Unchanged && a.Before == b.Before &&
		reflect.DeepEqual(a.Disclosures, b.Disclosures)
}

var placeholder = regexp.MustCompile(`\$[0-9]+`)

// variant returns sql with its integer and plain string literals replaced by others
// (seed picks which), or sql itself when it cannot be normalized.
func variant(sql string, seed int) string {
	st, ok := normalize.Normalize(sql)
	if !ok || len(st.Literals) == 0 {
		return sql
	}
	out := placeholder.ReplaceAllStringFunc(st.Text, func(ph string) string {
		n, _ := strconv.Atoi(ph[1:])
		i := n - st.ParamBase - 1
		if i < 0 || i >= len(st.Literals) {
			return ph
		}
		return otherLiteral(st.Literals[i], seed+i)
	})
	if v, ok := normalize.Normalize(out); !ok || v.Text != st.Text {
		return sql // a placeholder-like text inside a name or comment
	}
	return out
}

var literalChoices = []string{"'clinic.patients'", "'clinic.claims'", "'x'", "'2020-02-29'", "''", "'pgmask_canary'", "'ssn'", "'off'"}

func otherLiteral(lit string, seed int) string {
	switch {
	case strings.Trim(lit, "0123456789") == "":
		return strconv.Itoa(seed*7919%100000 + 1)
	case strings.HasPrefix(lit, "'") && !strings.Contains(lit[1:len(lit)-1], "'"):
		return literalChoices[seed%len(literalChoices)]
	}
	return lit
}
