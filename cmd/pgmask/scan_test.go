package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/config/discover"
	"github.com/pgmask/pgmask/examples"
	"github.com/pgmask/pgmask/integration/clinic"
)

// loadProposal parses what pgmask scan printed as the [tables] section of a file with
// the smallest [upstream] there can be.
func loadProposal(t *testing.T, out string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("[upstream]\ndatabase = \"clinic\"\nuser = \"pgmask\"\n\n"+out), "scan.toml")
	if err != nil {
		t.Fatalf("the proposal does not load: %v\n%s", err, out)
	}
	return cfg
}

// lineOf returns the line of out that classifies column, or "".
func lineOf(out, column string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, column+" ") || strings.HasPrefix(line, column+"=") {
			return line
		}
	}
	return ""
}

func TestScanProposesTheExampleClassificationOfTheClinicData(t *testing.T) {
	cluster := clinicCluster(t)
	ctx := context.Background()

	code, out, errOut := pgmask("", "scan", "--dsn", cluster.DSN("clinic"))
	if code != 0 {
		t.Fatalf("exit code %d:\n%s%s", code, out, errOut)
	}
	t.Logf("pgmask scan printed:\n%s", out)
	got := loadProposal(t, out)
	want, err := config.Parse(examples.Config, examples.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("every column gets the category of the example configuration", func(t *testing.T) {
		if !slices.Equal(tableNames(got.Tables), tableNames(want.Tables)) {
			t.Errorf("tables %v, want %v", tableNames(got.Tables), tableNames(want.Tables))
		}
		for name, w := range want.Tables {
			g := got.Tables[name]
			for col, category := range w.Columns {
				if g.Columns[col] != category {
					t.Errorf("%s.%s: %q, want %q (%s)", name, col, g.Columns[col], category, strings.TrimSpace(lineOf(out, col)))
				}
			}
			if !maps.Equal(g.Columns, w.Columns) {
				t.Errorf("%s: columns %v, want %v", name, g.Columns, w.Columns)
			}
			if g.SubjectKey != w.SubjectKey {
				t.Errorf("%s: subject_key %q, want %q", name, g.SubjectKey, w.SubjectKey)
			}
		}
	})

	t.Run("identifiers are proposed with confidence, none is marked for review", func(t *testing.T) {
		if strings.Contains(out, "# REVIEW") {
			t.Errorf("the clinic data needs no review:\n%s", out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, ` = "`) && !strings.Contains(line, "  # 0.") {
				t.Errorf("no confidence and reason: %q", line)
			}
		}
	})

	t.Run("no sampled value is printed", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, cluster.DSN("clinic"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT ssn FROM clinic.patients UNION ALL SELECT mrn FROM clinic.patients
UNION ALL SELECT phone FROM clinic.patients WHERE phone <> '' UNION ALL SELECT email FROM clinic.patients WHERE email <> ''
UNION ALL SELECT street FROM clinic.patients WHERE street <> '' UNION ALL SELECT account_number FROM clinic.claims
UNION ALL SELECT provider FROM clinic.encounters UNION ALL SELECT left(body, 30) FROM clinic.notes`)
		if err != nil {
			t.Fatal(err)
		}
		values, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, clinic.CanaryFirstName, clinic.CanaryLastName, clinic.CanarySSN, clinic.CanaryPhone,
			clinic.CanaryEmail, clinic.CanaryStreet, clinic.CanaryProgressMarker, clinic.CanaryPsychotherapyMarker)
		for _, v := range values {
			if strings.Contains(out+errOut, v) {
				t.Errorf("the output contains the sampled value %q", v)
			}
		}
	})

	// More relations, in a schema of their own so the clinic tables stay as they are.
	if err := cluster.Exec(ctx, "clinic", `CREATE SCHEMA intake;
CREATE TABLE intake.contacts (id int PRIMARY KEY, patient_id bigint REFERENCES clinic.patients, reach text, seen_from inet, label text);
INSERT INTO intake.contacts SELECT g, g, 'person' || g || '@example.org', '10.0.0.1', 'x' FROM generate_series(1, 50) g;
CREATE VIEW intake.reachable AS SELECT id, reach FROM intake.contacts;
CREATE TABLE intake.calls AS SELECT g AS id, '555-201-' || lpad((g % 10000)::text, 4, '0') AS dial FROM generate_series(1, 20000) g;
ANALYZE intake.calls;
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed ""Case"" T" ("Email Address" text, "weird.col" text, "Last Name" text);
INSERT INTO "Odd Schema"."Mixed ""Case"" T" SELECT 'p' || g || '@example.org', 'x', 'Smith' FROM generate_series(1, 20) g;
CREATE SCHEMA pgmask;
CREATE TABLE pgmask.audit (record jsonb);
CREATE ROLE scanner LOGIN PASSWORD 'scanner-secret';
GRANT USAGE ON SCHEMA intake TO scanner;`); err != nil {
		t.Fatal(err)
	}

	t.Run("values reveal what names hide, in tables, views and sampled large tables", func(t *testing.T) {
		code, out, errOut := pgmask("", "scan", "--dsn", cluster.DSN("clinic"), "--schema", "intake", "--sample", "100")
		if code != 0 {
			t.Fatalf("exit code %d:\n%s%s", code, out, errOut)
		}
		cfg := loadProposal(t, out)
		for _, c := range []struct{ table, column, want string }{
			{"intake.contacts", "reach", "email"},
			{"intake.contacts", "seen_from", "ip_address"},
			{"intake.contacts", "patient_id", "none"},
			{"intake.reachable", "reach", "email"},
			{"intake.calls", "dial", "phone"},
		} {
			if got := cfg.Tables[c.table].Columns[c.column]; got != c.want {
				t.Errorf("%s.%s: %q, want %q\n%s", c.table, c.column, got, c.want, out)
			}
		}
		if cfg.Tables["intake.contacts"].SubjectKey != "patient_id" {
			t.Errorf("intake.contacts: subject_key %q, want patient_id", cfg.Tables["intake.contacts"].SubjectKey)
		}
		if len(cfg.Tables) != 3 {
			t.Errorf("--schema intake: tables %v", tableNames(cfg.Tables))
		}
	})

	t.Run("--sample 0 reads no values", func(t *testing.T) {
		_, out, _ := pgmask("", "scan", "--dsn", cluster.DSN("clinic"), "--schema", "intake", "--sample", "0")
		cfg := loadProposal(t, out)
		if got := cfg.Tables["intake.contacts"].Columns["reach"]; got != "none" || !strings.Contains(lineOf(out, "reach"), "REVIEW") {
			t.Errorf("reach without values: %q\n%s", got, out)
		}
		if !strings.Contains(out, "no values read") {
			t.Errorf("the header does not say no values were read:\n%s", out)
		}
	})

	t.Run("a table the user cannot read is classified by names and types", func(t *testing.T) {
		dsn := fmt.Sprintf("postgres://scanner:scanner-secret@%s:%d/clinic?sslmode=disable", cluster.Host, cluster.Port)
		code, out, errOut := pgmask("", "scan", "--dsn", dsn, "--schema", "intake")
		if code != 0 {
			t.Fatalf("exit code %d:\n%s%s", code, out, errOut)
		}
		cfg := loadProposal(t, out)
		if !strings.Contains(out, "values not sampled (permission denied)") || cfg.Tables["intake.contacts"].Columns["seen_from"] != "ip_address" {
			t.Errorf("unreadable tables:\n%s", out)
		}
	})

	t.Run("awkward names are quoted, names pgmask cannot use left out, pgmask's schema skipped", func(t *testing.T) {
		code, out, errOut := pgmask("", "scan", "--dsn", cluster.DSN("clinic"))
		if code != 0 {
			t.Fatalf("exit code %d:\n%s%s", code, out, errOut)
		}
		cfg := loadProposal(t, out)
		odd := cfg.Tables[`Odd Schema.Mixed "Case" T`]
		if odd.Columns["Email Address"] != "email" || odd.Columns["Last Name"] != "name" || len(odd.Columns) != 2 {
			t.Errorf(`"Odd Schema"."Mixed ""Case"" T": %v`, odd.Columns)
		}
		if !strings.Contains(out, `# "weird.col"`) {
			t.Errorf("the column with a dot is not shown commented out:\n%s", out)
		}
		for name := range cfg.Tables {
			if strings.HasPrefix(name, "pgmask.") {
				t.Errorf("pgmask's own schema is scanned: %s", name)
			}
		}
	})

	t.Run("usage errors exit 2, connection errors 1", func(t *testing.T) {
		for _, args := range [][]string{{"scan"}, {"scan", "--dsn", cluster.DSN("clinic"), "--sample", "-1"}, {"scan", "--dsn", cluster.DSN("clinic"), "extra"}} {
			if code, _, errOut := pgmask("", args...); code != 2 || !strings.Contains(errOut, "Usage: pgmask scan") {
				t.Errorf("%v: exit code %d, stderr %q", args, code, errOut)
			}
		}
		code, _, errOut := pgmask("", "scan", "--dsn", "postgres://x@127.0.0.1:1/clinic?sslmode=disable&connect_timeout=5")
		if code != 1 || !strings.Contains(errOut, "pgmask scan:") {
			t.Errorf("unreachable database: exit code %d, stderr %q", code, errOut)
		}
	})
}

func TestScanSamplesLargeTablesWithTablesampleAndQuotesNames(t *testing.T) {
	table := discover.Table{Schema: `Odd "S"`, Name: "t", Columns: []discover.Column{{Name: "a b", Type: "text"}, {Name: "img", Type: "bytea"}}}
	big := relation{Table: table, kind: 'r', rows: 1e6, byteaCols: map[int]bool{1: true}}
	q := sampleQuery(&big.Table, big.sampling(1000))
	want := `SELECT left("a b"::text, 1000), substring("img" FROM 1 FOR 64)::text FROM "Odd ""S"""."t" TABLESAMPLE SYSTEM (0.200000) REPEATABLE (0) LIMIT 1000`
	if q != want {
		t.Errorf("large table:\n got %s\nwant %s", q, want)
	}
	for _, r := range []relation{
		{Table: table, kind: 'r', rows: 3000}, // small: LIMIT reads it all or nearly
		{Table: table, kind: 'r', rows: -1},   // never analyzed
		{Table: table, kind: 'v', rows: 1e6},  // views cannot be sampled
		{Table: table, kind: 'p', rows: 1e6},  // partitioned: LIMIT
		{Table: table, kind: 'f', rows: 1e6},  // foreign: LIMIT, pushed down
	} {
		if q := sampleQuery(&r.Table, r.sampling(1000)); strings.Contains(q, "TABLESAMPLE") || !strings.HasSuffix(q, " LIMIT 1000") {
			t.Errorf("relkind %c, %v rows: %s", r.kind, r.rows, q)
		}
	}
}

func tableNames(m map[string]config.Table) []string { return slices.Sorted(maps.Keys(m)) }
