package audit

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openFileLogger starts a Logger on a file sink at dir/audit.jsonl.
func openFileLogger(t *testing.T, dir string, clk *clock, tune func(*Config)) *Logger {
	t.Helper()
	cfg := testConfig()
	cfg.Path = filepath.Join(dir, "audit.jsonl")
	if tune != nil {
		tune(&cfg)
	}
	l, err := NewLogger(context.Background(), cfg, Options{Key: bytes.Clone(testKey), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func auditFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "audit*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// firstRecord reads the first record of a file.
func firstRecord(t *testing.T, path string) Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := jsonUnmarshal(line, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFileSinkRotatesBySizeAndEveryFileStartsWithACheckpoint(t *testing.T) {
	dir := t.TempDir()
	l := openFileLogger(t, dir, newClock(), func(c *Config) { c.MaxBytes = 4096; c.BatchSize = 5 })
	for i := range 100 {
		l.Log(stmt(i))
		if i%5 == 4 {
			eventually(t, "the batch is written", func() bool { return l.Stats().Lag == 0 })
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := auditFiles(t, dir)
	if len(files) < 5 {
		t.Fatalf("%d files after 100 records of ~500 bytes with max_bytes 4096", len(files))
	}
	for _, f := range files {
		info, _ := os.Stat(f)
		if info.Size() > 4096+5*1024 { // a file may exceed the limit by one batch
			t.Errorf("%s is %d bytes", f, info.Size())
		}
		if r := firstRecord(t, f); r.Kind != KindCheckpoint {
			t.Errorf("%s starts with a %s record, want a checkpoint", f, r.Kind)
		}
	}
	sum, err := VerifyFiles(testKey, files, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// start + 100 + stop, and one checkpoint per rotation.
	if sum.Records != 102+len(files)-1 || !sum.Genesis || !sum.Stopped {
		t.Errorf("summary = %+v for %d files", sum, len(files))
	}
}

func TestFileSinkRotatesByAge(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openFileLogger(t, dir, clk, func(c *Config) { c.MaxAge = time.Hour; c.RotateKeyInterval = 24 * time.Hour })
	l.Log(stmt(1))
	eventually(t, "the record is written", func() bool { return l.Stats().Lag == 0 })
	clk.Add(time.Hour)
	l.Log(stmt(2))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := auditFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("files = %v, want 2", files)
	}
	if _, err := VerifyFiles(testKey, files, VerifyOptions{}); err != nil {
		t.Error(err)
	}
}

func TestARestartedLoggerContinuesTheChainInANewFile(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	for run := range 2 {
		l := openFileLogger(t, dir, clk, nil)
		for i := range 5 {
			l.Log(stmt(run*10 + i))
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
	}
	files := auditFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("files = %v, want the first run's file rotated and a new one", files)
	}
	sum, err := VerifyFiles(testKey, files, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 14 || !sum.Genesis || sum.LastEpoch != 2 {
		t.Errorf("summary = %+v", sum)
	}
}

func TestALoggerResumesAfterACrashThatCutALineShort(t *testing.T) {
	dir := t.TempDir()
	lines, _ := sealLines(t, 5, 0, "crashed run")
	path := filepath.Join(dir, "audit.jsonl")
	if err := os.WriteFile(path, append(join(lines), lines[0][:30]...), 0o600); err != nil {
		t.Fatal(err)
	}
	l := openFileLogger(t, dir, newClock(), nil)
	l.Log(stmt(1))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := VerifyFiles(testKey, auditFiles(t, dir), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 8 || len(sum.Warnings) != 1 {
		t.Errorf("summary = %+v", sum)
	}
}

func TestFileSinkTailSkipsAnIncompleteLine(t *testing.T) {
	dir := t.TempDir()
	lines, _ := sealLines(t, 3, 0, "s")
	path := filepath.Join(dir, "audit.jsonl")
	os.WriteFile(path, append(join(lines), `{"time":`...), 0o600)
	s, err := NewFileSink(FileSinkOptions{Path: path, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tail, ok, err := s.Tail(context.Background())
	if err != nil || !ok || tail.Seq != 3 {
		t.Errorf("Tail = %+v, %v, %v", tail, ok, err)
	}
}

// sealedRecords seals n statement records of one chain.
func sealedRecords(t *testing.T, n int) []Record {
	t.Helper()
	c, err := newChain(bytes.Clone(testKey), nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = stmt(i)
		recs[i].Time = t0
		c.seal(&recs[i])
	}
	return recs
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAFileSinkThatDefersSyncWritesEveryBatchAndSyncsOnRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := NewFileSink(FileSinkOptions{Path: path, MaxBytes: 1 << 20, DeferSync: true})
	if err != nil {
		t.Fatal(err)
	}
	recs := sealedRecords(t, 4)
	ctx := context.Background()
	if err := s.Write(ctx, recs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, recs[2:]); err != nil {
		t.Fatal(err)
	}
	want := string(recs[0].Line()) + string(recs[1].Line()) + string(recs[2].Line()) + string(recs[3].Line())
	if got := fileText(t, path); got != want {
		t.Fatalf("after two writes the file holds\n%s", got)
	}
	if s.synced != 0 || s.size != int64(len(want)) {
		t.Errorf("synced %d of %d bytes before Sync, want 0", s.synced, s.size)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if s.synced != s.size || len(s.unsynced) != 0 {
		t.Errorf("synced %d of %d bytes after Sync (%d kept)", s.synced, s.size, len(s.unsynced))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// After a failed fsync the page cache may show bytes the disk lost: the sink cuts the
// file back to what was synced and writes the rest again, so the chain has no hole.
func TestAFileSinkWritesAgainWhatAFailedSyncMayHaveLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := NewFileSink(FileSinkOptions{Path: path, MaxBytes: 1 << 20, DeferSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := sealedRecords(t, 3)
	ctx := context.Background()
	if err := s.Write(ctx, recs[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, recs[1:2]); err != nil {
		t.Fatal(err)
	}
	// What a failed fsync leaves: the sink is told to resync, and the unsynced bytes
	// are no longer what was written.
	s.resync = true
	if err := os.Truncate(path, s.synced+10); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, recs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	want := string(recs[0].Line()) + string(recs[1].Line()) + string(recs[2].Line())
	if got := fileText(t, path); got != want {
		t.Errorf("the file holds\n%s\nwant\n%s", got, want)
	}
	if sum, err := VerifyFiles(testKey, []string{path}, VerifyOptions{}); err != nil || sum.Records != 3 {
		t.Errorf("Verify = %+v, %v", sum, err)
	}
}
