package rewriter

import (
	"slices"
	"testing"
)

func TestObserveListsWhatAFullRoleReadsAllRaw(t *testing.T) {
	p, cat := fixture(t)
	c := ctx("support")
	c.SearchPath = testSearchPath
	ds, ok := Observe("SELECT p.ssn FROM clinic.patients p JOIN clinic.notes n ON n.patient_id = p.id WHERE p.id = 31", c, p, cat)
	if !ok {
		t.Fatal("Observe could not tell what a plain SELECT of classified tables reads")
	}
	var ssn, body bool
	for _, d := range ds {
		if d.Treatment != Raw {
			t.Errorf("a full role's disclosure is %s: %+v", d.Treatment, d)
		}
		ssn = ssn || d.Relation == "clinic.patients" && d.Column == "ssn"
		body = body || d.Relation == "clinic.notes" && d.Column == "body"
	}
	if !ssn || !body {
		t.Errorf("disclosures %v lack clinic.patients.ssn or clinic.notes.body", ds)
	}
}

func TestObserveSaysWhenItCannotTell(t *testing.T) {
	p, cat := fixture(t)
	c := ctx("support")
	c.SearchPath = testSearchPath
	for _, sql := range []string{
		"CREATE TABLE scratch (a int)",
		"EXPLAIN SELECT * FROM clinic.patients",
		"SELECT 1; SELECT * FROM no_such_table",
		"SELEC garbage",
	} {
		if ds, ok := Observe(sql, c, p, cat); ok {
			t.Errorf("Observe(%q) = %v, true; want false", sql, ds)
		}
	}
}

func TestTheCacheKeepsObservationsApartFromRewrites(t *testing.T) {
	p, cat := fixture(t)
	c := ctx("support")
	c.SearchPath = testSearchPath
	cache := NewCache(16)
	sql := "SELECT ssn FROM clinic.patients WHERE id = 1"
	masked := cache.Rewrite(sql, c, p, cat)
	ds, ok := cache.Observe(sql, c, p, cat)
	again, _ := cache.Observe(sql, c, p, cat)
	if !ok || len(ds) == 0 || &ds[0] != &again[0] {
		t.Fatalf("Observe through the cache: %v, %t; want one shared, cached list", ds, ok)
	}
	if slices.Equal(ds, masked.Disclosures) {
		t.Error("the observation equals support's masked disclosures: the cache mixed them up")
	}
	if hits, misses := cache.Stats(); hits != 0 || misses != 1 {
		t.Errorf("Stats() = %d hits, %d misses; observations must not count, the one rewrite must", hits, misses)
	}
}

func TestObservationsOfStatementsThatDifferOnlyInLiteralsShareOneEntry(t *testing.T) {
	p, cat := fixture(t)
	cache := NewCache(16)
	first, ok := cache.Observe("SELECT ssn FROM clinic.patients WHERE id = 1", ctx("clinician"), p, cat)
	second, ok2 := cache.Observe("SELECT ssn FROM clinic.patients WHERE id = 2", ctx("clinician"), p, cat)
	if !ok || !ok2 || len(first) == 0 || &first[0] != &second[0] || cache.Len() != 1 {
		t.Fatalf("two observations of one shape: %v %t, %v %t, %d entries; want one shared entry", first, ok, second, ok2, cache.Len())
	}
	// A statement whose analysis reads a literal is observed on its own.
	for _, sql := range []string{"SELECT 'clinic.patients'::regclass", "SELECT 'clinic.notes'::regclass"} {
		cache.Observe(sql, ctx("clinician"), p, cat)
	}
	if cache.Len() != 3 {
		t.Errorf("%d entries after two regclass literals, want 3 (one per text)", cache.Len())
	}
}
