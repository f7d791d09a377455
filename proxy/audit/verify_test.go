package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// sealLines builds a chain of n records, statements and, every `every` records (0:
// never), a checkpoint that ends the key epoch; it returns the lines (record seq i on
// line i) and the chain as it ends.
func sealLines(t *testing.T, n, every int, salt string) ([][]byte, *chain) {
	t.Helper()
	c, err := newChain(bytes.Clone(testKey), nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i := 1; i <= n; i++ {
		r := stmt(i)
		if every > 0 && i%every == 0 {
			r = c.endEpoch(checkpointRotate, t0)
			lines = append(lines, r.Line())
			continue
		}
		r.Session = salt
		r.Time = t0.Add(time.Duration(i) * time.Second)
		c.seal(&r)
		lines = append(lines, r.Line())
	}
	return lines, c
}

func join(lines [][]byte) []byte { return bytes.Join(lines, nil) }

func TestVerifyAcceptsAnUntouchedChain(t *testing.T) {
	lines, _ := sealLines(t, 30, 7, "s")
	sum, err := verifyText(join(lines), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 30 || sum.FirstSeq != 1 || sum.LastSeq != 30 || !sum.Genesis || sum.LastEpoch != 4 || sum.Stopped {
		t.Errorf("summary = %+v", sum)
	}
}

func TestVerifyFindsTheFirstTamperedRecord(t *testing.T) {
	other, _ := sealLines(t, 10, 0, "another run")
	tests := []struct {
		name    string
		tamper  func([][]byte) [][]byte
		problem Problem
		line    int
		seq     uint64
	}{
		{"edited", func(l [][]byte) [][]byte {
			l[4] = bytes.Replace(l[4], []byte(`"rows":1`), []byte(`"rows":9`), 1)
			return l
		}, Edited, 5, 5},
		{"deleted", func(l [][]byte) [][]byte { return slices.Delete(l, 4, 5) }, Deleted, 5, 6},
		{"several deleted", func(l [][]byte) [][]byte { return slices.Delete(l, 4, 7) }, Deleted, 5, 8},
		{"forged insertion", func(l [][]byte) [][]byte {
			forged := bytes.Replace(l[3], []byte(`"seq":4`), []byte(`"seq":5`), 1)
			return slices.Insert(l, 4, forged)
		}, Edited, 5, 5},
		{"copy inserted", func(l [][]byte) [][]byte { return slices.Insert(l, 4, l[3]) }, Inserted, 5, 4},
		{"old record inserted", func(l [][]byte) [][]byte { return slices.Insert(l, 6, l[1]) }, Inserted, 7, 2},
		{"reordered", func(l [][]byte) [][]byte {
			l[4], l[5] = l[5], l[4]
			return l
		}, Reordered, 5, 6},
		{"spliced with another chain", func(l [][]byte) [][]byte {
			return append(l[:3:3], other[3:]...)
		}, Unlinked, 4, 4},
		{"blank line", func(l [][]byte) [][]byte { return slices.Insert(l, 2, []byte("\n")) }, Malformed, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines, _ := sealLines(t, 10, 0, "s")
			_, err := verifyText(join(tc.tamper(lines)), VerifyOptions{})
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify = %v, want a *ChainError", err)
			}
			if ce.Problem != tc.problem || ce.Line != tc.line || ce.Seq != tc.seq {
				t.Errorf("Verify = %v\nwant problem %s at line %d, seq %d", err, tc.problem, tc.line, tc.seq)
			}
		})
	}
}

// A tail cut off cleanly leaves a valid chain: only an anchor kept elsewhere proves it.
func TestTruncationIsDetectedOnlyWithAnAnchor(t *testing.T) {
	lines, _ := sealLines(t, 10, 0, "s")
	full, err := verifyText(join(lines), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := ParseAnchor("10:" + full.LastMAC)
	if err != nil {
		t.Fatal(err)
	}
	cut := join(lines[:8])
	if _, err := verifyText(cut, VerifyOptions{}); err != nil {
		t.Errorf("without an anchor a truncated chain verifies (by design), got %v", err)
	}
	_, err = verifyText(cut, VerifyOptions{Anchor: &anchor})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Problem != Truncated {
		t.Errorf("with the anchor: Verify = %v, want %s", err, Truncated)
	}
	if _, err := verifyText(join(lines), VerifyOptions{Anchor: &anchor}); err != nil {
		t.Errorf("the full chain with its anchor: %v", err)
	}
}

func TestVerifyNotesAChainThatDoesNotStartAtTheBeginning(t *testing.T) {
	lines, _ := sealLines(t, 10, 0, "s")
	sum, err := verifyText(join(lines[3:]), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Genesis || sum.FirstSeq != 4 || !strings.Contains(sum.String(), "starts at seq 4") {
		t.Errorf("summary = %+v\n%s", sum, sum)
	}
}

func TestVerifyWarnsAboutALastLineCutShortByACrash(t *testing.T) {
	lines, _ := sealLines(t, 5, 0, "s")
	text := append(join(lines), lines[0][:40]...)
	sum, err := verifyText(text, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 5 || len(sum.Warnings) != 1 {
		t.Errorf("summary = %+v", sum)
	}
}

func TestVerifyFollowsTheChainAcrossFilesInAnyOrder(t *testing.T) {
	lines, _ := sealLines(t, 30, 4, "s")
	dir := t.TempDir()
	var paths []string
	for i, part := range [][][]byte{lines[:10], lines[10:20], lines[20:]} {
		p := filepath.Join(dir, "audit-"+string(rune('a'+i))+".jsonl")
		if err := os.WriteFile(p, join(part), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	sum, err := VerifyFiles(testKey, []string{paths[2], paths[0], paths[1]}, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 30 || sum.Files != 3 {
		t.Errorf("summary = %+v", sum)
	}

	_, err = VerifyFiles(testKey, []string{paths[0], paths[2]}, VerifyOptions{})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Problem != Deleted || ce.File != paths[2] || ce.Line != 1 || !strings.Contains(ce.Detail, "11 to 20") {
		t.Errorf("without the middle file: %v", err)
	}
}

func TestOldRecordsVerifyWithOnlyTheInitialKey(t *testing.T) {
	lines, c := sealLines(t, 50, 7, "s")
	if c.epoch != 7 {
		t.Fatalf("epoch = %d, want 7", c.epoch)
	}
	sum, err := verifyText(join(lines), VerifyOptions{})
	if err != nil || sum.FirstEpoch != 0 || sum.LastEpoch != 7 {
		t.Errorf("Verify = %+v, %v", sum, err)
	}
}

// A thief of the current key who tries to re-seal the chain from some point on as
// current-epoch records is stopped at the first epoch boundary it skips.
func TestEpochsChangeOnlyAfterTheCheckpointThatEndsThem(t *testing.T) {
	lines, c := sealLines(t, 50, 7, "s")
	// Re-seal everything after line 10 (epoch 1) with the stolen key of epoch 7.
	f := &chain{epoch: 7, seq: 10}
	var tenth Record
	if err := jsonUnmarshal(lines[9], &tenth); err != nil {
		t.Fatal(err)
	}
	f.prev = tenth.MAC
	f.setKey(bytes.Clone(c.key))
	forged := slices.Clone(lines[:10])
	for i := 11; i <= 50; i++ {
		r := stmt(i)
		f.seal(&r)
		forged = append(forged, r.Line())
	}
	_, err := verifyText(join(forged), VerifyOptions{})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Problem != Forged || ce.Line != 11 {
		t.Errorf("Verify = %v, want %s at line 11", err, Forged)
	}
}

// Whoever steals the key in memory now (epoch 7) must not be able to rewrite what was
// sealed with the keys before it.
func TestTheCurrentKeyCannotForgeEarlierRecords(t *testing.T) {
	lines, c := sealLines(t, 50, 7, "s")
	stolen := bytes.Clone(c.key)

	// forge re-seals record i (0-based) with the stolen key, its rows changed,
	// claiming epoch claim and linking it to the genuine record before it.
	forge := func(i int, claim uint64) [][]byte {
		var prev Record
		if err := jsonUnmarshal(lines[i-1], &prev); err != nil {
			t.Fatal(err)
		}
		f := &chain{epoch: claim, seq: prev.Seq, prev: prev.MAC}
		f.setKey(bytes.Clone(stolen))
		var r Record
		if err := jsonUnmarshal(lines[i], &r); err != nil {
			t.Fatal(err)
		}
		r.Rows = new(int64)
		f.seal(&r)
		out := slices.Clone(lines)
		out[i] = r.Line()
		return out
	}
	for _, claim := range []uint64{1, 7} {
		_, err := verifyText(join(forge(10, claim)), VerifyOptions{})
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Line > 12 {
			t.Errorf("record 11 forged claiming epoch %d: Verify = %v, want a problem at line 11 or 12", claim, err)
		}
	}

	// Nor can it start a fake chain of its own.
	f := &chain{epoch: 7}
	f.setKey(bytes.Clone(stolen))
	r := stmt(1)
	f.seal(&r)
	if _, err := verifyText(r.Line(), VerifyOptions{}); err == nil {
		t.Error("a chain forged from seq 1 with the current key verified")
	}
}

func TestKeyRotationIsOneWayAndErasesTheOldKey(t *testing.T) {
	if got, want := epochKey(testKey, 3), nextKey(nextKey(nextKey(testKey))); !bytes.Equal(got, want) {
		t.Error("epochKey(3) differs from three rotations")
	}
	c, err := newChain(bytes.Clone(testKey), nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	old := c.key
	c.rotate(t0)
	if !bytes.Equal(old, make([]byte, len(old))) {
		t.Error("the old key is still in memory after rotation")
	}
	if bytes.Equal(c.key, testKey) {
		t.Error("rotation kept the key")
	}
}

func TestNewChainRefusesAShortKey(t *testing.T) {
	if _, err := newChain([]byte("short"), nil, t0); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}
