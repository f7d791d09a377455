package integration

import (
	"strings"
	"testing"
)

// psqlBoth runs psql with the same input and arguments through pgmask as dana and
// directly as the superuser, and fails the test if either could not connect.
func psqlBoth(t *testing.T, p *testProxy, stdin string, args ...string) (proxied, direct psqlResult) {
	t.Helper()
	proxied = runPsql(t, p.dsn("dana"), stdin, args...)
	direct = runPsql(t, directConnString(), stdin, args...)
	for _, r := range []psqlResult{proxied, direct} {
		if strings.Contains(r.stderr, "connection to server") {
			t.Fatalf("psql could not connect: %s", r.stderr)
		}
	}
	return proxied, direct
}

func TestPsqlDescribeCommandsPrintWhatTheyPrintOnPostgreSQL(t *testing.T) {
	p := startProxy(t, nil)
	for _, cmd := range []string{
		`\d clinic.patients`,
		`\dt clinic.*`,
		`\d+ clinic.notes`,
		`\dn`,
		`\df pg_catalog.int4pl`,
		`\l clinic`,
	} {
		t.Run(cmd, func(t *testing.T) {
			got, want := psqlBoth(t, p, "", "-c", cmd)
			if got.err != nil || want.err != nil {
				t.Fatalf("psql failed: through pgmask %v %s; directly %v %s", got.err, got.stderr, want.err, want.stderr)
			}
			if got.stdout != want.stdout || got.stderr != want.stderr {
				t.Errorf("through pgmask:\n%s%s\ndirectly:\n%s%s", got.stdout, got.stderr, want.stdout, want.stderr)
			}
		})
	}
}

func TestPsqlCopyToStdoutPrintsWhatItPrintsOnPostgreSQL(t *testing.T) {
	p := startProxy(t, nil)
	for _, sql := range []string{
		"COPY (SELECT id, last_name, dob, email FROM clinic.patients ORDER BY id) TO STDOUT",
		"COPY (SELECT * FROM clinic.claims ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)",
		`\copy (SELECT body FROM clinic.notes ORDER BY id LIMIT 500) TO STDOUT`,
	} {
		got, want := psqlBoth(t, p, "", "-c", sql)
		if got.err != nil {
			t.Fatalf("%s: %v\n%s", sql, got.err, got.stderr)
		}
		if len(want.stdout) < 1000 || got.stdout != want.stdout {
			t.Errorf("%s: %d bytes through pgmask, %d directly, not equal", sql, len(got.stdout), len(want.stdout))
		}
	}
}

func TestPsqlPrintsEveryResultOfAMultiStatementString(t *testing.T) {
	p := startProxy(t, nil)
	got, want := psqlBoth(t, p, "", "-A", "-t", "-c", "SELECT 1; SELECT 2;")
	if got.err != nil {
		t.Fatalf("psql: %v\n%s", got.err, got.stderr)
	}
	if got.stdout != "1\n2\n" || got.stdout != want.stdout {
		t.Errorf("psql -c 'SELECT 1; SELECT 2;' printed %q through pgmask and %q directly, want \"1\\n2\\n\"", got.stdout, want.stdout)
	}
}

func TestPsqlRecoversFromAnErrorInTheSameSession(t *testing.T) {
	p := startProxy(t, nil)
	script := `SELECT 1/0;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT 42 AS answer;
BEGIN;
SELECT 1/0;
SELECT 'never';
ROLLBACK;
SELECT 'after rollback' AS status;
`
	got, want := psqlBoth(t, p, script, "-v", "ON_ERROR_STOP=0", "-f", "-")
	if got.stdout != want.stdout || got.stderr != want.stderr {
		t.Errorf("through pgmask:\n%s%s\ndirectly:\n%s%s", got.stdout, got.stderr, want.stdout, want.stderr)
	}
	for _, s := range []string{"sqlstate 22012", " answer \n--------\n     42\n", "after rollback"} {
		if !strings.Contains(got.stdout, s) {
			t.Errorf("psql output lacks %q:\n%s", s, got.stdout)
		}
	}
	for _, s := range []string{"ERROR:  division by zero", "ERROR:  current transaction is aborted, commands ignored until end of transaction block"} {
		if !strings.Contains(got.stderr, s) {
			t.Errorf("psql errors lack %q:\n%s", s, got.stderr)
		}
	}
}

func TestPsqlShowsADenialWithItsHintAndCarriesOn(t *testing.T) {
	p := startProxy(t, nil)
	script := "SELECT ssn FROM clinic.patients WHERE id = 1;\n\\echo sqlstate :LAST_ERROR_SQLSTATE\n\\echo still connected\n"
	r := runPsql(t, p.dsn("sam"), script, "-v", "ON_ERROR_STOP=0", "-f", "-")
	if r.err != nil {
		t.Fatalf("psql: %v\n%s", r.err, r.stderr)
	}
	for _, s := range []string{"ERROR:  ", "HINT:  "} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("psql's report of the denial lacks %q:\n%s", s, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "sqlstate 42501\nstill connected") {
		t.Errorf("psql printed %q, want the 42501 and the session carrying on", r.stdout)
	}
	if strings.Contains(r.stderr, "connection") {
		t.Errorf("psql lost its connection:\n%s", r.stderr)
	}
}
