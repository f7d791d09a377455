package proxy

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/rewriter"
)

// metricsServer is a Server that is not serving: its upstream is a closed port, its
// audit log a file in the test's directory, and its catalog holds clinic.patients.
func metricsServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "audit.key"), []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cfg := &config.Config{
		Upstream: config.Upstream{Address: closed, Database: "clinic", User: "pgmask", SSLMode: "disable"},
		Tables: map[string]config.Table{
			"clinic.patients": {Columns: map[string]string{"id": "none", "ssn": "ssn"}},
		},
		Roles: map[string]config.Role{
			"clinician": {Profile: "full"},
			"support":   {Profile: "minimum_necessary", Tables: []string{"clinic.patients"}},
		},
		Audit: config.Audit{Path: filepath.Join(dir, "audit.jsonl"), KeyFile: filepath.Join(dir, "audit.key")},
	}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func loadPatients(t *testing.T, s *Server) {
	t.Helper()
	cat, err := rewriter.NewCatalog(1, rewriter.CatalogData{
		Schemas: []rewriter.Schema{{OID: 2200, Name: "public"}, {OID: 16384, Name: "clinic"}},
		Relations: []rewriter.Relation{{OID: 16385, Schema: "clinic", Name: "patients", Kind: rewriter.KindTable,
			Columns: []rewriter.Column{{Name: "id", Type: "integer", Num: 1}, {Name: "ssn", Type: "text", Num: 2}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.SetCatalog(cat)
}

// testSession is an authenticated session of role, without connections.
func testSession(t *testing.T, s *Server, role string) *Session {
	t.Helper()
	client, peer := net.Pipe()
	t.Cleanup(func() { client.Close(); peer.Close() })
	sess := newSession(s, client)
	sess.role, sess.user, sess.snap = role, role, s.snapshot.Load()
	return sess
}

// scrape returns the series of /metrics, "name{labels}" → value.
func scrape(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	series := map[string]string{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		series[line[:i]] = line[i+1:]
	}
	return series
}

func TestStatementsAreCountedByRoleAndDecisionAndDenialsByCondition(t *testing.T) {
	s := metricsServer(t)
	loadPatients(t, s)
	now := time.Now()
	clinician, support := testSession(t, s, "clinician"), testSession(t, s, "support")

	clinician.rewrite(clinician.snap, "SELECT ssn FROM clinic.patients", now)
	for range 2 {
		support.rewrite(support.snap, "SELECT id FROM clinic.patients WHERE id = 1", now)
	}
	// Denials are counted where every one of them passes: the session's queue.
	for _, sql := range []string{"DELETE FROM clinic.patients", "SELEC 1"} {
		res := support.rewrite(support.snap, sql, now)
		if res.Denial == nil {
			t.Fatalf("%s was not refused", sql)
		}
		support.denials.add(res.Denial, 1)
	}
	support.denials.add(errAuditUnavailable, 2)
	support.denials.add(&rewriter.Denial{Code: "XX999", Message: "something new"}, 2)

	got := scrape(t, s.MetricsHandler())
	want := map[string]string{
		`pgmask_statements_total{decision="allowed",role="clinician"}`:         "1",
		`pgmask_statements_total{decision="rewritten",role="support"}`:         "2",
		`pgmask_statements_total{decision="denied",role="support"}`:            "4",
		`pgmask_statements_total{decision="denied",role="clinician"}`:          "0",
		`pgmask_denials_total{reason="insufficient_privilege",role="support"}`: "1",
		`pgmask_denials_total{reason="syntax_error",role="support"}`:           "1",
		`pgmask_denials_total{reason="system_error",role="support"}`:           "1",
		`pgmask_denials_total{reason="other",role="support"}`:                  "1",
		`pgmask_rewrite_duration_seconds_count`:                                "5",
		`pgmask_rewrite_cache_hits_total`:                                      "1",
		`pgmask_rewrite_cache_misses_total`:                                    "3",
		`pgmask_break_glass_sessions`:                                          "0",
		`pgmask_audit_healthy`:                                                 "1",
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %q, want %s", series, got[series], v)
		}
	}
}

func TestCountingAStatementDoesNotAllocate(t *testing.T) {
	s := metricsServer(t)
	sess := testSession(t, s, "support")
	res := rewriter.Result{SQL: "SELECT 1"}
	sess.counted(res, time.Now()) // resolves the role's counters
	start := time.Now()
	if n := testing.AllocsPerRun(100, func() { sess.counted(res, start) }); n != 0 {
		t.Errorf("counting a statement allocates %v times", n)
	}
}

func TestReadyzSaysWhatIsMissingAndHealthzOnlyThatTheProcessRuns(t *testing.T) {
	s := metricsServer(t)
	h := s.MetricsHandler()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || body != "not ready: catalog not loaded; upstream unreachable\n" {
		t.Errorf("/readyz before the catalog is loaded, upstream down: %d %q", code, body)
	}
	s.Shutdown(context.Background())
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body != "not ready: shutting down\n" {
		t.Errorf("/readyz after Shutdown: %d %q", code, body)
	}
}

func TestTheUpstreamCheckIsCachedBriefly(t *testing.T) {
	s := metricsServer(t)
	ctx := context.Background()
	if err := s.upstreamCheck.run(ctx, s); err == nil {
		t.Fatal("a closed port was found reachable")
	}
	first := s.upstreamCheck.at
	s.upstreamCheck.run(ctx, s)
	if s.upstreamCheck.at != first {
		t.Error("a second check within upstreamCheckEvery connected again")
	}
}

// Every metric pgmask exports is documented, with its type.
func TestEveryMetricIsDocumented(t *testing.T) {
	s := metricsServer(t)
	sess := testSession(t, s, "support")
	sess.counted(rewriter.Result{}, time.Now())
	s.metrics.refusedConnection(fatalf(codeInvalidPassword, "x", ""))
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	families, err := s.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, "pgmask_") {
			continue
		}
		typ := strings.ToLower(f.GetType().String())
		row := regexp.MustCompile("(?m)^\\| `" + name + "` \\| " + typ + " \\|")
		if !row.Match(doc) {
			t.Errorf("docs/operations.md has no row | `%s` | %s |", name, typ)
		}
	}
}
