package integration

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/examples"
	"github.com/pgmask/pgmask/integration/clinic"
	"github.com/pgmask/pgmask/proxy"
)

// The security suite (security_*_test.go) runs the documented example policy
// (examples/pgmask.toml) in front of the shared cluster and attacks it: for every
// bypass class of DESIGN §3 it runs the same statements as each restricted role and as
// the full role, records every byte pgmask sends each client (data, errors, notices,
// parameter statuses), and asserts that the canary patient's values never reach a
// restricted role while they do reach the full one, so each test provably reaches
// data. The audit log each proxy writes is checked for the canaries too.

// secRoles are the users of examples/pgmask.toml and their roles.
var secRoles = map[string]string{
	"alice": "support",    // minimum_necessary: SSN last 4, year of birth, no psychotherapy notes
	"bob":   "analyst",    // minimum_necessary: every identifier excluded
	"carol": "researcher", // safe_harbor
	"dave":  "clinician",  // full
}

// secRestrictedUsers are the example users whose roles are restricted, in test order.
var secRestrictedUsers = []string{"bob", "alice", "carol"}

// secFullUser is the example user whose role sees everything.
const secFullUser = "dave"

// secPassword is the login password of a user of the security suite.
func secPassword(user string) string { return user + "-security-password" }

var (
	secVerifierMu sync.Mutex
	secVerifiers  = map[string]string{}
)

// secVerifier returns a SCRAM verifier of secPassword(user), made once per user.
func secVerifier(t testing.TB, user string) string {
	t.Helper()
	secVerifierMu.Lock()
	defer secVerifierMu.Unlock()
	if v, ok := secVerifiers[user]; ok {
		return v
	}
	secVerifiers[user] = scramVerifier(secPassword(user))
	return secVerifiers[user]
}

// secAddUser adds a user of the given role, with password secPassword(name).
func secAddUser(t testing.TB, cfg *config.Config, name, role string) {
	t.Helper()
	cfg.Users[name] = config.User{Password: secVerifier(t, name), Role: role}
}

// secExampleConfig is examples/pgmask.toml pointed at the shared cluster, with every
// user's password replaced by secPassword and no expiry.
func secExampleConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse(examples.Config, examples.ConfigPath)
	if err != nil {
		t.Fatalf("examples/pgmask.toml: %v", err)
	}
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Upstream = config.Upstream{
		Address:    net.JoinHostPort(cluster.Host, strconv.Itoa(cluster.Port)),
		Database:   "clinic",
		User:       cluster.User,
		Password:   cluster.Password,
		SSLMode:    "disable",
		SearchPath: cfg.Upstream.SearchPath,
	}
	for name := range cfg.Users {
		u := cfg.Users[name]
		u.Password = secVerifier(t, name)
		u.Expires = nil
		cfg.Users[name] = u
	}
	return cfg
}

// secProxy is pgmask serving the example policy inside the test process.
type secProxy struct {
	srv  *proxy.Server
	addr *net.TCPAddr
	cfg  *config.Config
}

// startSecurityProxy starts pgmask with secExampleConfig, changed by edit if not nil,
// auditing to a file of the test's temporary directory. When the test ends it stops
// pgmask and checks that the audit log holds no canary.
func startSecurityProxy(t testing.TB, edit func(*config.Config)) *secProxy {
	t.Helper()
	cfg := secExampleConfig(t)
	if edit != nil {
		edit(cfg)
	}
	log := newTestAuditLog(t)
	cfg.Audit = log.config()
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatalf("security test configuration: %v", err)
	}
	served := serveProxy(t, proxy.Options{Config: cfg, Logger: testLogger(t)}, func() {
		secAssertAuditHasNoPHI(t, log.dir)
	})
	p := &secProxy{srv: served.srv, addr: served.addr, cfg: cfg}
	p.refreshCatalog(t) // Serve loads it too, but asynchronously
	return p
}

// secAssertAuditHasNoPHI fails the test if the audit log pgmask wrote in dir holds a
// canary value: the statements of the security tests carry them as literals, and the
// log records statements with their literals replaced (DESIGN §6).
func secAssertAuditHasNoPHI(t testing.TB, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "audit*.jsonl*"))
	if err != nil || len(files) == 0 {
		t.Errorf("no audit log in %s (%v)", dir, err)
		return
	}
	all := []secCanary{secFirstName, secLastName, secSSN, secSSNDigits, secPhone, secPhoneDigits, secEmail,
		secStreet, secDOB, secProgress, secPsychotherapy}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if found := secFindCanaries(b, all); len(found) > 0 {
			t.Errorf("LEAK to the audit log %s: %v", filepath.Base(f), found)
		}
	}
}

// refreshCatalog makes pgmask reread the schema, after a test created or dropped
// relations.
func (p *secProxy) refreshCatalog(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.srv.RefreshCatalog(ctx); err != nil {
		t.Fatalf("refresh the catalog: %v", err)
	}
}

// secRecorder keeps a copy of every byte a client reads.
type secRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *secRecorder) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// secRecordingConn is a client connection that tees everything it reads into a recorder.
type secRecordingConn struct {
	net.Conn
	rec *secRecorder
}

func (c *secRecordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rec.mu.Lock()
		c.rec.buf.Write(p[:n])
		c.rec.mu.Unlock()
	}
	return n, err
}

// connect opens a pgx connection to pgmask as user whose every received byte, from
// the first byte of the startup on, is recorded. The connection is closed when the
// test ends.
func (p *secProxy) connect(t testing.TB, user string, opts ...func(*pgx.ConnConfig)) (*pgx.Conn, *secRecorder) {
	t.Helper()
	return secConnect(t, fmt.Sprintf("host=127.0.0.1 port=%d dbname=clinic user=%s password=%s sslmode=disable",
		p.addr.Port, user, secPassword(user)), opts...)
}

// secConnect opens a recorded pgx connection (see secProxy.connect) to dsn.
func secConnect(t testing.TB, dsn string, opts ...func(*pgx.ConnConfig)) (*pgx.Conn, *secRecorder) {
	t.Helper()
	rec := &secRecorder{}
	record := func(cfg *pgx.ConnConfig) {
		var d net.Dialer
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &secRecordingConn{Conn: c, rec: rec}, nil
		}
	}
	return connectDSN(t, dsn, append([]func(*pgx.ConnConfig){record}, opts...)...), rec
}

// secCanary is a value that must not reach a client.
type secCanary struct {
	what, value string
}

// secDOBText is the canary patient's date of birth as PostgreSQL prints it.
var secDOBText = clinic.CanaryDOB.Format("2006-01-02")

// The canary patient's values, and the markers of its notes.
var (
	secFirstName     = secCanary{"first name", clinic.CanaryFirstName}
	secLastName      = secCanary{"last name", clinic.CanaryLastName}
	secSSN           = secCanary{"SSN", clinic.CanarySSN}
	secSSNDigits     = secCanary{"SSN digits", strings.ReplaceAll(clinic.CanarySSN, "-", "")}
	secPhone         = secCanary{"phone", clinic.CanaryPhone}
	secPhoneDigits   = secCanary{"phone digits", strings.ReplaceAll(clinic.CanaryPhone, "-", "")}
	secEmail         = secCanary{"email", clinic.CanaryEmail}
	secStreet        = secCanary{"street", clinic.CanaryStreet}
	secDOB           = secCanary{"date of birth", secDOBText}
	secProgress      = secCanary{"progress note marker", clinic.CanaryProgressMarker}
	secPsychotherapy = secCanary{"psychotherapy note marker", clinic.CanaryPsychotherapyMarker}
)

// secHiddenFrom lists the canaries a restricted role must never receive. The support role
// legitimately sees names, the last four digits of the SSN and of the phone number,
// and progress notes; the analyst and researcher see no identifier and no notes.
func secHiddenFrom(role string) []secCanary {
	switch role {
	case "support":
		return []secCanary{secSSN, secSSNDigits, secPhone, secPhoneDigits, secEmail,
			secStreet, secDOB, secPsychotherapy}
	case "frontdesk": // the write role of the write tests: names and SSN last 4
		return []secCanary{secSSN, secSSNDigits, secPhone, secPhoneDigits, secEmail, secStreet, secDOB,
			secProgress, secPsychotherapy}
	case "analyst", "researcher":
		return []secCanary{secFirstName, secLastName, secSSN, secSSNDigits, secPhone,
			secPhoneDigits, secEmail, secStreet, secDOB, secProgress, secPsychotherapy}
	}
	panic("secHiddenFrom: no secCanary list for role " + role)
}

// secFindCanaries returns the canaries whose value occurs in b, as text or hex-encoded
// (encode(x::bytea, 'hex') or a bytea result in hex output).
func secFindCanaries(b []byte, canaries []secCanary) []string {
	var found []string
	for _, c := range canaries {
		switch {
		case bytes.Contains(b, []byte(c.value)):
			found = append(found, c.what+" "+strconv.Quote(c.value))
		case bytes.Contains(bytes.ToLower(b), []byte(hex.EncodeToString([]byte(c.value)))):
			found = append(found, c.what+" "+strconv.Quote(c.value)+" hex-encoded")
		}
	}
	return found
}

// secAssertNoCanary fails the test if any canary hidden from the role is in b.
func secAssertNoCanary(t testing.TB, role, what string, b []byte) {
	t.Helper()
	if found := secFindCanaries(b, secHiddenFrom(role)); len(found) > 0 {
		t.Errorf("LEAK to role %s (%s): %s reached the client in:\n%s", role, what, strings.Join(found, ", "), secPrintable(b))
	}
}

// secPrintable shows received bytes in a failure message.
func secPrintable(b []byte) string {
	const max = 4000
	s := strings.Map(func(r rune) rune {
		if r < 32 || r == 127 {
			return '.'
		}
		return r
	}, string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// secExec runs sql over the simple query protocol (so a multi-statement string is one
// Query message and every result is in text format) and returns the results and the
// error, which the caller may ignore: what matters is the bytes the client received.
func secExec(conn *pgx.Conn, sql string) ([]*pgconn.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return conn.PgConn().Exec(ctx, sql).ReadAll()
}

// secCopyOut runs COPY ... TO STDOUT on conn and discards what it copies (the
// connection's recorder keeps it); the error is ignored.
func secCopyOut(conn *pgx.Conn, sql string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn.PgConn().CopyTo(ctx, io.Discard, sql)
}

// secSuperExec runs sql directly on the clinic database as the superuser.
func secSuperExec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cluster.Exec(ctx, "clinic", sql); err != nil {
		t.Fatalf("as superuser: %v\n%s", err, sql)
	}
}

// secProbeSchema is the schema the security tests create their own relations in; it is
// dropped when the test that created it ends, so other tests never see it.
const secProbeSchema = "secprobe"

// secWithProbeSchema runs setup (SQL, as the superuser) in a fresh probe schema, drops
// the schema when the test ends, and has pgmask reread the catalog both times.
func secWithProbeSchema(t testing.TB, p *secProxy, setup string) {
	t.Helper()
	secSuperExec(t, "DROP SCHEMA IF EXISTS "+secProbeSchema+" CASCADE; CREATE SCHEMA "+secProbeSchema+";\n"+setup)
	t.Cleanup(func() {
		secSuperExec(t, "DROP SCHEMA IF EXISTS "+secProbeSchema+" CASCADE")
		p.refreshCatalog(t)
	})
	p.refreshCatalog(t)
}

// secProbe is one attack: statements a client sends, and what proves that the full
// role reached the data with them.
type secProbe struct {
	name string
	// sql is sent as one simple-protocol Query each; errors are expected and ignored.
	sql []string
	// run, when set, drives the connection first (extended protocol, COPY, batches);
	// its errors are ignored too.
	run func(conn *pgx.Conn)
	// conn configures the connection (an exec mode, startup parameters).
	conn []func(*pgx.ConnConfig)
	// full is the canary the full role must receive from the same statements (nil: the
	// SSN).
	full *secCanary
	// oracle, when set, is text that only a statement that matched a hidden value
	// returns (a predicate probe's answer): restricted roles must not receive it, the
	// full role must, instead of full.
	oracle string
}

// secAttack runs every probe as each restricted example user and as the full one.
func secAttack(t *testing.T, p *secProxy, probes []secProbe) {
	t.Helper()
	secAttackAs(t, p, secRestrictedUsers, secFullUser, probes)
}

// secAttackAs runs every probe as each of the restricted users and as the full user,
// through p, and checks what each received.
func secAttackAs(t *testing.T, p *secProxy, restricted []string, full string, probes []secProbe) {
	t.Helper()
	for _, pr := range probes {
		t.Run(pr.name, func(t *testing.T) {
			for _, user := range restricted {
				role := p.cfg.Users[user].Role
				rec := secRunProbe(t, p, user, pr)
				secAssertNoCanary(t, role, pr.name, rec)
				if pr.oracle != "" && bytes.Contains(rec, []byte(pr.oracle)) {
					t.Errorf("LEAK to role %s (%s): the probe's answer %q reached the client:\n%s", role, pr.name, pr.oracle, secPrintable(rec))
				}
			}
			want := secSSN
			if pr.full != nil {
				want = *pr.full
			}
			if pr.oracle != "" {
				want = secCanary{"probe answer", pr.oracle}
			}
			rec := secRunProbe(t, p, full, pr)
			if !bytes.Contains(rec, []byte(want.value)) {
				t.Errorf("the full role did not receive the %s %q: the probe does not reach the data. It received:\n%s",
					want.what, want.value, secPrintable(rec))
			}
		})
	}
}

// secRunProbe runs one probe on a fresh connection as user and returns every byte the
// connection received.
func secRunProbe(t *testing.T, p *secProxy, user string, pr secProbe) []byte {
	t.Helper()
	conn, rec := p.connect(t, user, pr.conn...)
	if pr.run != nil {
		pr.run(conn)
	}
	for _, sql := range pr.sql {
		secExec(conn, sql)
	}
	// A last round trip, so whatever the probe provoked asynchronously (notices,
	// parameter statuses) has arrived before the bytes are checked.
	if !conn.IsClosed() {
		if _, err := secExec(conn, "SELECT 1"); err != nil {
			secExec(conn, "ROLLBACK")
		}
	}
	conn.Close(context.Background())
	return rec.Bytes()
}

// secCode returns the SQLSTATE of err ("" when it is not a PostgreSQL error).
func secCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// secRefused fails the test unless sql, run as a simple query on conn, is refused by
// pgmask with SQLSTATE 42501.
func secRefused(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := secExec(conn, sql); secCode(err) != "42501" {
		t.Errorf("%s: err = %v, want a pgmask refusal (42501)", sql, err)
	}
}
