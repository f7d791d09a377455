package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgmask/pgmask/examples"
	"github.com/pgmask/pgmask/proxy/audit"
)

const auditKeyEnv = "PGMASK_TEST_AUDIT_KEY"

// auditFixture writes a small audit log, rotated into several files, with the
// example configuration's roles, and returns the files and the directory.
func auditFixture(t *testing.T) (dir string, files []string) {
	t.Helper()
	t.Setenv(auditKeyEnv, "00112233445566778899aabbccddeeff")
	dir = t.TempDir()
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cfg := audit.Config{Path: filepath.Join(dir, "audit.jsonl"), KeyEnv: auditKeyEnv, MaxBytes: 4096, BatchSize: 1}
	l, err := audit.NewLogger(context.Background(), cfg, audit.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	alice := audit.Session{ID: "a", User: "alice", Role: "support", Client: "10.1.1.1:5000", ApplicationName: "psql", Database: "clinic"}
	q := audit.Query{
		SQL:  audit.Normalize("SELECT first_name, ssn FROM clinic.patients WHERE id = 42"),
		Kind: "SELECT",
		Access: []audit.Access{
			{Relation: "clinic.patients", Column: "id", Treatment: "raw"},
			{Relation: "clinic.patients", Column: "first_name", Treatment: "raw"},
			{Relation: "clinic.patients", Column: "ssn", Treatment: "masked:last4"},
		},
	}
	records := []audit.Record{audit.Connect(alice)}
	for range 12 {
		records = append(records, audit.Statement(alice, q, audit.Rewritten, audit.Outcome{Rows: audit.CountRows(1), Duration: time.Millisecond}))
	}
	bob := audit.Session{ID: "b", User: "bob", Role: "clinician", BreakGlass: true, Client: "10.1.1.2:5000", Database: "clinic"}
	records = append(records,
		audit.Denial(alice, audit.Query{SQL: audit.Normalize("SELECT body FROM clinic.notes")}, `column "body" is not available to role support`, "42501"),
		audit.BreakGlassStart(bob, "cardiac arrest in bay 4", now.Add(30*time.Minute)),
		audit.BreakGlassEnd(bob, "ended by user"),
	)
	for _, r := range records {
		now = now.Add(time.Minute)
		if err := l.Log(r); err != nil {
			t.Fatal(err)
		}
		for l.Stats().Lag > 0 { // one batch per record, so the files rotate by size
			time.Sleep(time.Millisecond)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ = filepath.Glob(filepath.Join(dir, "audit*.jsonl"))
	if len(files) < 2 {
		t.Fatalf("the fixture should span rotated files, got %v", files)
	}
	return dir, files
}

// auditCmd runs `pgmask audit args...` and returns its error and outputs.
func auditCmd(stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = runAudit(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestAuditVerifyReportsOKForAnUntouchedLogGivenInAnyOrder(t *testing.T) {
	_, files := auditFixture(t)
	reversed := make([]string, len(files))
	for i, f := range files {
		reversed[len(files)-1-i] = f
	}
	stdout, stderr, err := auditCmd("", append([]string{"verify", "--key-env", auditKeyEnv}, reversed...)...)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "OK: ") || !strings.Contains(stdout, "in "+strconv.Itoa(len(files))+" files") || !strings.Contains(stdout, "last record: ") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestAuditVerifyNamesTheFirstEditedRecord(t *testing.T) {
	_, files := auditFixture(t)
	victim := files[0]
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	edited := slices.IndexFunc(lines, func(l []byte) bool { return bytes.Contains(l, []byte(`"rows":1`)) })
	if edited < 0 {
		t.Fatalf("no statement in %s", victim)
	}
	lines[edited] = bytes.Replace(lines[edited], []byte(`"rows":1`), []byte(`"rows":0`), 1)
	if err := os.WriteFile(victim, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = auditCmd("", append([]string{"verify", "--key-env", auditKeyEnv}, files...)...)
	at := victim + ":" + strconv.Itoa(edited+1)
	if err == nil || !strings.Contains(err.Error(), "TAMPERED") || !strings.Contains(err.Error(), at) ||
		!strings.Contains(err.Error(), "edited") {
		t.Errorf("verify of an edited log = %v", err)
	}
	var ce *audit.ChainError
	if !errors.As(err, &ce) {
		t.Errorf("the error does not wrap the *audit.ChainError: %v", err)
	}
}

func TestAuditVerifyReadsStdinAndChecksAnAnchor(t *testing.T) {
	_, files := auditFixture(t)
	sorted, err := audit.SortFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range sorted {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	stdout, _, err := auditCmd(string(all), "verify", "--key-env", auditKeyEnv, "-")
	if err != nil {
		t.Fatal(err)
	}
	anchor := strings.Fields(strings.SplitN(stdout, "last record: ", 2)[1])[0]
	if _, _, err := auditCmd(string(all), "verify", "-", "--key-env", auditKeyEnv, "--anchor", anchor); err != nil {
		t.Errorf("with its own anchor: %v", err)
	}
	cut := all[:bytes.LastIndexByte(all[:len(all)-1], '\n')+1]
	_, _, err = auditCmd(string(cut), "verify", "--key-env", auditKeyEnv, "--anchor", anchor, "-")
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a cut log with the anchor: %v", err)
	}
}

func TestAuditVerifyNeedsExactlyOneKeyAndSomeFiles(t *testing.T) {
	for _, args := range [][]string{
		{"verify", "audit.jsonl"},
		{"verify", "--key-env", "A", "--key-file", "B", "audit.jsonl"},
		{"verify", "--key-env", "A"},
		{"frobnicate"},
		{},
	} {
		if _, _, err := auditCmd("", args...); !errors.Is(err, errUsage) {
			t.Errorf("pgmask audit %q = %v, want a usage error", args, err)
		}
	}
}

func TestAuditReportReviewsAccessAgainstThePolicy(t *testing.T) {
	dir, files := auditFixture(t)
	cfgPath := filepath.Join(dir, "pgmask.toml")
	if err := os.WriteFile(cfgPath, examples.Config, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := auditCmd("", append([]string{"report", "--config", cfgPath}, files...)...)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	for _, want := range []string{
		"Identifier columns touched, by user",
		"clinic.patients.first_name  raw           12",
		"clinic.patients.ssn         masked:last4  12",
		`1×  alice (support)  42501  column "body" is not available to role support`,
		`justification: "cardiac arrest in bay 4"`,
		"tables never read: clinic.encounters, clinic.notes",
		"raw identifier columns never read: clinic.encounters.provider, clinic.patients.last_name, clinic.patients.mrn",
		"analyst: no statements at all in the period",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "clinic.patients.id") {
		t.Errorf("without identifier category, id should not be listed:\n%s", stdout)
	}
}

func TestAuditReportWithoutAPolicySkipsTheUnusedGrants(t *testing.T) {
	_, files := auditFixture(t)
	stdout, _, err := auditCmd("", append([]string{"report", "--by", "column", "--since", "2026-03-02T08:10:00Z"}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"by column", "clinic.patients.id\n  alice (support)  raw  4", "skipped: no --config given"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
	if _, _, err := auditCmd("", "report", "--by", "table", files[0]); err == nil || !strings.Contains(err.Error(), "--by") {
		t.Errorf("--by table = %v", err)
	}
}

func TestParseSinceTakesTimesDatesAndDurations(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-03-01T10:00:00Z": time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		"2026-03-01":           time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		"720h":                 now.Add(-720 * time.Hour),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSince("yesterday", now); err == nil {
		t.Error("parseSince(yesterday) succeeded")
	}
}

// The generic command tests of main_test.go will hold `audit` to these once it is
// listed in commands().
func TestAuditHelpAndUnknownFlagsBehaveLikeEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"verify", "--help"}, {"report", "-h"}} {
		_, stderr, err := auditCmd("", args...)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: pgmask audit") {
			t.Errorf("pgmask audit %q = %v:\n%s", args, err, stderr)
		}
	}
	for _, args := range [][]string{{"--no-such-flag"}, {"verify", "--no-such-flag"}, {"report", "x", "--no-such-flag"}} {
		_, stderr, err := auditCmd("", args...)
		if !errors.Is(err, errUsage) || !strings.Contains(stderr, "no-such-flag") {
			t.Errorf("pgmask audit %q = %v:\n%s", args, err, stderr)
		}
	}
}
