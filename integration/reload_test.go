package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
)

// grantPatients classifies clinic.patients and grants it to the support role.
func grantPatients(cfg *config.Config) {
	cfg.Tables["clinic.patients"] = config.Table{
		SubjectKey: "id",
		Columns:    map[string]string{"id": "none", "state": "state", "ssn": "ssn"},
	}
	r := cfg.Roles["support"]
	r.Tables = []string{"clinic.patients"}
	r.Transforms = map[string]string{"ssn": "last4"}
	cfg.Roles["support"] = r
}

func TestAReloadThatChangesARoleEndsItsOpenSessionsAtTheirNextStatement(t *testing.T) {
	p := startProxy(t, grantPatients)
	conn := p.connect(t, "sam")
	other := p.connect(t, "dana") // role clinician, unchanged by the reload
	ctx := context.Background()

	var ssn string
	if err := conn.QueryRow(ctx, "SELECT ssn FROM clinic.patients WHERE id = 1").Scan(&ssn); err != nil {
		t.Fatalf("before the reload the granted table is readable: %v", err)
	}
	if !strings.HasPrefix(ssn, "XXX-XX-") {
		t.Fatalf("ssn = %q, want it masked to its last four digits", ssn)
	}
	// A statement prepared under the old policy lives upstream; it must not outlive it.
	if _, err := conn.Prepare(ctx, "lookup", "SELECT ssn FROM clinic.patients WHERE id = $1"); err != nil {
		t.Fatal(err)
	}

	revoked := baseConfig() // support no longer has clinic.patients
	revoked.Audit = p.cfg.Audit
	if err := revoked.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.Reload(revoked); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	_, err := conn.Exec(ctx, "lookup", 1)
	if pgErr := asPgError(err); pgErr == nil || pgErr.Code != "57P01" || !strings.Contains(pgErr.Message, "policy") {
		t.Fatalf("executing a statement prepared before the revocation gave %v, want the session ended with 57P01", err)
	}
	fresh := p.connect(t, "sam")
	_, err = fresh.Exec(ctx, "SELECT ssn FROM clinic.patients WHERE id = 1")
	if pgErr := asPgError(err); pgErr == nil || pgErr.Code != "42501" {
		t.Fatalf("a new session after the revocation got %v, want SQLSTATE 42501", err)
	}
	if _, err := other.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("a session whose role the reload did not change keeps working: %v", err)
	}
}

func TestAnInvalidReloadKeepsTheRunningPolicyAndSaysWhy(t *testing.T) {
	p := startProxy(t, grantPatients)
	conn := p.connect(t, "sam")

	bad := baseConfig()
	grantPatients(bad)
	r := bad.Roles["support"]
	r.Rows = map[string]string{"clinic.patients": "this is not SQL"}
	bad.Roles["support"] = r
	err := bad.CheckAndSetDefaults()
	if err == nil {
		err = p.srv.Reload(bad)
	}
	if err == nil || !strings.Contains(err.Error(), "clinic.patients") {
		t.Fatalf("an unparsable row filter was accepted or its error does not name the table: %v", err)
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM clinic.patients").Scan(&n); err != nil || n == 0 {
		t.Fatalf("the running policy still serves the table: n=%d err=%v", n, err)
	}
}
