package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/proxy"
	"github.com/pgmask/pgmask/proxy/audit"
)

// The audit log end to end: pgmask in this process with a file sink in the test's
// temporary directory, clients that connect, read, get refused and leave, and then the
// records, the chain, the absence of every literal, and failing closed.

// auditedProxy is pgmask with a file audit log, its log output captured.
type auditedProxy struct {
	*testProxy // its audit is the file behind sink
	logs       *lockedBuffer
	sink       *flakySink
}

// startAuditedProxy starts pgmask with baseConfig (support granted clinic.patients,
// ssn masked to its last four digits), its audit log behind a sink the test can break.
func startAuditedProxy(t *testing.T) *auditedProxy {
	t.Helper()
	log := newTestAuditLog(t)
	cfg := baseConfig()
	grantPatients(cfg)
	cfg.Audit = log.config()
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	file, err := audit.NewFileSink(audit.FileSinkOptions{Path: cfg.Audit.Path, MaxBytes: audit.DefaultMaxBytes, MaxAge: audit.DefaultMaxAge})
	if err != nil {
		t.Fatal(err)
	}
	p := &auditedProxy{logs: &lockedBuffer{}, sink: &flakySink{FileSink: file}}
	handler := slog.NewTextHandler(io.MultiWriter(&testWriter{t: t}, p.logs), &slog.HandlerOptions{Level: slog.LevelDebug})
	p.testProxy = serveProxy(t, proxy.Options{Config: cfg, Logger: slog.New(handler), AuditSink: p.sink}, nil)
	p.audit = log
	return p
}

// records stops pgmask, checks that its audit log verifies, and returns the records.
func (p *auditedProxy) records(t *testing.T) []audit.Record {
	t.Helper()
	p.stop()
	p.audit.verify(t)
	recs := decodeRecords[audit.Record](t, p.audit)
	slices.SortFunc(recs, func(a, b audit.Record) int { return int(a.Seq) - int(b.Seq) })
	return recs
}

// lockedBuffer collects pgmask's log while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// flakySink is the file sink, made to fail on demand.
type flakySink struct {
	*audit.FileSink
	mu      sync.Mutex
	failing bool
}

func (s *flakySink) setFailing(v bool) {
	s.mu.Lock()
	s.failing = v
	s.mu.Unlock()
}

func (s *flakySink) Write(ctx context.Context, recs []audit.Record) error {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing {
		return errors.New("injected failure: the audit disk is full")
	}
	return s.FileSink.Write(ctx, recs)
}

// sessionRecords are the records of the sessions of user (checkpoints and reloads
// have no session), in order.
func sessionRecords(recs []audit.Record, user string) []audit.Record {
	var out []audit.Record
	for _, r := range recs {
		if r.User == user {
			out = append(out, r)
		}
	}
	return out
}

func kinds(recs []audit.Record) []audit.Kind {
	out := make([]audit.Kind, len(recs))
	for i, r := range recs {
		out[i] = r.Kind
	}
	return out
}

// findRecord returns the first record of kind whose normalized SQL contains sql.
func findRecord(t *testing.T, recs []audit.Record, kind audit.Kind, sql string) audit.Record {
	t.Helper()
	for _, r := range recs {
		if r.Kind == kind && strings.Contains(r.SQL, sql) {
			return r
		}
	}
	t.Fatalf("no %s record with SQL %q in:\n%s", kind, sql, dumpRecords(recs))
	return audit.Record{}
}

func dumpRecords(recs []audit.Record) string {
	var b strings.Builder
	for _, r := range recs {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func rows(r audit.Record) int64 {
	if r.Rows == nil {
		return -1
	}
	return *r.Rows
}

func TestTheAuditLogRecordsASessionFromConnectToDisconnectAndVerifies(t *testing.T) {
	p := startAuditedProxy(t)
	ctx := context.Background()

	simple := p.connect(t, "sam", execMode(pgx.QueryExecModeSimpleProtocol), appName("audit-e2e"))
	var n int
	if err := simple.QueryRow(ctx, "SELECT count(*) FROM (SELECT id, ssn FROM clinic.patients WHERE id BETWEEN 1 AND 5) AS p").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := simple.Exec(ctx, "SELECT id, ssn FROM clinic.patients WHERE id BETWEEN 1 AND 4"); err != nil {
		t.Fatal(err)
	}
	if _, err := simple.Exec(ctx, "SELECT body FROM clinic.notes"); sqlState(err) != "42501" {
		t.Fatalf("a table support is not granted: %v, want 42501", err)
	}
	simple.Close(ctx)

	// The extended protocol, prepared once and executed three times, and a pipeline
	// whose second statement fails: the third is skipped, and so not recorded.
	extended := p.connect(t, "sam")
	for range 3 {
		r, err := extended.Query(ctx, "SELECT ssn FROM clinic.patients WHERE id <= $1", 3)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		if r.Err() != nil {
			t.Fatal(r.Err())
		}
	}
	b := &pgx.Batch{}
	b.Queue("SELECT state FROM clinic.patients WHERE id <= 2")
	b.Queue("SELECT 1 / (id - id) FROM clinic.patients WHERE id = 1")
	b.Queue("SELECT id, state FROM clinic.patients WHERE id <= 7")
	if err := extended.SendBatch(ctx, b).Close(); sqlState(err) != "22012" {
		t.Fatalf("the batch: %v, want 22012", err)
	}
	extended.Close(ctx)

	recs := p.records(t)
	sam := sessionRecords(recs, "sam")
	if recs[0].Kind != audit.KindCheckpoint || recs[len(recs)-1].Kind != audit.KindCheckpoint {
		t.Errorf("the log does not start and end with checkpoints: %v", kinds(recs))
	}

	want := []audit.Kind{
		audit.KindConnect, audit.KindStatement, audit.KindStatement, audit.KindDenial, audit.KindDisconnect,
		audit.KindConnect, audit.KindStatement, audit.KindStatement, audit.KindStatement,
		audit.KindStatement, audit.KindStatement, audit.KindDisconnect,
	}
	if got := kinds(sam); !slices.Equal(got, want) {
		t.Fatalf("sam's records are %v, want %v:\n%s", got, want, dumpRecords(sam))
	}
	connect := sam[0]
	if connect.Role != "support" || connect.Database != "clinic" || connect.ApplicationName != "audit-e2e" ||
		connect.Session == "" || !strings.HasPrefix(connect.Client, "127.0.0.1:") {
		t.Errorf("connect record: %s", dumpRecords(sam[:1]))
	}
	for _, r := range sam[1:5] {
		if r.Session != connect.Session {
			t.Errorf("a record of the first session names session %q, want %q", r.Session, connect.Session)
		}
	}
	if sam[5].Session == connect.Session {
		t.Error("two sessions share a session id")
	}

	count := findRecord(t, sam, audit.KindStatement, "WHERE id BETWEEN ? AND ?) AS p")
	if count.Decision != audit.Rewritten || rows(count) != 1 || count.StatementKind != "SELECT" ||
		!slices.Contains(count.Access, audit.Access{Relation: "clinic.patients", Column: "ssn", Treatment: "masked:last4"}) {
		t.Errorf("the count statement: %s", dumpRecords([]audit.Record{count}))
	}
	four := sam[2]
	if rows(four) != 4 || four.SQL != "SELECT id, ssn FROM clinic.patients WHERE id BETWEEN ? AND ?" || four.Fingerprint == "" || four.DurationMS == nil {
		t.Errorf("the four-row statement: %s", dumpRecords(sam[2:3]))
	}
	denial := sam[3]
	if denial.SQLState != "42501" || denial.Decision != audit.Denied || !strings.Contains(denial.Reason, "clinic.notes") {
		t.Errorf("the denial: %s", dumpRecords(sam[3:4]))
	}
	if sam[4].Reason != "client closed" || sam[4].DurationMS == nil {
		t.Errorf("the disconnect: %s", dumpRecords(sam[4:5]))
	}

	for _, r := range sam[6:9] {
		if r.SQL != "SELECT ssn FROM clinic.patients WHERE id <= $1" || rows(r) != 3 || r.Decision != audit.Rewritten {
			t.Errorf("an execution of the prepared statement: %s", dumpRecords([]audit.Record{r}))
		}
	}
	if r := sam[9]; rows(r) != 2 || r.SQLState != "" || !strings.HasPrefix(r.SQL, "SELECT state FROM") {
		t.Errorf("the batch's first statement: %s", dumpRecords([]audit.Record{r}))
	}
	if r := sam[10]; r.SQLState != "22012" || rows(r) != -1 || !strings.HasPrefix(r.SQL, "SELECT ? / (id - id)") {
		t.Errorf("the batch's failing statement: %s", dumpRecords([]audit.Record{r}))
	}
}

// The canaries are planted where PHI reaches pgmask: literals, bind values, COPY data
// and the text of error messages.
const (
	canaryWhere   = "CANARY-WHERE-7f3a"
	canaryBind    = "CANARY-BIND-91c2"
	canaryCopy    = "CANARY-COPY-5d0e"
	canarySyntax  = "CANARY-SYNTAX-b4e8"
	canaryDenied  = "CANARY-DENIED-2a9c"
	canaryInError = "987-65-4329"
)

func TestNoLiteralBindValueCopyDataOrErrorTextReachesAnyFilePgmaskWrites(t *testing.T) {
	p := startAuditedProxy(t)
	ctx := context.Background()

	for _, user := range []string{"sam", "dana"} {
		for _, mode := range execModes {
			conn := p.connect(t, user, execMode(mode.mode))
			if _, err := conn.Exec(ctx, "SELECT id FROM clinic.patients WHERE ssn = '"+canaryWhere+"'"); err != nil {
				t.Fatalf("%s, %s: a WHERE literal: %v", user, mode.name, err)
			}
			if _, err := conn.Exec(ctx, "SELECT id FROM clinic.patients WHERE ssn = $1 OR last_name = $2", canaryBind, canaryBind); err != nil && user == "dana" {
				t.Fatalf("%s, %s: a bind value: %v", user, mode.name, err)
			}
			if _, err := conn.Exec(ctx, "SELECT '"+canaryInError+"'::int"); sqlState(err) != "22P02" ||
				!strings.Contains(err.Error(), canaryInError) {
				t.Fatalf("%s, %s: the error should quote the canary: %v", user, mode.name, err)
			}
			if _, err := conn.Exec(ctx, "SELECT 1 '"+canarySyntax+"'"); sqlState(err) != "42601" {
				t.Fatalf("%s, %s: a syntax error: %v", user, mode.name, err)
			}
			conn.Close(ctx)
		}
	}
	sam := p.connect(t, "sam")
	if _, err := sam.Exec(ctx, "SELECT body FROM clinic.notes WHERE body = '"+canaryDenied+"'"); sqlState(err) != "42501" {
		t.Fatalf("a denied statement: %v", err)
	}

	// COPY FROM STDIN by a full role into a temporary table, then a look at it.
	dana := p.connect(t, "dana")
	if _, err := dana.Exec(ctx, "CREATE TEMP TABLE audit_copy (ssn text, note text)"); err != nil {
		t.Fatal(err)
	}
	data := strings.Repeat(canaryCopy+"\tfree text with "+canaryCopy+"\n", 50)
	tag, err := dana.PgConn().CopyFrom(ctx, strings.NewReader(data), "COPY audit_copy FROM STDIN")
	if err != nil || tag.RowsAffected() != 50 {
		t.Fatalf("COPY FROM STDIN: %v, %v", tag, err)
	}
	var copied int
	if err := dana.QueryRow(ctx, "SELECT count(*) FROM audit_copy WHERE ssn = $1", canaryCopy).Scan(&copied); err != nil || copied != 50 {
		t.Fatalf("the copied rows: %d, %v", copied, err)
	}
	dana.Close(ctx)
	sam.Close(ctx)

	recs := p.records(t)
	copyRecord := findRecord(t, recs, audit.KindStatement, "COPY audit_copy FROM STDIN")
	if rows(copyRecord) != 50 || copyRecord.User != "dana" {
		t.Errorf("the COPY record: %s", dumpRecords([]audit.Record{copyRecord}))
	}
	findRecord(t, recs, audit.KindStatement, "WHERE ssn = ?")
	findRecord(t, recs, audit.KindStatement, "WHERE ssn = $1 OR last_name = $2")
	findRecord(t, recs, audit.KindDenial, "WHERE body = ?")

	files := append(p.audit.files(t), p.audit.keyFile())
	written := map[string][]byte{"pgmask's log": []byte(p.logs.String())}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		written[f] = data
	}
	entries, err := os.ReadDir(p.audit.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(files) {
		t.Errorf("pgmask wrote files the test does not check: %v", entries)
	}
	for name, data := range written {
		for _, canary := range []string{canaryWhere, canaryBind, canaryCopy, canarySyntax, canaryDenied, canaryInError} {
			if bytes.Contains(data, []byte(canary)) {
				t.Errorf("%s contains the canary %q", name, canary)
			}
		}
	}
	if !strings.Contains(p.logs.String(), "session started") {
		t.Errorf("the captured log is empty; the check above proved nothing:\n%s", p.logs.String())
	}
}

func TestStatementsAreRefusedWith58000WhileTheAuditLogCannotBeWrittenAndWorkAgainAfter(t *testing.T) {
	p := startAuditedProxy(t)
	ctx := context.Background()
	const query = "SELECT ssn FROM clinic.patients WHERE id = $1"

	simple := p.connect(t, "sam", execMode(pgx.QueryExecModeSimpleProtocol))
	prepared := p.connect(t, "sam") // pgx prepares query once, then only binds and executes it
	fresh := p.connect(t, "sam")
	var ssn string
	if err := prepared.QueryRow(ctx, query, 1).Scan(&ssn); err != nil {
		t.Fatal(err)
	}
	tx, err := prepared.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}

	p.sink.setFailing(true)
	if _, err := simple.Exec(ctx, "SELECT 1"); err != nil { // its record is what fails to be written
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool {
		_, healthy, _ := p.srv.AuditHealth()
		return healthy != nil
	}, "the audit log did not notice its sink failing")

	// The client is told why, but not the sink's own error, which is for the operator.
	refused := func(what string, err error) {
		t.Helper()
		e := pgError(t, err)
		if e.Code != "58000" || e.Hint != "pgmask refuses statements while it cannot record them" {
			t.Errorf("%s while the audit log fails: %v (hint %q), want 58000", what, err, e.Hint)
		}
		if e.Message != "pgmask cannot write its audit log: writing to the audit sink failed" {
			t.Errorf("%s while the audit log fails: message %q, want the reason without the sink's error", what, e.Message)
		}
	}
	_, err = simple.Exec(ctx, "SELECT id FROM clinic.patients WHERE id = 1")
	refused("a simple query", err)
	_, err = fresh.Exec(ctx, "SELECT state FROM clinic.patients WHERE id = $1", 3)
	refused("the Parse of a new statement", err)

	// Inside a transaction block, the refusal fails the block as any error would.
	refused("a prepared statement in a transaction block", tx.QueryRow(ctx, query, 2).Scan(&ssn))
	if status := prepared.PgConn().TxStatus(); status != 'E' {
		t.Errorf("transaction status %q after the refusal, want E (failed)", status)
	}

	p.sink.setFailing(false)
	eventually(t, 20*time.Second, func() bool {
		_, healthy, _ := p.srv.AuditHealth()
		return healthy == nil
	}, "the audit log did not recover")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := prepared.QueryRow(ctx, query, 2).Scan(&ssn); err != nil || !strings.HasPrefix(ssn, "XXX-XX-") {
		t.Fatalf("the prepared statement after the recovery: %q, %v", ssn, err)
	}
	if _, err := simple.Exec(ctx, "SELECT id FROM clinic.patients WHERE id = 1"); err != nil {
		t.Fatalf("a simple query after the recovery: %v", err)
	}
	if stats, _, _ := p.srv.AuditHealth(); stats.Failures == 0 || stats.Dropped != 0 {
		t.Errorf("audit stats after the outage: %+v", stats)
	}
	if _, err := fresh.Exec(ctx, "SELECT state FROM clinic.patients WHERE id = $1", 3); err != nil {
		t.Fatalf("the new statement after the recovery: %v", err)
	}
	simple.Close(ctx)
	prepared.Close(ctx)
	fresh.Close(ctx)

	// Nothing was lost: the refusals are in the log, which verifies across the outage.
	recs := p.records(t)
	var refusals int
	for _, r := range recs {
		if r.Kind == audit.KindDenial && r.SQLState == "58000" {
			refusals++
			if r.Reason != "pgmask cannot write its audit log: writing to the audit sink failed" {
				t.Errorf("a refusal recorded with reason %q", r.Reason)
			}
		}
	}
	if refusals != 3 {
		t.Errorf("%d refusals with 58000 recorded, want 3:\n%s", refusals, dumpRecords(recs))
	}
	if !strings.Contains(p.logs.String(), "audit sink failed") || !strings.Contains(p.logs.String(), "audit sink recovered") {
		t.Errorf("pgmask's log does not tell the outage:\n%s", p.logs.String())
	}
}

func TestFailedLoginsAreRecordedWithoutWhatTheClientSent(t *testing.T) {
	p := startAuditedProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const wrong = "CANARY-PASSWORD-0c1d"
	for _, user := range []string{"sam", "nosuchuser", "eve"} {
		pw := wrong
		if user == "eve" {
			pw = password(user) // the right password of an expired user
		}
		dsn := strings.Replace(p.dsn(user), "password="+password(user), "password="+pw, 1)
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			c.Close(ctx)
			t.Fatalf("%s logged in", user)
		}
	}
	recs := p.records(t)
	var failures []audit.Record
	for _, r := range recs {
		if r.Kind == audit.KindAuthFailure {
			failures = append(failures, r)
		}
	}
	if len(failures) != 3 {
		t.Fatalf("%d auth_failure records, want 3:\n%s", len(failures), dumpRecords(recs))
	}
	for i, want := range []string{"password authentication failed", "password authentication failed", "expired"} {
		if r := failures[i]; !strings.Contains(r.Reason, want) || r.Decision != audit.Denied || r.Session == "" {
			t.Errorf("auth failure %d: %s", i, dumpRecords(failures[i:i+1]))
		}
	}
	data, err := os.ReadFile(filepath.Join(p.audit.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(wrong)) || strings.Contains(p.logs.String(), wrong) {
		t.Error("a password reached a file pgmask writes")
	}
	if kinds := kinds(sessionRecords(recs, "sam")); slices.Contains(kinds, audit.KindConnect) {
		t.Errorf("a failed login was recorded as a connection: %v", kinds)
	}
}

func TestAReloadIsRecordedWithThePolicyVersion(t *testing.T) {
	p := startAuditedProxy(t)
	cfg := baseConfig()
	cfg.Audit = p.cfg.Audit
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	p.srv.ReloadFailed(errors.New("pgmask.toml:3: roles.x.profile: unknown profile"))
	var reloads []audit.Record
	for _, r := range p.records(t) {
		if r.Kind == audit.KindReload {
			reloads = append(reloads, r)
		}
	}
	if len(reloads) != 2 || reloads[0].Decision != audit.Allowed || reloads[0].PolicyVersion != 2 ||
		reloads[1].Decision != audit.Denied || !strings.Contains(reloads[1].Reason, "roles.x.profile") {
		t.Errorf("reload records:\n%s", dumpRecords(reloads))
	}
}
