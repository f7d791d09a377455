package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/rewriter"
)

// fakeAuditor keeps the records it is given.
type fakeAuditor struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (f *fakeAuditor) Log(r audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, r)
	return nil
}

func (f *fakeAuditor) Healthy() error { return nil }

// script drives a sessionAudit as the pump and relay do: frontend steps push ops
// (Sync and Query open a new cycle, as Session.cycles counts them), backend steps
// are the upstream's answers, each in the cycle ReadyForQuery has reached.
type script struct {
	a               *sessionAudit
	log             *fakeAuditor
	cycles, readies uint64
}

func newScript() *script {
	log := &fakeAuditor{}
	return &script{a: newSessionAudit(log, audit.Session{ID: "s", User: "u"}, time.Now), log: log}
}

func stmt(sql string) *auditedStatement {
	return newSessionAudit(nil, audit.Session{}, time.Now).statement(sql, rewriter.Result{Unchanged: true}, 1)
}

// Frontend steps: "Q sql", "Q!" (a Query pgmask refused), "P name sql", "P! name",
// "B portal name", "D", "E portal", "E!" (refused), "CS name", "CP name", "S".
func (s *script) front(steps ...string) {
	for _, step := range steps {
		kind, rest, _ := strings.Cut(step, " ")
		first, second, _ := strings.Cut(rest, " ")
		next := s.cycles + 1
		switch kind {
		case "Q":
			s.cycles++
			s.a.push(op{kind: opQuery, cycle: s.cycles, stmt: stmt(rest), start: time.Now()})
		case "Q!":
			s.cycles++
			s.a.push(op{kind: opQuery, cycle: s.cycles})
		case "P":
			s.a.push(op{kind: opParse, cycle: next, name: first, stmt: stmt(second)})
		case "P!":
			s.a.push(op{kind: opParse, cycle: next, name: first})
		case "B":
			s.a.push(op{kind: opBind, cycle: next, portal: first, name: second})
		case "D":
			s.a.push(op{kind: opDescribe, cycle: next})
		case "E":
			s.a.push(op{kind: opExecute, cycle: next, name: first, start: time.Now()})
		case "E!":
			s.a.push(op{kind: opExecute, cycle: next, refused: true})
		case "CS", "CP":
			s.a.push(op{kind: opClose, cycle: next, name: first, closePortal: kind == "CP"})
		case "S":
			s.cycles++
		default:
			panic("unknown frontend step " + step)
		}
	}
}

// Backend steps: "1", "2", "3", "t", "T", "n", "D", "I", "s", "C tag", "E sqlstate",
// "Z status".
func (s *script) back(steps ...string) {
	for _, step := range steps {
		typ, arg, _ := strings.Cut(step, " ")
		cycle := s.readies + 1
		switch typ {
		case "1":
			s.a.confirmed(opParse, cycle)
		case "2":
			s.a.confirmed(opBind, cycle)
		case "3":
			s.a.confirmed(opClose, cycle)
		case "t": // ParameterDescription, which the relay streams unread
		case "T", "n":
			s.a.confirmed(opDescribe, cycle)
		case "D":
			s.a.dataRow()
		case "I":
			s.a.executeEnded(false, cycle)
		case "s":
			s.a.executeEnded(true, cycle)
		case "C":
			s.a.commandComplete(append([]byte(arg), 0), cycle)
		case "E":
			s.a.failed(arg, cycle)
		case "Z":
			s.readies++
			s.a.ready(s.readies, arg[0])
		default:
			panic("unknown backend step " + step)
		}
	}
}

// summary is one line per record: SQL, rows (or -), SQLSTATE (or -).
func (s *script) summary() string {
	var lines []string
	for _, r := range s.log.recs {
		rows, state := "-", "-"
		if r.Rows != nil {
			rows = fmt.Sprint(*r.Rows)
		}
		if r.SQLState != "" {
			state = r.SQLState
		}
		sql := r.SQL
		if sql == "" {
			sql = "<" + r.StatementKind + ">"
		}
		lines = append(lines, fmt.Sprintf("%s | %s | %s", sql, rows, state))
	}
	return strings.Join(lines, "\n")
}

func TestEveryStatementIsMatchedToTheAnswerThatEndedIt(t *testing.T) {
	tests := []struct {
		name  string
		front []string
		back  []string
		want  string
	}{
		{"a simple query sums the rows of its statements",
			[]string{"Q SELECT 1; SELECT 2 FROM t"},
			[]string{"T", "D", "C SELECT 1", "T", "D", "D", "C SELECT 2", "Z I"},
			"SELECT ?; SELECT ? FROM t | 3 | -"},
		{"a simple query keeps its first error",
			[]string{"Q SELECT 1; SELECT 1/0; x"},
			[]string{"C SELECT 1", "E 22012", "Z I"},
			"SELECT ?; SELECT ?/?; x | 1 | 22012"},
		{"a refused query is not recorded again",
			[]string{"Q!", "Q SELECT 2"},
			[]string{"E 42501", "Z I", "C SELECT 1", "Z I"},
			"SELECT ? | 1 | -"},
		{"each Execute of a prepared statement is one record",
			[]string{"P s1 SELECT a FROM t WHERE b = $1", "D", "S", "B  s1", "E ", "S", "B  s1", "E ", "S"},
			[]string{"1", "t", "T", "Z I", "2", "D", "C SELECT 1", "Z I", "2", "D", "D", "C SELECT 2", "Z I"},
			"SELECT a FROM t WHERE b = $1 | 1 | -\nSELECT a FROM t WHERE b = $1 | 2 | -"},
		{"an error is charged to its Execute and the rest of the pipeline is skipped",
			[]string{"P a SELECT 1", "B  a", "E ", "P b SELECT 1/0", "B  b", "E ", "P c SELECT 3", "B  c", "E ", "S"},
			[]string{"1", "2", "D", "C SELECT 1", "1", "2", "E 22012", "Z I"},
			"SELECT ? | 1 | -\nSELECT ?/? | - | 22012"},
		{"an Execute after a failed Bind never ran and is not recorded",
			[]string{"P a SELECT 1", "B  a", "E ", "S"},
			[]string{"1", "E 08P01", "Z I"},
			""},
		{"an error at Sync is not charged to the next cycle",
			[]string{"P a SELECT 1", "B  a", "E ", "S", "P b SELECT 2", "B  b", "E ", "S"},
			[]string{"1", "2", "C INSERT 0 1", "E 23505", "Z I", "1", "2", "C SELECT 1", "Z I"},
			"SELECT ? | 1 | -\nSELECT ? | 1 | -"},
		{"a Parse PostgreSQL refused does not rename the statement",
			[]string{"P s SELECT a FROM t", "S", "P s SELECT b FROM t", "B  s", "E ", "S", "B  s", "E ", "S"},
			[]string{"1", "Z I", "E 42P05", "Z I", "2", "C SELECT 4", "Z I"},
			"SELECT a FROM t | 4 | -"},
		{"a portal that ends suspended counts the rows it relayed",
			[]string{"P  SELECT a FROM t", "B p ", "E p", "E p", "S"},
			[]string{"1", "2", "D", "D", "s", "D", "C SELECT 1", "Z I"},
			"SELECT a FROM t | 2 | -\nSELECT a FROM t | 1 | -"},
		{"an empty query has no row count",
			[]string{"P  ", "B  ", "E ", "S"},
			[]string{"1", "2", "I", "Z I"},
			"<> | - | -"},
		{"a portal pgmask did not see bound is recorded without SQL",
			[]string{"E c1", "S"},
			[]string{"D", "C FETCH 1", "Z T"},
			"<EXECUTE> | 1 | -"},
		{"a closed portal is forgotten",
			[]string{"P s SELECT 1", "B p s", "S", "CP p", "E p", "S"},
			[]string{"1", "2", "Z T", "3", "E 34000", "Z E"},
			"<EXECUTE> | - | 34000"},
		{"a closed and reparsed statement runs its new text",
			[]string{"P s SELECT 1", "S", "CS s", "P s SELECT b FROM t", "B  s", "E ", "S"},
			[]string{"1", "Z I", "3", "1", "2", "C SELECT 2", "Z I"},
			"SELECT b FROM t | 2 | -"},
		{"a refused Execute is not recorded",
			[]string{"P s SELECT 1", "B  s", "E!", "S"},
			[]string{"1", "2", "E 58000", "Z I"},
			""},
		{"a Parse pgmask refused binds nothing",
			[]string{"P s SELECT a FROM t", "S", "P! s", "D", "S", "B  s", "E ", "S"},
			[]string{"1", "Z I", "E 42501", "Z I", "2", "C SELECT 1", "Z I"},
			"SELECT a FROM t | 1 | -"},
		{"portals end with the transaction",
			[]string{"P s SELECT 1", "B p s", "S", "E p", "S"},
			[]string{"1", "2", "Z I", "E 34000", "Z I"},
			"<EXECUTE> | - | 34000"},
		{"portals live on inside a transaction block",
			[]string{"P s SELECT 1", "B p s", "S", "E p", "S"},
			[]string{"1", "2", "Z T", "C SELECT 1", "Z T"},
			"SELECT ? | 1 | -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript()
			s.front(tt.front...)
			s.back(tt.back...)
			if got := s.summary(); got != tt.want {
				t.Errorf("records:\n%s\nwant:\n%s", got, tt.want)
			}
			if n := len(s.a.ops) - s.a.head; n != 0 {
				t.Errorf("%d ops left pending", n)
			}
		})
	}
}

func TestStatementsStillRunningWhenTheSessionEndsAreRecordedAsCutShort(t *testing.T) {
	s := newScript()
	s.front("Q SELECT pg_sleep(60)")
	s.back("T", "D")
	s.front("P a SELECT 1", "B  a", "E ", "P b SELECT 2", "B  b", "E ", "S")
	s.a.abandon()
	want := "SELECT pg_sleep(?) | - | 08006\nSELECT ? | - | 08006\nSELECT ? | - | 08006"
	if got := s.summary(); got != want {
		t.Errorf("records:\n%s\nwant:\n%s", got, want)
	}

	// Executes PostgreSQL skipped after an error are not.
	s = newScript()
	s.front("P a SELECT 1", "B  a", "E ", "P b SELECT 2", "B  b", "E ", "S")
	s.back("1", "2", "E 22012")
	s.a.abandon()
	if got, want := s.summary(), "SELECT ? | - | 22012"; got != want {
		t.Errorf("records:\n%s\nwant:\n%s", got, want)
	}
}

func TestALongPipelineReusesTheQueue(t *testing.T) {
	s := newScript()
	for i := range 1000 {
		s.front("P  SELECT 1", "B  ", "E ")
		s.back("1", "2", "C SELECT 1")
		if i%100 == 99 {
			s.front("S")
			s.back("Z I")
		}
	}
	if len(s.log.recs) != 1000 || cap(s.a.ops) > 64 {
		t.Errorf("%d records, queue capacity %d", len(s.log.recs), cap(s.a.ops))
	}
}

func TestTheStatementKindIsTheFirstKeyword(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT ? FROM t":          "SELECT",
		"with x as (select ?) ...": "WITH",
		"COPY t FROM STDIN":        "COPY",
		"":                         "",
		"(SELECT ?)":               "",
		"begin; commit":            "BEGIN",
	} {
		if got := statementKind(in); got != want {
			t.Errorf("statementKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorCodeReadsOnlyTheSQLSTATE(t *testing.T) {
	body := []byte("SERROR\x00VERROR\x00C22P02\x00Minvalid input syntax for type integer: \"987-65-4329\"\x00\x00")
	if got := errorCode(body); got != "22P02" {
		t.Errorf("errorCode = %q", got)
	}
	for _, b := range [][]byte{nil, []byte("SERROR\x00"), []byte("SERR"), []byte("\x00")} {
		if got := errorCode(b); got != "" {
			t.Errorf("errorCode(%q) = %q, want empty", b, got)
		}
	}
}

type discardAuditor struct{}

func (discardAuditor) Log(audit.Record) error { return nil }
func (discardAuditor) Healthy() error         { return nil }

// BenchmarkAuditedExecution is what the audit log adds to the execution of a
// prepared statement (Bind, Execute, Sync) besides the Logger itself: the ops, their
// answers, and building the record.
func BenchmarkAuditedExecution(b *testing.B) {
	a := newSessionAudit(discardAuditor{}, audit.Session{ID: "0123456789abcdef", User: "alice", Role: "support", Client: "127.0.0.1:50000", Database: "clinic"}, time.Now)
	a.statements["s"] = stmt("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
	name, portal := []byte("s"), []byte("")
	tag := []byte("SELECT 1\x00")
	b.ReportAllocs()
	for i := uint64(1); b.Loop(); i++ {
		a.push(op{kind: opBind, cycle: i, portal: a.intern(portal), name: a.intern(name)})
		a.push(op{kind: opExecute, cycle: i, name: a.intern(portal), start: a.now()})
		a.confirmed(opBind, i)
		a.dataRow()
		a.commandComplete(tag, i)
		a.ready(i, 'I')
	}
}

// discardSink stores nothing: BenchmarkAuditedStatement measures pgmask's side.
type discardSink struct{}

func (discardSink) Write(context.Context, []audit.Record) error { return nil }
func (discardSink) Close() error                                { return nil }

// BenchmarkAuditedStatement is what the audit log costs a session per execution of a
// prepared statement, the Logger included: the health check before the Execute, the
// ops and their answers, building the record and queueing it, and the writer sealing
// it (on a sink that stores nothing). Run it with -cpu 1 to read its ns/op as the CPU
// time per statement.
func BenchmarkAuditedStatement(b *testing.B) {
	cfg := audit.Config{Sink: audit.SinkFile, KeyEnv: "UNUSED", QueueLimit: 1 << 20}
	l, err := audit.NewLogger(context.Background(), cfg, audit.Options{Sink: discardSink{}, Key: []byte("0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	a := newSessionAudit(l, audit.Session{ID: "0123456789abcdef", User: "alice", Role: "support", Client: "127.0.0.1:50000", Database: "clinic"}, time.Now)
	ds := []rewriter.Disclosure{{Relation: "public.pgbench_accounts", Column: "abalance", Treatment: rewriter.Raw},
		{Relation: "public.pgbench_accounts", Column: "aid", Treatment: rewriter.Raw}}
	a.statements["s"] = a.statement("SELECT abalance FROM pgbench_accounts WHERE aid = $1", rewriter.Result{Disclosures: ds}, 1)
	name, portal := []byte("s"), []byte("")
	tag := []byte("SELECT 1\x00")
	b.ReportAllocs()
	for i := uint64(1); b.Loop(); i++ {
		if l.Healthy() != nil {
			b.Fatal("unhealthy")
		}
		a.push(op{kind: opBind, cycle: i, portal: a.intern(portal), name: a.intern(name)})
		a.push(op{kind: opExecute, cycle: i, name: a.intern(portal), start: a.now()})
		a.confirmed(opBind, i)
		a.dataRow()
		a.commandComplete(tag, i)
		a.ready(i, 'I')
		if i%1024 == 0 {
			for l.Stats().Lag > 0 {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
}

func TestAStatementIsNormalizedAgainOnlyWhenItsRewriteChanged(t *testing.T) {
	const sql = "SELECT ssn FROM clinic.patients WHERE id = $1"
	ds := []rewriter.Disclosure{{Relation: "clinic.patients", Column: "ssn", Treatment: rewriter.Masked("last4")}}
	res := rewriter.Result{SQL: "rewritten", Disclosures: ds}
	a := newSessionAudit(discardAuditor{}, audit.Session{}, time.Now)
	first := a.statement(sql, res, 1)
	if a.statement(sql, res, 1) != first {
		t.Error("the same rewrite was normalized twice")
	}
	if first.decision != audit.Rewritten || first.query.Access[0].Treatment != "masked:last4" || first.query.Kind != "SELECT" {
		t.Errorf("statement = %+v", first)
	}
	changes := []struct {
		name string
		sql  string
		res  rewriter.Result
		pv   uint64
	}{
		{"a new policy", sql, res, 2},
		{"a new rewrite", sql, rewriter.Result{SQL: "rewritten", Disclosures: slices.Clone(ds)}, 1},
		{"no rewrite", sql, rewriter.Result{SQL: sql, Unchanged: true, Disclosures: ds}, 1},
		{"another text", sql + " ", res, 1},
	}
	for _, c := range changes {
		a := newSessionAudit(discardAuditor{}, audit.Session{}, time.Now)
		first := a.statement(sql, res, 1)
		if a.statement(c.sql, c.res, c.pv) == first {
			t.Errorf("after %s the cached statement was reused", c.name)
		}
	}
}
