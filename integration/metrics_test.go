package integration

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/proxy"
)

// The metrics listener end to end: pgmask in this process in front of the shared
// cluster, its /metrics, /healthz and /readyz read over HTTP as Prometheus and a load
// balancer would.

// serveMetrics runs srv's metrics listener on a free port until srv shuts down and
// returns its base URL.
func serveMetrics(t *testing.T, srv *proxy.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeMetrics(ln)
	return "http://" + ln.Addr().String()
}

// metricsGet returns the status and body of a GET of url.
func metricsGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrapeMetrics returns the body of /metrics and its series, "name{labels}" → value.
func scrapeMetrics(t *testing.T, base string) (string, map[string]float64) {
	t.Helper()
	code, body := metricsGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return body, series
}

// waitReady waits until /readyz answers code and returns its body.
func waitReady(t *testing.T, base string, code int) string {
	t.Helper()
	var got int
	var body string
	eventually(t, 15*time.Second, func() bool {
		got, body = metricsGet(t, base+"/readyz")
		return got == code
	}, "/readyz did not answer %d: last %d %q", code, got, body)
	return body
}

func TestMetricsCountStatementsByRoleAndDecisionAndNeverShowALiteral(t *testing.T) {
	p := startProxy(t, grantPatients)
	base := serveMetrics(t, p.srv)
	ctx := context.Background()
	const canary = "Canary-Literal-4f9a2c"

	if code, body := metricsGet(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if body := waitReady(t, base, http.StatusOK); body != "ready\n" {
		t.Errorf("/readyz: %q", body)
	}

	dana := p.connect(t, "dana", execMode(pgx.QueryExecModeSimpleProtocol)) // clinician, full
	sam := p.connect(t, "sam", execMode(pgx.QueryExecModeSimpleProtocol))   // support
	samExtended := p.connect(t, "sam")
	if _, err := dana.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SELECT ssn FROM clinic.patients WHERE id = 1",
		"SELECT id FROM clinic.patients WHERE ssn = '" + canary + "'",
	} {
		if _, err := sam.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Exec without arguments would use the simple protocol; Query parses.
	rows, err := samExtended.Query(ctx, "SELECT id FROM clinic.patients WHERE state = '"+canary+"'")
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	_, err = sam.Exec(ctx, "SELECT body FROM clinic.notes WHERE body = '"+canary+"'")
	if code := sqlState(err); code != "42501" {
		t.Fatalf("a relation the role is not granted: %v, want 42501", err)
	}
	// A login with a wrong password is refused.
	bad, err := pgx.Connect(ctx, strings.Replace(p.dsn("sam"), password("sam"), canary, 1))
	if err == nil {
		bad.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}

	body, got := scrapeMetrics(t, base)
	want := map[string]float64{
		`pgmask_statements_total{decision="allowed",role="clinician"}`:         1,
		`pgmask_statements_total{decision="rewritten",role="support"}`:         3,
		`pgmask_statements_total{decision="denied",role="support"}`:            1,
		`pgmask_statements_total{decision="allowed",role="support"}`:           0,
		`pgmask_denials_total{reason="insufficient_privilege",role="support"}`: 1,
		`pgmask_sessions_total{role="support"}`:                                2,
		`pgmask_sessions_total{role="clinician"}`:                              1,
		`pgmask_connections_total`:                                             4,
		`pgmask_connections_refused_total{reason="invalid_password"}`:          1,
		`pgmask_rewrite_duration_seconds_count`:                                5,
		`pgmask_rewrite_cache_misses_total`:                                    4,
		`pgmask_break_glass_sessions`:                                          0,
		`pgmask_audit_healthy`:                                                 1,
		`pgmask_upstream_errors_total{kind="connect"}`:                         0,
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present: %v), want %v", series, g, ok, v)
		}
	}
	if v := got[`pgmask_connections_active`]; v < 3 {
		t.Errorf("pgmask_connections_active = %v, want at least the 3 open sessions", v)
	}
	if got[`pgmask_audit_records_written_total`] == 0 {
		t.Error("pgmask_audit_records_written_total is 0")
	}
	if strings.Contains(body, canary) || strings.Contains(strings.ToLower(body), strings.ToLower(canary)) {
		t.Errorf("a literal of a statement reached /metrics:\n%s", body)
	}
}

func TestReadyzIsUnavailableWhileTheAuditLogCannotBeWritten(t *testing.T) {
	p := startAuditedProxy(t)
	base := serveMetrics(t, p.srv)
	ctx := context.Background()
	waitReady(t, base, http.StatusOK)

	sam := p.connect(t, "sam", execMode(pgx.QueryExecModeSimpleProtocol))
	p.sink.setFailing(true)
	// Its record is what fails to be written (unless a record before it failed first).
	if _, err := sam.Exec(ctx, "SELECT 1"); err != nil && sqlState(err) != "58000" {
		t.Fatal(err)
	}
	if body := waitReady(t, base, http.StatusServiceUnavailable); body != "not ready: audit log cannot be written\n" {
		t.Errorf("/readyz while the audit sink fails: %q", body)
	}
	_, got := scrapeMetrics(t, base)
	if got["pgmask_audit_healthy"] != 0 || got["pgmask_audit_write_failures_total"] == 0 {
		t.Errorf("while the sink fails: pgmask_audit_healthy = %v, pgmask_audit_write_failures_total = %v",
			got["pgmask_audit_healthy"], got["pgmask_audit_write_failures_total"])
	}
	if _, ok := got["pgmask_audit_last_failure_timestamp_seconds"]; !ok {
		t.Error("pgmask_audit_last_failure_timestamp_seconds is missing after a failure")
	}
	// The refusal is a denial like any other.
	_, err := sam.Exec(ctx, "SELECT id FROM clinic.patients WHERE id = 1")
	if code := sqlState(err); code != "58000" {
		t.Fatalf("a statement while the audit log fails: %v, want 58000", err)
	}
	_, got = scrapeMetrics(t, base)
	if v := got[`pgmask_denials_total{reason="system_error",role="support"}`]; v < 1 {
		t.Errorf(`pgmask_denials_total{reason="system_error",role="support"} = %v, want at least 1`, v)
	}

	p.sink.setFailing(false)
	waitReady(t, base, http.StatusOK)
}

func TestReadyzIsUnavailableWhileTheUpstreamIsUnreachable(t *testing.T) {
	p := startProxy(t, nil)
	base := serveMetrics(t, p.srv)
	ctx := context.Background()
	waitReady(t, base, http.StatusOK)

	// Point pgmask at a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	moved := *p.cfg
	moved.Upstream.Address = closed
	if err := p.srv.Reload(&moved); err != nil {
		t.Fatal(err)
	}
	if body := waitReady(t, base, http.StatusServiceUnavailable); body != "not ready: upstream unreachable\n" {
		t.Errorf("/readyz with the upstream down: %q", body)
	}
	if _, err := pgx.Connect(ctx, p.dsn("dana")); sqlState(err) != "08006" {
		t.Errorf("connecting while the upstream is down: %v, want 08006", err)
	}
	_, got := scrapeMetrics(t, base)
	if got[`pgmask_upstream_errors_total{kind="connect"}`] != 1 || got[`pgmask_connections_refused_total{reason="connection_failure"}`] != 1 {
		t.Errorf("after a failed upstream connection: upstream errors %v, refused %v",
			got[`pgmask_upstream_errors_total{kind="connect"}`], got[`pgmask_connections_refused_total{reason="connection_failure"}`])
	}

	if err := p.srv.Reload(p.cfg); err != nil {
		t.Fatal(err)
	}
	waitReady(t, base, http.StatusOK)
}
