package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoggerWritesInBatches(t *testing.T) {
	cfg := testConfig()
	cfg.BatchSize = 50
	cfg.FlushInterval = time.Second // so that only full batches are written early
	sink := &memSink{}
	l := newTestLogger(t, cfg, sink, newClock())
	for i := range 500 {
		if err := l.Log(stmt(i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "all records are written", func() bool { return sink.count() == 501 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	batches := sink.batches
	sink.mu.Unlock()
	for _, n := range batches {
		if n > 50 {
			t.Errorf("a batch of %d records, limit 50", n)
		}
	}
	if len(batches) > 40 {
		t.Errorf("%d writes for 500 records: not batched", len(batches))
	}
	sum, err := verifyText(sink.text(), VerifyOptions{})
	if err != nil || sum.Records != 502 || !sum.Stopped {
		t.Errorf("Verify = %+v, %v", sum, err)
	}
}

func TestLoggerWritesWithinTheFlushInterval(t *testing.T) {
	sink := &memSink{}
	l := newTestLogger(t, testConfig(), sink, newClock())
	defer l.Close()
	if err := l.Log(Connect(session)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the record is written", func() bool { return sink.count() == 2 })
}

func TestLoggerFailsClosedWhileTheSinkFailsAndRecovers(t *testing.T) {
	sink := &memSink{}
	l := newTestLogger(t, testConfig(), sink, newClock())
	defer l.Close()
	if err := l.Healthy(); err != nil {
		t.Fatalf("healthy at start: %v", err)
	}

	sink.setFail(errSinkDown)
	l.Log(stmt(1))
	eventually(t, "the Logger is unhealthy", func() bool { return l.Healthy() != nil })
	if err := l.Healthy(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "sink down") {
		t.Errorf("Healthy = %v, want ErrUnavailable saying why", err)
	}
	var ue *UnavailableError
	if err := l.Healthy(); !errors.As(err, &ue) || ue.Reason() != "writing to the audit sink failed" {
		t.Errorf("Healthy = %#v, want an UnavailableError whose Reason leaves out the sink's error", err)
	}
	if err := l.Log(stmt(2)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Log while the sink fails = %v, want ErrUnavailable", err)
	}
	st := l.Stats()
	if st.Failures == 0 || !strings.Contains(st.LastError, "sink down") || st.Lag != 2 {
		t.Errorf("Stats = %+v", st)
	}

	sink.setFail(nil)
	eventually(t, "the Logger recovers", func() bool { return l.Healthy() == nil && l.Stats().Lag == 0 })
	if err := l.Log(stmt(3)); err != nil {
		t.Errorf("Log after recovery: %v", err)
	}
	eventually(t, "everything is written", func() bool { return sink.count() == 4 })
	if sum, err := verifyText(sink.text(), VerifyOptions{}); err != nil || sum.Records != 4 {
		t.Errorf("the retried batches must not break the chain: %+v, %v", sum, err)
	}
}

func TestLoggerFailsClosedWhenTooFarBehind(t *testing.T) {
	cfg := testConfig()
	cfg.QueueLimit = 10
	sink := &memSink{}
	l := newTestLogger(t, cfg, sink, newClock())
	unblock := make(chan struct{})
	sink.mu.Lock()
	sink.block = unblock
	sink.mu.Unlock()

	for i := range 10 {
		if err := l.Log(stmt(i)); err != nil {
			t.Fatalf("record %d within the limit: %v", i, err)
		}
	}
	if err := l.Log(stmt(10)); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "waiting") {
		t.Errorf("Log past the limit = %v, want ErrUnavailable", err)
	}
	var ue *UnavailableError
	if err := l.Healthy(); !errors.As(err, &ue) || ue.Reason() != "the audit log is 11 records behind (queue_limit 10)" {
		t.Errorf("Healthy past the limit = %v, want an UnavailableError saying how far behind", err)
	}
	for i := 11; i < 25; i++ {
		l.Log(stmt(i))
	}
	if st := l.Stats(); st.Dropped != 5 || st.Lag != 20 {
		t.Errorf("Stats = %+v, want 5 dropped and 20 waiting", st)
	}

	close(unblock)
	eventually(t, "the queue drains", func() bool { return l.Healthy() == nil })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if sum, err := verifyText(sink.text(), VerifyOptions{}); err != nil || sum.Records != 22 {
		t.Errorf("Verify = %+v, %v", sum, err)
	}
}

func TestLoggerEndsTheKeyEpochEveryNRecords(t *testing.T) {
	cfg := testConfig()
	cfg.RotateKeyEvery = 10
	sink := &memSink{}
	l := newTestLogger(t, cfg, sink, newClock())
	for i := range 35 {
		l.Log(stmt(i))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := verifyText(sink.text(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The start checkpoint ends epoch 0; then a checkpoint every 10 records.
	if sum.LastEpoch != 4 {
		t.Errorf("last epoch = %d, want 4\n%s", sum.LastEpoch, sink.text())
	}
}

func TestLoggerEndsTheKeyEpochOnTimeEvenWhenIdle(t *testing.T) {
	clk := newClock()
	sink := &memSink{}
	l := newTestLogger(t, testConfig(), sink, clk)
	defer l.Close()
	clk.Add(DefaultRotateKeyInterval)
	eventually(t, "a checkpoint ends the epoch", func() bool { return sink.count() == 2 })
	l.Log(stmt(1))
	eventually(t, "the record is written", func() bool { return sink.count() == 3 })
	sum, err := verifyText(sink.text(), VerifyOptions{})
	if err != nil || sum.LastEpoch != 2 {
		t.Errorf("Verify = %+v, %v; want the record in epoch 2", sum, err)
	}
}

func TestCloseReportsRecordsItCouldNotWrite(t *testing.T) {
	cfg := testConfig()
	cfg.CloseTimeout = 30 * time.Millisecond
	sink := &memSink{}
	l := newTestLogger(t, cfg, sink, newClock())
	sink.setFail(errSinkDown)
	l.Log(stmt(1))
	err := l.Close()
	if err == nil || !strings.Contains(err.Error(), "1 records could not be written") {
		t.Errorf("Close = %v", err)
	}
	if !sink.closed {
		t.Error("the sink was not closed")
	}
	if err := l.Log(stmt(2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Log after Close = %v, want ErrClosed", err)
	}
}

func TestLoggerStampsRecordsWithTheInjectedClock(t *testing.T) {
	clk := newClock()
	sink := &memSink{}
	l := newTestLogger(t, testConfig(), sink, clk)
	l.Log(Connect(session))
	l.Close()
	if !strings.Contains(string(sink.text()), `"time":"2026-03-01T09:00:00Z","seq":2`) {
		t.Errorf("records:\n%s", sink.text())
	}
}

func TestNewLoggerFailsWhenTheSinkCannotBeWritten(t *testing.T) {
	sink := &memSink{fail: errSinkDown}
	_, err := NewLogger(context.Background(), testConfig(), Options{Sink: sink, Key: []byte("0123456789abcdef")})
	if !errors.Is(err, errSinkDown) {
		t.Errorf("NewLogger = %v, want the sink's error", err)
	}
}

func TestNewLoggerZeroesTheKeyItWasGiven(t *testing.T) {
	key := []byte("0123456789abcdef0123")
	l, err := NewLogger(context.Background(), testConfig(), Options{Sink: &memSink{}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, b := range key {
		if b != 0 {
			t.Fatal("the initial key is still in the caller's slice")
		}
	}
}

// Issue 6, item 2: literals, bind values and error text never reach the log.
func TestRecordsCarryNoPHI(t *testing.T) {
	const canary = "987-65-4329"
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Path = filepath.Join(dir, "audit.jsonl")
	l, err := NewLogger(context.Background(), cfg, Options{Key: []byte("0123456789abcdef"), Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{SQL: Normalize("SELECT * FROM clinic.patients WHERE ssn = '" + canary + "' /* " + canary + " */"), Kind: "SELECT"}
	bad := Query{SQL: Normalize("SELECT * FROM clinic.patients WHERE ssn = " + canary)}
	for _, r := range []Record{
		Connect(session),
		Statement(session, q, Rewritten, Outcome{Rows: CountRows(0), SQLState: "22P02"}),
		Denial(session, bad, `syntax error at or near "'`+canary+`'"`, "42601"),
		Denial(session, bad, `syntax error at or near "`+canary+`"`, "42601"),
	} {
		if err := l.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []string{canary, "987", "4329"} {
			if strings.Contains(string(b), piece) {
				t.Errorf("%s contains %q:\n%s", f, piece, b)
			}
		}
	}
}

func TestLogIsSafeForConcurrentSessions(t *testing.T) {
	cfg := testConfig()
	cfg.BatchSize = 16
	sink := &memSink{}
	l := newTestLogger(t, cfg, sink, newClock())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				l.Log(stmt(g*1000 + i))
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if sum, err := verifyText(sink.text(), VerifyOptions{}); err != nil || sum.Records != 1602 {
		t.Errorf("Verify = %+v, %v", sum, err)
	}
}

// syncSink is a memSink whose records are durable only once synced, like the file
// sink with DeferSync.
type syncSink struct {
	memSink
	syncs    int
	syncFail error
}

func (s *syncSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.syncFail != nil {
		return s.syncFail
	}
	s.syncs++
	return nil
}

func (s *syncSink) setSyncFail(err error) {
	s.mu.Lock()
	s.syncFail = err
	s.mu.Unlock()
}

func (s *syncSink) syncCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

func TestLoggerSyncsEveryFlushIntervalAndFailsClosedWhileSyncsFail(t *testing.T) {
	sink := &syncSink{}
	l := newTestLogger(t, testConfig(), sink, newClock())
	if sink.syncCount() != 1 {
		t.Errorf("%d syncs after the start record, want 1", sink.syncCount())
	}
	l.Log(stmt(1))
	eventually(t, "the record is written and synced", func() bool { return sink.count() == 2 && sink.syncCount() >= 2 })

	sink.setSyncFail(errSinkDown)
	l.Log(stmt(2))
	eventually(t, "the Logger is unhealthy", func() bool { return l.Healthy() != nil })
	var ue *UnavailableError
	if err := l.Log(stmt(3)); !errors.As(err, &ue) || !strings.Contains(err.Error(), "sink down") || ue.Reason() != "writing to the audit sink failed" {
		t.Errorf("Log while syncs fail = %v, want an UnavailableError", err)
	}
	time.Sleep(50 * time.Millisecond) // several retries
	if st := l.Stats(); st.Lag != 1 || st.Failures < 2 {
		t.Errorf("Stats while syncs fail = %+v, want the record logged since waiting in the queue", st)
	}
	sink.setSyncFail(nil)
	eventually(t, "the Logger recovers", func() bool { return l.Healthy() == nil && l.Stats().Lag == 0 })
	synced := sink.syncCount()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if sink.syncCount() <= synced {
		t.Error("Close did not sync")
	}
	if sum, err := verifyText(sink.text(), VerifyOptions{}); err != nil || sum.Records != 5 || !sum.Stopped {
		t.Errorf("Verify = %+v, %v", sum, err)
	}
}
