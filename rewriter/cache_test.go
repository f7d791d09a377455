package rewriter

import (
	"testing"
	"time"
)

func TestCacheServesTheSameResultAndKeysOnEverythingThatMatters(t *testing.T) {
	p, cat := fixture(t)
	c := NewCache(100)
	cx := ctx("support")
	a := c.Rewrite("SELECT id FROM clinic.patients", cx, p, cat)
	b := c.Rewrite("SELECT id FROM clinic.patients", cx, p, cat)
	if a.SQL != b.SQL || c.Len() != 1 {
		t.Fatalf("second lookup missed: %d entries", c.Len())
	}
	variants := []Context{cx, cx, cx, cx}
	variants[0].Role = "analyst"
	variants[1].SearchPath = "public, clinic"
	variants[2].Now = cx.Now.Add(48 * time.Hour)
	variants[3].User = "clinic"
	for _, v := range variants {
		c.Rewrite("SELECT id FROM clinic.patients", v, p, cat)
	}
	if c.Len() != 5 {
		t.Errorf("%d entries, want 5 (one per distinct context)", c.Len())
	}
	cat2 := *cat
	cat2.Version++
	c.Rewrite("SELECT id FROM clinic.patients", cx, p, &cat2)
	if c.Len() != 6 {
		t.Errorf("a new catalog version reused a cached rewrite")
	}
}

func TestCacheIsBypassedForFullRoles(t *testing.T) {
	p, cat := fixture(t)
	c := NewCache(10)
	if r := c.Rewrite("SELECT 1", ctx("clinician"), p, cat); !r.Unchanged || c.Len() != 0 {
		t.Errorf("full role went through the cache: %+v", r)
	}
}

func TestCacheCountsHitsAndMissesButNotFullRoles(t *testing.T) {
	p, cat := fixture(t)
	c := NewCache(10)
	for range 3 {
		c.Rewrite("SELECT id FROM clinic.patients", ctx("support"), p, cat)
	}
	c.Rewrite("SELECT 1", ctx("clinician"), p, cat)
	if hits, misses := c.Stats(); hits != 2 || misses != 1 {
		t.Errorf("Stats() = %d hits, %d misses; want 2, 1", hits, misses)
	}
}
