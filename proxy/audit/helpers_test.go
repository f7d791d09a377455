package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef-test-key")

// clock is a settable clock for the Logger.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memSink keeps the lines it was given; fail makes writes fail; batches records
// the size of every successful write.
type memSink struct {
	mu      sync.Mutex
	lines   [][]byte
	batches []int
	fail    error
	block   chan struct{} // when not nil, Write waits for it
	closed  bool
}

func (s *memSink) Write(ctx context.Context, recs []Record) error {
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for i := range recs {
		s.lines = append(s.lines, bytes.Clone(recs[i].Line()))
	}
	s.batches = append(s.batches, len(recs))
	return nil
}

func (s *memSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *memSink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *memSink) text() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.lines, nil)
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

var errSinkDown = errors.New("sink down")

// testConfig is a valid Config with fast timings for tests.
func testConfig() Config {
	return Config{
		Sink:          SinkFile,
		KeyEnv:        "UNUSED_IN_TESTS",
		FlushInterval: 5 * time.Millisecond,
		RetryMin:      2 * time.Millisecond,
		RetryMax:      10 * time.Millisecond,
		CloseTimeout:  time.Second,
	}
}

// newTestLogger starts a Logger on sink with testKey and clk.
func newTestLogger(t *testing.T, cfg Config, sink Sink, clk *clock) *Logger {
	t.Helper()
	l, err := NewLogger(context.Background(), cfg, Options{Sink: sink, Key: bytes.Clone(testKey), Now: clk.Now})
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	return l
}

// session is the identity used by test records.
var session = Session{
	ID: "s-1", User: "alice", Role: "support", Client: "10.0.0.7:50123",
	ApplicationName: "psql", Database: "clinic",
}

// stmt returns a statement record touching the SSN column masked.
func stmt(i int) Record {
	q := Query{
		SQL:    Normalize("SELECT first_name, ssn FROM clinic.patients WHERE id = " + string(rune('0'+i%10))),
		Kind:   "SELECT",
		Access: []Access{{"clinic.patients", "first_name", TreatmentRaw}, {"clinic.patients", "ssn", "masked:last4"}},
	}
	return Statement(session, q, Rewritten, Outcome{Rows: CountRows(1), Duration: 1500 * time.Microsecond})
}

// eventually polls cond for up to two seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// verifyText verifies lines as one file.
func verifyText(text []byte, opts VerifyOptions) (Summary, error) {
	return Verify(testKey, []Input{{Name: "audit.jsonl", R: bytes.NewReader(text)}}, opts)
}

func jsonUnmarshal(line []byte, r *Record) error { return json.Unmarshal(line, r) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
