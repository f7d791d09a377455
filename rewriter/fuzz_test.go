package rewriter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRewrite checks the rewriter's promise on arbitrary statement strings, for
// several roles: the result is a denial or SQL that parses and passes checkInvariants
// (no protected relation is read except through the role's derived table; no
// unqualified name can resolve to anything but a CTE), and the rewriter never panics
// (Rewrite turns a panic into an "internal error" denial, which fails here).
func FuzzRewrite(f *testing.F) {
	addGoldenSeeds(f)
	f.Add(biQuery)
	f.Add(shortQuery)
	f.Fuzz(func(t *testing.T, sql string) {
		p, cat := fixture(t)
		for _, role := range []string{"support", "analyst", "researcher", "writer"} {
			c := ctx(role)
			c.SearchPath = testSearchPath
			r := Rewrite(sql, c, p, cat)
			if r.Denial != nil {
				if strings.Contains(r.Denial.Message, "internal error") {
					t.Fatalf("%s: %s\n%s", role, r.Denial.Message, sql)
				}
				if r.SQL != "" {
					t.Fatalf("%s: a refusal carries SQL to send: %s", role, r.SQL)
				}
				if r.Before != "" {
					if err := checkInvariants(r.Before, c, p, cat); err != nil {
						t.Fatalf("%s: before the refusal: %v\nin:  %s\nout: %s", role, err, sql, r.Before)
					}
				}
				continue
			}
			if err := checkInvariants(r.SQL, c, p, cat); err != nil {
				t.Fatalf("%s: %v\nin:  %s\nout: %s", role, err, sql, r.SQL)
			}
		}
	})
}

// addGoldenSeeds adds the statement of every golden case to f's seed corpus.
func addGoldenSeeds(f *testing.F) {
	for _, g := range goldenFiles(f) {
		for _, c := range g.cases {
			f.Add(strings.TrimSpace(c.input))
		}
	}
}

// goldenFile is one file of testdata/golden with its cases.
type goldenFile struct {
	name  string
	cases []goldenCase
}

// goldenFiles reads every file of testdata/golden.
func goldenFiles(tb testing.TB) []goldenFile {
	tb.Helper()
	files, _ := filepath.Glob("testdata/golden/*.txt")
	var out []goldenFile
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		_, cases := parseGolden(&testing.T{}, file, string(src))
		out = append(out, goldenFile{filepath.Base(file), cases})
	}
	return out
}
