package integration

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/integration/clinic"
	"github.com/pgmask/pgmask/proxy"
)

// Purpose of use, break-glass and expiry in the middle of a session (proxy/access.go),
// end to end: the canary patient's SSN shows what the session's role sees at each step.

// testClock is an injected clock that tests move forward.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// accessStart is when every access test begins.
var accessStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// accessProxy is a pgmask whose users can switch roles: sam (support, masked SSN) may
// declare treatment (clinician, full) or operations (support) and break the glass to
// clinician for 30 minutes; frank (support) may do neither; quinn runs a limited data
// set role whose agreement ends an hour after accessStart; una's own access ends then.
type accessProxy struct {
	*testProxy
	clock *testClock
}

func startAccessProxy(t *testing.T) *accessProxy {
	t.Helper()
	clock := &testClock{now: accessStart}
	p := startProxyWith(t, proxy.Options{Now: clock.Now}, func(cfg *config.Config) {
		cfg.Tables["clinic.patients"] = config.Table{SubjectKey: "id", Columns: map[string]string{
			"id": "none", "ssn": "ssn", "dob": "birth_date", "state": "state",
		}}
		cfg.Roles["clinician"] = config.Role{Profile: "full"}
		cfg.Roles["support"] = config.Role{Profile: "minimum_necessary", Tables: []string{"clinic.patients"},
			Transforms: map[string]string{"ssn": "last4"}}
		dua := accessStart.Add(time.Hour)
		cfg.Roles["quality"] = config.Role{Profile: "limited_data_set", Tables: []string{"clinic.patients"},
			DataUseAgreement: "DUA-TEST-7", Expires: &dua}
		sam := cfg.Users["sam"]
		sam.Purposes = map[string]string{"treatment": "clinician", "operations": "support"}
		sam.BreakGlass = &config.BreakGlass{Role: "clinician", Max: config.Duration{Duration: 30 * time.Minute}}
		cfg.Users["sam"] = sam
		cfg.Users["quinn"] = config.User{Password: testVerifiers()["frank"], Role: "quality"}
		cfg.Users["una"] = config.User{Password: testVerifiers()["frank"], Role: "support", Expires: &dua}
	})
	return &accessProxy{testProxy: p, clock: clock}
}

// connectAs connects with another user's password (quinn and una use frank's).
func (p *accessProxy) connectAs(t *testing.T, user, passwordOf string, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	return connectDSN(t, strings.Replace(p.dsn(passwordOf), "user="+passwordOf, "user="+user, 1), opts...)
}

func canarySSN(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var ssn string
	if err := conn.QueryRow(context.Background(), "SELECT ssn FROM clinic.patients WHERE id = $1", clinic.PatientCanary).Scan(&ssn); err != nil {
		t.Fatalf("reading the canary's ssn: %v", err)
	}
	return ssn
}

func show(t *testing.T, conn *pgx.Conn, setting string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(context.Background(), "SHOW "+setting, pgx.QueryExecModeSimpleProtocol).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", setting, err)
	}
	return v
}

func run(t *testing.T, conn *pgx.Conn, sql string) error {
	t.Helper()
	_, err := conn.Exec(context.Background(), sql)
	return err
}

func wantCode(t *testing.T, err error, code, contains string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code || !strings.Contains(pgErr.Message, contains) {
		t.Fatalf("error = %v, want SQLSTATE %s containing %q", err, code, contains)
	}
}

const maskedCanarySSN = "XXX-XX-4329"

func TestAPurposeOfUseSwitchesTheRoleOfLaterStatements(t *testing.T) {
	p := startAccessProxy(t)
	conn := p.connect(t, "sam")
	if got := canarySSN(t, conn); got != maskedCanarySSN {
		t.Fatalf("support sees ssn %q, want %q", got, maskedCanarySSN)
	}
	if got := show(t, conn, "pgmask.purpose"); got != "none" {
		t.Errorf("SHOW pgmask.purpose = %q before any purpose, want none", got)
	}
	if err := run(t, conn, "SET pgmask.purpose = 'treatment'"); err != nil {
		t.Fatal(err)
	}
	if got := show(t, conn, "pgmask.role"); got != "clinician" {
		t.Errorf("SHOW pgmask.role = %q for treatment, want clinician", got)
	}
	if got := show(t, conn, "pgmask.purpose"); got != "treatment" {
		t.Errorf("SHOW pgmask.purpose = %q, want treatment", got)
	}
	if got := canarySSN(t, conn); got != clinic.CanarySSN {
		t.Errorf("treatment sees ssn %q, want the raw %q", got, clinic.CanarySSN)
	}
	if err := run(t, conn, "RESET pgmask.purpose"); err != nil {
		t.Fatal(err)
	}
	if got := show(t, conn, "pgmask.role"); got != "support" {
		t.Errorf("SHOW pgmask.role = %q after RESET, want support", got)
	}
	if got := canarySSN(t, conn); got != maskedCanarySSN {
		t.Errorf("after RESET pgmask.purpose the ssn is %q, want %q", got, maskedCanarySSN)
	}
}

func TestAPurposeTheUserMayNotDeclareIsRefusedAndChangesNothing(t *testing.T) {
	p := startAccessProxy(t)
	conn := p.connect(t, "sam")
	wantCode(t, run(t, conn, "SET pgmask.purpose = 'research'"), "42501", `purpose "research" is not allowed for user "sam"`)
	frank := p.connect(t, "frank")
	wantCode(t, run(t, frank, "SET pgmask.purpose = 'treatment'"), "42501", `purpose "treatment" is not allowed for user "frank"`)
	wantCode(t, run(t, conn, "SET pgmask.role = 'clinician'"), "55P02", `parameter "pgmask.role" cannot be changed`)
	for _, c := range []*pgx.Conn{conn, frank} {
		if got := show(t, c, "pgmask.role"); got != "support" {
			t.Errorf("SHOW pgmask.role = %q after refused switches, want support", got)
		}
		if got := canarySSN(t, c); got != maskedCanarySSN {
			t.Errorf("after refused switches the ssn is %q, want %q", got, maskedCanarySSN)
		}
	}
}

func TestAPurposeCanBeDeclaredInTheStartupOptions(t *testing.T) {
	p := startAccessProxy(t)
	withOptions := func(o string) func(*pgx.ConnConfig) {
		return func(c *pgx.ConnConfig) { c.RuntimeParams["options"] = o }
	}
	conn := p.connect(t, "sam", withOptions("-c pgmask.purpose=treatment"))
	if got := show(t, conn, "pgmask.role"); got != "clinician" {
		t.Errorf("SHOW pgmask.role = %q with -c pgmask.purpose=treatment, want clinician", got)
	}
	if got := canarySSN(t, conn); got != clinic.CanarySSN {
		t.Errorf("treatment from the startup options sees ssn %q, want the raw one", got)
	}

	cfg, _ := pgx.ParseConfig(p.dsn("frank"))
	withOptions("--pgmask.purpose=treatment")(cfg)
	_, err := pgx.ConnectConfig(context.Background(), cfg)
	wantCode(t, err, "42501", `purpose "treatment" is not allowed for user "frank"`)
}

func TestThePurposeCannotChangeInsideATransaction(t *testing.T) {
	p := startAccessProxy(t)
	conn := p.connect(t, "sam")
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SET pgmask.purpose = 'treatment'")
	wantCode(t, err, "25001", "pgmask.purpose cannot be changed inside a transaction block")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("ROLLBACK after the refusal: %v", err)
	}
	if got := canarySSN(t, conn); got != maskedCanarySSN {
		t.Errorf("after the refused switch the ssn is %q, want %q", got, maskedCanarySSN)
	}
}

func TestStatementsPreparedUnderARoleDoNotOutliveIt(t *testing.T) {
	p := startAccessProxy(t)
	conn := p.connect(t, "sam")
	for _, sql := range []string{
		"SET pgmask.purpose = 'treatment'",
		"PREPARE raw AS SELECT ssn FROM clinic.patients WHERE id = 31",
		"BEGIN", "DECLARE held CURSOR WITH HOLD FOR SELECT ssn FROM clinic.patients WHERE id = 31", "COMMIT",
	} {
		if err := run(t, conn, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	ps, err := conn.Prepare(context.Background(), "proto", "SELECT ssn FROM clinic.patients WHERE id = 31")
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t, conn, "RESET pgmask.purpose"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, run(t, conn, "EXECUTE raw"), "26000", `prepared statement "raw" does not exist`)
	wantCode(t, run(t, conn, "FETCH held"), "34000", `cursor "held" does not exist`)
	// A driver's named statement was prepared again, for the role now in force.
	var ssn string
	if err := conn.QueryRow(context.Background(), ps.Name).Scan(&ssn); err != nil || ssn != maskedCanarySSN {
		t.Fatalf("the statement prepared under treatment gives %q, %v after RESET; want %q", ssn, err, maskedCanarySSN)
	}
}

func TestBreakGlassElevatesWithAJustificationAndEndsByItself(t *testing.T) {
	p := startAccessProxy(t)
	var mu sync.Mutex
	var notices []string
	conn := p.connect(t, "sam", func(c *pgx.ConnConfig) {
		c.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			mu.Lock()
			notices = append(notices, n.Message)
			mu.Unlock()
		}
	})
	lastNotice := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(notices) == 0 {
			return ""
		}
		return notices[len(notices)-1]
	}
	wantCode(t, run(t, conn, "SET pgmask.break_glass = ''"), "22023", "needs a justification of at least 20 characters")
	wantCode(t, run(t, conn, "SET pgmask.break_glass = 'emergency'"), "22023", "needs a justification")

	if err := run(t, conn, "SET pgmask.break_glass = 'patient 31 unresponsive in ER, chart needed now'"); err != nil {
		t.Fatal(err)
	}
	if n := lastNotice(); !strings.Contains(n, `break-glass access as role "clinician" until 2026-03-01 09:30:00Z`) {
		t.Errorf("notice = %q, want it to say until when", n)
	}
	if got := show(t, conn, "pgmask.break_glass"); got != "on until 2026-03-01 09:30:00Z" {
		t.Errorf("SHOW pgmask.break_glass = %q", got)
	}
	if got := canarySSN(t, conn); got != clinic.CanarySSN {
		t.Errorf("break-glass sees ssn %q, want the raw one", got)
	}
	wantCode(t, run(t, conn, "SET pgmask.break_glass = 'a second justification, long enough'"), "42501", "already active")

	p.clock.Advance(29 * time.Minute)
	if got := show(t, conn, "pgmask.role"); got != "clinician" {
		t.Errorf("SHOW pgmask.role = %q a minute before the end, want clinician", got)
	}
	p.clock.Advance(time.Minute)
	if got := canarySSN(t, conn); got != maskedCanarySSN {
		t.Errorf("after break-glass expired the ssn is %q, want %q", got, maskedCanarySSN)
	}
	if n := lastNotice(); !strings.Contains(n, `break-glass access ended at 2026-03-01 09:30:00Z; back to role "support"`) {
		t.Errorf("notice at expiry = %q", n)
	}
	if got := show(t, conn, "pgmask.break_glass"); got != "off" {
		t.Errorf("SHOW pgmask.break_glass = %q after expiry, want off", got)
	}

	// Again, ended early.
	if err := run(t, conn, "SET pgmask.break_glass = 'second emergency: patient 31 in theatre'"); err != nil {
		t.Fatal(err)
	}
	if err := run(t, conn, "RESET pgmask.break_glass"); err != nil {
		t.Fatal(err)
	}
	if got := canarySSN(t, conn); got != maskedCanarySSN {
		t.Errorf("after RESET pgmask.break_glass the ssn is %q, want %q", got, maskedCanarySSN)
	}

	frank := p.connect(t, "frank")
	wantCode(t, run(t, frank, "SET pgmask.break_glass = 'I would like to see everything please'"), "42501", `user "frank" may not use break-glass access`)

	conn.Close(context.Background())
	p.stop()
	kinds := map[string][]map[string]any{}
	for _, r := range decodeRecords[map[string]any](t, p.audit) {
		k, _ := r["kind"].(string)
		kinds[k] = append(kinds[k], r)
	}
	starts, ends := kinds["break_glass_start"], kinds["break_glass_end"]
	if len(starts) != 2 || len(ends) != 2 {
		t.Fatalf("audit has %d break_glass_start and %d break_glass_end records, want 2 and 2", len(starts), len(ends))
	}
	if starts[0]["justification"] != "patient 31 unresponsive in ER, chart needed now" || starts[0]["role"] != "clinician" || starts[0]["user"] != "sam" {
		t.Errorf("break_glass_start record = %v", starts[0])
	}
	if ends[0]["reason"] != "expired" || ends[1]["reason"] != "ended by user" {
		t.Errorf("break_glass_end reasons = %v, %v; want expired, ended by user", ends[0]["reason"], ends[1]["reason"])
	}
	elevated, rawSSN := 0, false
	for _, r := range kinds["statement"] {
		if r["break_glass"] == true {
			elevated++
			if r["role"] != "clinician" {
				t.Errorf("an elevated statement is recorded under role %v", r["role"])
			}
			// clinician is a full role: its statements are forwarded unparsed, and
			// their records still say what they read.
			access, _ := r["access"].([]any)
			for _, a := range access {
				a, _ := a.(map[string]any)
				rawSSN = rawSSN || a["column"] == "ssn" && a["treatment"] == "raw"
			}
		}
	}
	if !rawSSN {
		t.Error("no elevated statement record lists clinic.patients.ssn as read raw")
	}
	if elevated == 0 {
		t.Error("no statement record is marked break_glass")
	}
}

func TestAccessThatExpiresMidSessionEndsTheSession(t *testing.T) {
	p := startAccessProxy(t)
	una := p.connectAs(t, "una", "frank")
	quinn := p.connectAs(t, "quinn", "frank")
	for _, c := range []*pgx.Conn{una, quinn} {
		if err := run(t, c, "SELECT 1"); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
	}
	p.clock.Advance(time.Hour)
	wantCode(t, run(t, una, "SELECT 1"), "28000", `access for user "una" expired at 2026-03-01 10:00:00Z`)
	wantCode(t, run(t, quinn, "SELECT 1"), "28000", `access of role "quality" expired at 2026-03-01 10:00:00Z (end of data use agreement DUA-TEST-7)`)
	for _, c := range []*pgx.Conn{una, quinn} {
		if err := run(t, c, "SELECT 1"); err == nil {
			t.Error("an expired session ran another statement")
		}
	}
	// New connections are refused too.
	cfg, _ := pgx.ParseConfig(strings.Replace(p.dsn("frank"), "user=frank", "user=quinn", 1))
	_, err := pgx.ConnectConfig(context.Background(), cfg)
	wantCode(t, err, "28000", `access of role "quality" expired`)

	p.stop()
	var expiries []map[string]any
	quinnStatements := 0
	for _, r := range decodeRecords[map[string]any](t, p.audit) {
		if r["kind"] == "expiry" {
			expiries = append(expiries, r)
		}
		if r["user"] == "quinn" && (r["kind"] == "statement" || r["kind"] == "connect") {
			quinnStatements++
			if r["data_use_agreement"] != "DUA-TEST-7" {
				t.Errorf("a %s record of a limited data set role lacks its data use agreement: %v", r["kind"], r)
			}
		}
	}
	if quinnStatements == 0 {
		t.Error("no connect or statement record of quinn")
	}
	if len(expiries) != 2 {
		t.Fatalf("audit has %d expiry records, want 2", len(expiries))
	}
	for _, r := range expiries {
		if r["user"] == "quinn" && r["data_use_agreement"] != "DUA-TEST-7" {
			t.Errorf("the expiry record of a limited data set role lacks its agreement: %v", r)
		}
	}
}
