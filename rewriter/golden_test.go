package rewriter

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Golden tests: testdata/golden/*.txt hold cases, each
//
//	== what the case shows
//	-- role: support
//	-- search_path: clinic, public        (optional; default testSearchPath)
//	-- live: skip | error <text>          (optional; see PGMASK_REWRITER_DSN below)
//	SELECT ...                            (the statement string, any number of lines)
//	-- out:                               (then the rewritten SQL), or
//	-- unchanged                          (forwarded as the client sent it), or
//	-- denied: SQLSTATE: message
//	-- hint: hint
//	-- reads: relation(column treatment, ...)
//
// `go test ./rewriter -update` rewrites everything from the first "-- out:",
// "-- unchanged" or "-- denied:" line of each case. Every rewritten SQL must parse again
// and pass the fuzz invariants (checkInvariants).
//
// With PGMASK_REWRITER_DSN set to a database holding testdata/schema.sql (and
// testdata/data.sql), every rewritten statement string is also run there in a
// transaction that is rolled back, and must succeed: the generated SQL is valid for a
// real PostgreSQL, not only for the parser.
var update = flag.Bool("update", false, "rewrite the golden files")

const testSearchPath = `"$user", clinic, public`

type goldenCase struct {
	name, role, searchPath, live string
	input                        string
	want                         string // everything from the first result line
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	live := liveConn(t)
	total := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		head, cases := parseGolden(t, file, string(src))
		var out strings.Builder
		out.WriteString(head)
		for _, c := range cases {
			total++
			got, res := runGolden(t, c)
			if !*update && got != c.want {
				t.Errorf("%s: %s:\n--- got\n%s--- want\n%s", file, c.name, got, c.want)
			}
			if res.Denial == nil && !res.Unchanged {
				if _, err := pg_query.Parse(res.SQL); err != nil {
					t.Errorf("%s: %s: output does not parse: %v", file, c.name, err)
				}
				p, cat := fixture(t)
				if err := checkInvariants(res.SQL, c.context(), p, cat); err != nil {
					t.Errorf("%s: %s: %v", file, c.name, err)
				}
			}
			if live != nil && res.Denial == nil {
				runLive(t, live, file, c, res)
			}
			fmt.Fprintf(&out, "== %s\n-- role: %s\n", c.name, c.role)
			if c.searchPath != "" {
				fmt.Fprintf(&out, "-- search_path: %s\n", c.searchPath)
			}
			if c.live != "" {
				fmt.Fprintf(&out, "-- live: %s\n", c.live)
			}
			out.WriteString(c.input)
			out.WriteString(got)
			out.WriteString("\n")
		}
		if *update {
			if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d golden cases", total)
	if total < 150 {
		t.Errorf("only %d golden cases; the rewriter promises at least 150", total)
	}
}

func (c goldenCase) context() Context {
	ctx := ctx(c.role)
	ctx.SearchPath = testSearchPath
	if c.searchPath != "" {
		ctx.SearchPath = c.searchPath
	}
	if c.searchPath == "''" {
		ctx.SearchPath = ""
	}
	return ctx
}

func parseGolden(t *testing.T, file, src string) (string, []goldenCase) {
	parts := strings.Split(src, "\n== ")
	head := ""
	if !strings.HasPrefix(src, "== ") {
		head, parts = parts[0]+"\n", parts[1:]
	} else {
		parts[0] = strings.TrimPrefix(parts[0], "== ")
	}
	var cases []goldenCase
	for _, p := range parts {
		lines := strings.Split(strings.TrimRight(p, "\n"), "\n")
		c := goldenCase{name: lines[0]}
		i := 1
		for ; i < len(lines); i++ {
			l := lines[i]
			if v, ok := strings.CutPrefix(l, "-- role: "); ok {
				c.role = v
			} else if v, ok := strings.CutPrefix(l, "-- search_path: "); ok {
				c.searchPath = v
			} else if v, ok := strings.CutPrefix(l, "-- live: "); ok {
				c.live = v
			} else {
				break
			}
		}
		var in, want []string
		for ; i < len(lines); i++ {
			l := lines[i]
			if strings.HasPrefix(l, "-- out:") || strings.HasPrefix(l, "-- unchanged") || strings.HasPrefix(l, "-- denied:") {
				want = lines[i:]
				break
			}
			in = append(in, l)
		}
		if c.role == "" || len(in) == 0 {
			t.Fatalf("%s: case %q needs a role and a statement", file, c.name)
		}
		c.input = strings.Join(in, "\n") + "\n"
		if len(want) > 0 {
			c.want = strings.Join(want, "\n") + "\n"
		}
		cases = append(cases, c)
	}
	return head, cases
}

// runGolden rewrites one case and formats the result as the golden file shows it.
func runGolden(t *testing.T, c goldenCase) (string, Result) {
	p, cat := fixture(t)
	res := Rewrite(strings.TrimSpace(c.input), c.context(), p, cat)
	var b strings.Builder
	switch {
	case res.Denial != nil:
		if res.Before != "" {
			b.WriteString("-- before:\n" + res.Before + "\n")
		}
		fmt.Fprintf(&b, "-- denied: %s: %s\n", res.Denial.Code, res.Denial.Message)
		if res.Denial.Hint != "" {
			fmt.Fprintf(&b, "-- hint: %s\n", res.Denial.Hint)
		}
	case res.Unchanged:
		b.WriteString("-- unchanged\n")
	default:
		b.WriteString("-- out:\n" + res.SQL + "\n")
	}
	b.WriteString(formatDisclosures(res.Disclosures))
	return b.String(), res
}

// formatDisclosures prints one "-- reads:" line per relation.
func formatDisclosures(ds []Disclosure) string {
	byRel := map[string][]string{}
	var rels []string
	for _, d := range ds {
		if _, ok := byRel[d.Relation]; !ok {
			rels = append(rels, d.Relation)
		}
		if d.Column == "" {
			byRel[d.Relation] = append(byRel[d.Relation], string(d.Treatment))
		} else {
			byRel[d.Relation] = append(byRel[d.Relation], d.Column+" "+string(d.Treatment))
		}
	}
	sort.Strings(rels)
	var b strings.Builder
	for _, r := range rels {
		fmt.Fprintf(&b, "-- reads: %s(%s)\n", r, strings.Join(byRel[r], ", "))
	}
	return b.String()
}

// liveConn connects to PGMASK_REWRITER_DSN, if set.
func liveConn(t *testing.T) *pgconn.PgConn {
	dsn := os.Getenv("PGMASK_REWRITER_DSN")
	if dsn == "" {
		return nil
	}
	c, err := pgconn.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("PGMASK_REWRITER_DSN: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// runLive runs a rewritten statement string in a transaction that is rolled back.
func runLive(t *testing.T, conn *pgconn.PgConn, file string, c goldenCase, res Result) {
	if c.live == "skip" {
		return
	}
	sql := res.SQL
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	setup := "SET search_path = " + c.context().SearchPath
	if c.context().SearchPath == "" {
		setup = "SET search_path = ''"
	}
	_, err := conn.Exec(ctx, "BEGIN; "+setup+"; SAVEPOINT s").ReadAll()
	if err == nil {
		_, err = conn.Exec(ctx, sql).ReadAll()
	}
	if _, rerr := conn.Exec(ctx, "ROLLBACK").ReadAll(); rerr != nil {
		t.Fatalf("rollback: %v", rerr)
	}
	want, _ := strings.CutPrefix(c.live, "error ")
	switch {
	case err != nil && (c.live == "" || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %s: PostgreSQL refused the rewritten SQL: %v\n%s", file, c.name, err, sql)
	case err == nil && strings.HasPrefix(c.live, "error "):
		t.Errorf("%s: %s: PostgreSQL accepted the rewritten SQL, want an error containing %q", file, c.name, want)
	}
}
