package audit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// reviewFixture is a small day of audit records: a support user with masked lookups
// and denials, a clinician who broke the glass, a researcher on a limited data set and
// a failed login.
func reviewFixture(t *testing.T) []byte {
	t.Helper()
	clk := newClock()
	sink := &memSink{}
	l := newTestLogger(t, testConfig(), sink, clk)
	alice := Session{ID: "a1", User: "alice", Role: "support", Client: "10.0.0.7:50123", ApplicationName: "psql", Database: "clinic"}
	bob := Session{ID: "b1", User: "bob", Role: "clinician", Client: "10.0.0.8:40000", Database: "clinic"}
	rita := Session{ID: "r1", User: "rita", Role: "researcher", Purpose: "research", Client: "10.0.0.9:1234",
		Database: "clinic", DataUseAgreement: "DUA-2026-07"}
	lookup := Query{SQL: Normalize("SELECT first_name, ssn, dob FROM clinic.patients WHERE id = 42"), Kind: "SELECT",
		Access: []Access{
			{"clinic.patients", "id", TreatmentRaw},
			{"clinic.patients", "first_name", TreatmentRaw},
			{"clinic.patients", "ssn", "masked:last4"},
			{"clinic.patients", "dob", "masked:year"},
		}}
	notes := Query{SQL: Normalize("SELECT body FROM clinic.notes"), Kind: "SELECT"}
	study := Query{SQL: Normalize("SELECT zip, dob, sex FROM clinic.patients"), Kind: "SELECT",
		Access: []Access{
			{"clinic.patients", "zip", TreatmentRaw},
			{"clinic.patients", "dob", TreatmentRaw},
			{"clinic.patients", "sex", TreatmentRaw},
			{"clinic.encounters", "", TreatmentFiltered},
		}}
	full := Query{SQL: Normalize("SELECT ssn FROM clinic.patients WHERE id = 42"), Kind: "SELECT",
		Access: []Access{{"clinic.patients", "id", TreatmentRaw}, {"clinic.patients", "ssn", TreatmentRaw}}}
	bobElevated := bob
	bobElevated.Role, bobElevated.BreakGlass = "emergency", true

	step := func(r Record) {
		t.Helper()
		clk.Add(7 * time.Minute)
		if err := l.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	step(Connect(alice))
	step(Statement(alice, lookup, Rewritten, Outcome{Rows: CountRows(1), Duration: 2 * time.Millisecond}))
	step(Statement(alice, lookup, Rewritten, Outcome{Rows: CountRows(1), Duration: time.Millisecond}))
	step(Denial(alice, notes, `relation "clinic.notes" is not available to role support`, "42501"))
	step(Denial(alice, notes, `relation "clinic.notes" is not available to role support`, "42501"))
	step(AuthFailure(Session{User: "mallory", Client: "203.0.113.5:999"}, "password authentication failed"))
	step(Connect(bob))
	step(BreakGlassStart(bobElevated, "ED trauma bay 2: unresponsive patient, need allergies", clk.Now().Add(37*time.Minute)))
	step(Statement(bobElevated, full, Allowed, Outcome{Rows: CountRows(1), Duration: time.Millisecond}))
	step(BreakGlassEnd(bobElevated, "expired"))
	step(Connect(rita))
	step(Statement(rita, study, Rewritten, Outcome{Rows: CountRows(2000), Duration: 40 * time.Millisecond}))
	step(Disconnect(alice, time.Hour, "client closed"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return sink.text()
}

var fixtureGrants = map[string]RoleGrants{
	"support":    {Tables: []string{"clinic.patients", "clinic.encounters"}, RawColumns: []string{"clinic.patients.first_name", "clinic.patients.last_name"}},
	"researcher": {Tables: []string{"clinic.patients", "clinic.encounters"}, RawColumns: []string{"clinic.patients.dob", "clinic.patients.zip"}},
	"billing":    {Tables: []string{"clinic.patients"}},
}

var fixtureIdentifiers = map[string]bool{
	"clinic.patients.first_name": true, "clinic.patients.last_name": true, "clinic.patients.ssn": true,
	"clinic.patients.dob": true, "clinic.patients.zip": true,
}

func TestReportAnswersTheAccessReviewQuestions(t *testing.T) {
	fixture := reviewFixture(t)
	if _, err := verifyText(fixture, VerifyOptions{}); err != nil {
		t.Fatalf("the fixture does not verify: %v", err)
	}
	tests := []struct {
		golden string
		opts   ReportOptions
	}{
		{"report_by_user.golden", ReportOptions{Identifiers: fixtureIdentifiers, Grants: fixtureGrants}},
		{"report_by_column.golden", ReportOptions{By: ByColumn, Identifiers: fixtureIdentifiers, Grants: fixtureGrants}},
		{"report_by_role_no_policy.golden", ReportOptions{By: ByRole}},
		{"report_since.golden", ReportOptions{Since: t0.Add(time.Hour), Identifiers: fixtureIdentifiers, Grants: fixtureGrants}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			rep, err := BuildReport([]Input{{Name: "audit.jsonl", R: bytes.NewReader(fixture)}}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := rep.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out.Bytes())
		})
	}
}

func TestReportRefusesAnUnknownGrouping(t *testing.T) {
	if _, err := BuildReport(nil, ReportOptions{By: "table"}); err == nil || !strings.Contains(err.Error(), "--by") {
		t.Errorf("BuildReport(by table) = %v", err)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
