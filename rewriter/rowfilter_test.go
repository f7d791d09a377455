package rewriter

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pgmask/pgmask/config"
)

func TestRowFilteredColumnsAreGuardedAndTheFilterStays(t *testing.T) {
	r := rewriteAs(t, "support", "SELECT * FROM clinic.notes")
	if r.Denial != nil {
		t.Fatal(r.Denial)
	}
	tree, err := pg_query.Parse(r.SQL)
	if err != nil {
		t.Fatal(err)
	}
	inner := tree.Stmts[0].Stmt.GetSelectStmt().FromClause[0].GetRangeSubselect().Subquery.GetSelectStmt()
	if len(inner.TargetList) != 5 {
		t.Fatalf("projected %d columns, want 5 (written_at is an excluded event date)", len(inner.TargetList))
	}
	for _, n := range inner.TargetList {
		rt := n.GetResTarget()
		c := rt.Val.GetCaseExpr()
		if c == nil || c.Defresult != nil || len(c.Args) != 1 ||
			deparseExpr(c.Args[0].GetCaseWhen().Expr) != "note_type <> 'psychotherapy'" {
			t.Errorf("column %s is not CASE WHEN <filter> THEN ... END: %s", rt.Name, deparseExpr(rt.Val))
		}
	}
	if deparseExpr(inner.WhereClause) != "note_type <> 'psychotherapy'" {
		t.Errorf("WHERE = %s, want the filter", deparseExpr(inner.WhereClause))
	}
}

func TestPointLookupsOnRawColumnsArePushedIntoTheFilteredDerivedTable(t *testing.T) {
	for _, tc := range []struct{ sql, pushed string }{
		{"SELECT 1 FROM clinic.notes n WHERE n.id = 100", "(id = 100)"},
		{"SELECT 1 FROM clinic.notes WHERE id = $1 AND patient_id IN (1, 2)", "(id = $1 AND patient_id IN (1, 2))"},
		{"SELECT 1 FROM clinic.notes n WHERE 7 = n.encounter_id", "(7 = encounter_id)"},
		{"SELECT 1 FROM clinic.notes n WHERE n.note_type = 'progress'::text", "(note_type = 'progress'::text)"},
		{"SELECT 1 FROM clinic.notes n WHERE n.id = 1 OR n.id = 2", ""},
		{"SELECT 1 FROM clinic.notes n WHERE n.body = 'x'", ""},
		{"SELECT 1 FROM clinic.notes n WHERE n.id > 1", ""},
		{"SELECT 1 FROM clinic.notes n WHERE n.id = NULL", ""},
		{"SELECT 1 FROM clinic.notes n, clinic.encounters e WHERE patient_id = 1", ""},
		{"SELECT 1 FROM clinic.notes n WHERE n.id = n.patient_id", ""},
		{"SELECT 1 FROM clinic.notes n WHERE n.id = (SELECT 1)", ""},
	} {
		r := rewriteAs(t, "support", tc.sql)
		if r.Denial != nil {
			t.Fatalf("%s: %s", tc.sql, r.Denial.Message)
		}
		want := "WHERE (note_type <> 'psychotherapy'))"
		if tc.pushed != "" {
			want = "WHERE (note_type <> 'psychotherapy') AND " + tc.pushed + ")"
		}
		if !strings.Contains(r.SQL, want) {
			t.Errorf("%s:\n got %s\nwant it to contain %s", tc.sql, r.SQL, want)
		}
	}
}

func TestRowFiltersMustBePlainExpressionsOverTheirTable(t *testing.T) {
	for _, tc := range []struct{ filter, err string }{
		{"note_type <> 'psychotherapy'", ""},
		{"notes.note_type IS NOT NULL AND clinic.notes.id > 0", ""},
		{"lower(note_type) = 'x' AND pg_catalog.length(body) < 1000", ""},
		{"true) OR (true", ""},
		{"patient_id IN (SELECT id FROM clinic.patients)", "subqueries"},
		{"public.get_ssn(patient_id) IS NULL", "built-in functions"},
		{"p.id = 1", "not a column"},
		{"id = $1", "parameters"},
		{"count(*) > 0", "aggregate"},
		{"true; DROP TABLE clinic.notes", "does not parse"},
		{"true) GROUP BY (1", "one SQL boolean expression"},
		{"true -- a comment ends at the line pgmask adds", ""},
		{"true) UNION SELECT 1 FROM clinic.patients WHERE (true", "one SQL boolean expression"},
	} {
		f, err := compileRowFilter("clinic.notes", tc.filter)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.filter, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error about %s", tc.filter, err, tc.err)
		case err == nil && strings.Contains(f.text, "notes."):
			t.Errorf("%q: column references not made bare: %s", tc.filter, f.text)
		}
	}
}

// liveDB returns a connection to PGMASK_REWRITER_DSN (see golden_test.go), or skips.
func liveDB(t *testing.T) *pgconn.PgConn {
	c := liveConn(t)
	if c == nil {
		t.Skip("set PGMASK_REWRITER_DSN to run against PostgreSQL")
	}
	return c
}

// costlyFilter hides psychotherapy notes at a cost (to_tsvector) that makes the
// planner run cheaper user predicates first.
const costlyFilter = "NOT (to_tsvector('english', note_type) @@ to_tsquery('english', 'psychotherapy'))"

// TestLeakyPredicatesCannotSeeFilteredRowsOnPostgreSQL reproduces DESIGN §3: with a
// costly row filter, PostgreSQL 15 evaluates a cheap leaky user predicate first. The
// guarded projection must keep the canary out of the error message, while the naive
// derived table (filter in WHERE only) leaks it.
func TestLeakyPredicatesCannotSeeFilteredRowsOnPostgreSQL(t *testing.T) {
	conn := liveDB(t)
	cfg := &config.Config{Tables: fixturePol.cfg.Tables, Roles: map[string]config.Role{"support": {
		Profile: "minimum_necessary", Tables: []string{"clinic.notes"},
		Transforms: map[string]string{"free_text": "keep"},
		Rows:       map[string]string{"clinic.notes": costlyFilter},
	}}}
	p, err := CompileWithKey(cfg, 2, testKey)
	if err != nil {
		t.Fatal(err)
	}
	_, cat := fixture(t)
	r := Rewrite("SELECT id FROM clinic.notes WHERE body::int > 0", ctx("support"), p, cat)
	if r.Denial != nil {
		t.Fatal(r.Denial)
	}
	naive := "SELECT id FROM (SELECT id, body FROM ONLY clinic.notes WHERE " + costlyFilter + ") n WHERE body::int > 0"
	run := func(sql string) error {
		_, err := conn.Exec(context.Background(), sql).ReadAll()
		return err
	}
	if err := run(naive); err == nil || !strings.Contains(err.Error(), "CANARY") {
		t.Errorf("the naive derived table did not leak (%v): the test no longer shows the danger", err)
	}
	if err := run(r.SQL); err != nil && strings.Contains(err.Error(), "CANARY") {
		t.Fatalf("the rewritten query leaked a filtered row: %v\n%s", err, r.SQL)
	}
}

// TestPointLookupsUseTheIndexOnPostgreSQL checks with EXPLAIN that push-down gives the
// planner an indexable condition on the raw key.
func TestPointLookupsUseTheIndexOnPostgreSQL(t *testing.T) {
	conn := liveDB(t)
	r := rewriteAs(t, "support", "SELECT body FROM clinic.notes n WHERE n.id = 100")
	res, err := conn.Exec(context.Background(), "SET enable_seqscan = off; EXPLAIN "+r.SQL+"; RESET enable_seqscan").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for _, row := range res[1].Rows {
		plan.Write(row[0])
		plan.WriteByte('\n')
	}
	if !strings.Contains(plan.String(), "Index Cond: (id = 100)") {
		t.Errorf("no index condition on id:\n%s", plan.String())
	}
}
