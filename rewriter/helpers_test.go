package rewriter

import (
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pgmask/pgmask/config"
)

// testKey is the master key of the test policy, so keyed transforms are stable.
var testKey = []byte("pgmask test master key, not secret")

// testNow is the statement time of every test, so age_top90 is stable.
var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var (
	fixtureOnce sync.Once
	fixtureCat  *Catalog
	fixturePol  *Policy
	fixtureErr  error
)

// fixtureCatalog builds a catalog from the fixture's CatalogData as edit changes it,
// for tests that need the snapshot a different database or loader would give.
func fixtureCatalog(t *testing.T, edit func(*CatalogData)) *Catalog {
	t.Helper()
	b, err := os.ReadFile("testdata/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	var d CatalogData
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	edit(&d)
	cat, err := NewCatalog(2, d)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// fixture returns the catalog of testdata/schema.sql and the policy of
// testdata/pgmask.toml.
func fixture(t testing.TB) (*Policy, *Catalog) {
	t.Helper()
	fixtureOnce.Do(func() {
		b, err := os.ReadFile("testdata/catalog.json")
		if err != nil {
			fixtureErr = err
			return
		}
		if fixtureCat, fixtureErr = CatalogFromJSON(1, b); fixtureErr != nil {
			return
		}
		cfg, err := config.Load("testdata/pgmask.toml")
		if err != nil {
			fixtureErr = err
			return
		}
		fixturePol, fixtureErr = CompileWithKey(cfg, 1, testKey)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixturePol, fixtureCat
}

// ctx is the context of a test statement.
func ctx(role string) Context {
	return Context{Role: role, SearchPath: testSearchPath, User: "pgmask", Database: "clinic", Now: testNow}
}

// rewrite rewrites sql for role in the fixture.
func rewriteAs(t testing.TB, role, sql string) Result {
	t.Helper()
	p, cat := fixture(t)
	return Rewrite(sql, ctx(role), p, cat)
}
