package audit

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// discardSink stores nothing: the benchmarks measure pgmask's side of the log.
type discardSink struct{}

func (discardSink) Write(context.Context, []Record) error { return nil }
func (discardSink) Close() error                          { return nil }

// benchLogger is a Logger on a sink that stores nothing.
func benchLogger(b *testing.B) *Logger {
	b.Helper()
	cfg := testConfig()
	cfg.QueueLimit = 1 << 20
	l, err := NewLogger(context.Background(), cfg, Options{Sink: discardSink{}, Key: []byte("0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

var benchQuery = Query{SQL: Normalize("SELECT first_name, ssn FROM clinic.patients WHERE id = 42"), Kind: "SELECT",
	Access: []Access{{"clinic.patients", "first_name", TreatmentRaw}, {"clinic.patients", "ssn", "masked:last4"}}}

// BenchmarkLog is what a session pays per statement: building the record and
// queueing it. The writer's share is BenchmarkSeal; the queue is drained (untimed)
// every 1024 records, so that the benchmark measures Log and not a growing backlog.
func BenchmarkLog(b *testing.B) {
	l := benchLogger(b)
	defer l.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := l.Log(Statement(session, benchQuery, Rewritten, Outcome{Rows: CountRows(1), Duration: time.Millisecond})); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 1023 {
			b.StopTimer()
			for l.Stats().Lag > 0 {
				runtime.Gosched()
			}
			b.StartTimer()
		}
	}
}

// BenchmarkLogEndToEnd is the whole pipeline per record: Log, seal and write (to a
// sink that stores nothing), waiting for the writer every 1024 records so that the
// queue stays bounded. Run it with -cpu 1 to read its ns/op as the CPU time per
// record.
func BenchmarkLogEndToEnd(b *testing.B) {
	l := benchLogger(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := l.Log(Statement(session, benchQuery, Rewritten, Outcome{Rows: CountRows(1), Duration: time.Millisecond})); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 1023 {
			for l.Stats().Lag > 0 {
				runtime.Gosched()
			}
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSeal is the writer's cost per record: JSON encoding and the HMAC, into the
// batch's reused buffer as the writer seals.
func BenchmarkSeal(b *testing.B) {
	c, err := newChain([]byte("0123456789abcdef"), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	r := stmt(1)
	r.Time = time.Now()
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%256 == 0 {
			buf = buf[:0]
		}
		rec := r
		buf = c.sealTo(buf, &rec)
	}
}

// BenchmarkNormalize is the cost of the audit form of a short statement; sessions
// can cache it per prepared statement.
func BenchmarkNormalize(b *testing.B) {
	sql := "SELECT p.first_name, p.ssn, p.dob FROM clinic.patients p WHERE p.id = 42 AND p.last_name = 'Doe'"
	b.ReportAllocs()
	for b.Loop() {
		Normalize(sql)
	}
}
