package reid

import (
	"maps"
	"testing"
)

func TestUnchangedSkipsOnlyWhenEpochAndFingerprintAreKnownAndTheSame(t *testing.T) {
	patients := subject{"clinic.patients", "id"}
	last := counters{epoch: "E", tables: map[subject]string{patients: "16384:16384:1:20:-1:120"}}
	for _, c := range []struct {
		name string
		last counters
		now  counters
		s    subject
		want bool
	}{
		{"nothing written since the last top-up", last,
			counters{epoch: "E", tables: map[subject]string{patients: "16384:16384:1:20:-1:120"}}, patients, true},
		{"rows inserted or updated", last,
			counters{epoch: "E", tables: map[subject]string{patients: "16384:16384:1:20:-1:121"}}, patients, false},
		{"the counters went down without a new epoch", last,
			counters{epoch: "E", tables: map[subject]string{patients: "16384:16384:1:20:-1:0"}}, patients, false},
		{"a reset, crash, restart or deleted code (another epoch)", last,
			counters{epoch: "F", tables: map[subject]string{patients: "16384:16384:1:20:-1:120"}}, patients, false},
		{"counters that cannot be trusted (no epoch)", counters{tables: last.tables},
			counters{tables: map[subject]string{patients: "16384:16384:1:20:-1:120"}}, patients, false},
		{"a table that may not be skipped (no fingerprint)", counters{epoch: "E", tables: map[subject]string{patients: ""}},
			counters{epoch: "E", tables: map[subject]string{patients: ""}}, patients, false},
		{"a table never topped up by this process", counters{},
			counters{epoch: "E", tables: map[subject]string{patients: "16384:16384:1:20:-1:120"}}, patients, false},
		{"another subject key for the same table", last,
			counters{epoch: "E", tables: map[subject]string{{"clinic.patients", "mrn"}: "16384:16384:1:20:-1:120"}},
			subject{"clinic.patients", "mrn"}, false},
		{"counters that could not be read", last, counters{}, patients, false},
	} {
		if got := unchanged(c.last, c.now, c.s); got != c.want {
			t.Errorf("%s: unchanged = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAfterRemembersOnlyTheTablesToppedUpOrSkipped(t *testing.T) {
	a, b, c := subject{"s.a", "id"}, subject{"s.b", "id"}, subject{"s.c", "id"}
	now := counters{epoch: "E", tables: map[subject]string{a: "1", b: "2", c: ""}}
	// b failed, c may never be skipped: only a is remembered.
	got := now.after([]subject{a, c})
	if got.epoch != "E" || !maps.Equal(got.tables, map[subject]string{a: "1"}) {
		t.Errorf("after = %+v, want epoch E and only s.a", got)
	}
	if unchanged(got, now, b) || unchanged(got, now, c) || !unchanged(got, now, a) {
		t.Error("the next run would skip a table whose top-up failed or that may never be skipped")
	}
	// Without an epoch, nothing is remembered.
	if got := (counters{tables: now.tables}).after([]subject{a, b}); len(got.tables) != 0 {
		t.Errorf("after without an epoch = %+v, want nothing remembered", got)
	}
}

func TestMemoryStartsEmptyAndKeepsWhatWasStored(t *testing.T) {
	var m Memory
	a := subject{"s.a", "id"}
	now := counters{epoch: "E", tables: map[subject]string{a: "1"}}
	if unchanged(m.load(), now, a) {
		t.Error("a new Memory skips a table")
	}
	m.store(now.after([]subject{a}))
	if !unchanged(m.load(), now, a) {
		t.Error("a stored table is not skipped when nothing changed")
	}
}
