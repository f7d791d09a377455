package main

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// subjectCodes reads pgmask.subject_codes directly, as the superuser: subject → code.
func subjectCodes(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT subject, code FROM pgmask.subject_codes")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int64{}
	for rows.Next() {
		var s string
		var c int64
		if err := rows.Scan(&s, &c); err != nil {
			t.Fatal(err)
		}
		codes[s] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return codes
}

func TestInitCreatesTheTableOfCodesGrantsItAndIsIdempotent(t *testing.T) {
	cluster := clinicCluster(t)
	ctx := context.Background()
	if err := cluster.Exec(ctx, "clinic", `CREATE ROLE reid_up LOGIN PASSWORD 'reid'; CREATE ROLE reid_reader LOGIN; CREATE ROLE reid_other LOGIN;
GRANT USAGE ON SCHEMA clinic TO reid_up, reid_reader; GRANT SELECT ON ALL TABLES IN SCHEMA clinic TO reid_up, reid_reader`); err != nil {
		t.Fatal(err)
	}
	// The example policy, as an [upstream] user that may not create schemas, with the
	// safe_harbor role connecting as its own user.
	path := exampleFile(t, cluster)
	text := strings.Replace(readFile(t, path), "[roles.researcher]\n", "[roles.researcher]\nupstream_user = \"reid_reader\"\n", 1)
	text = strings.Replace(text, `user = "`+cluster.User+`"`, `user = "reid_up"`, 1)
	path = writeFile(t, "pgmask.toml", text)
	t.Setenv("PGMASK_UPSTREAM_PASSWORD", "reid")

	code, out, errOut := pgmask("", "check", "--config", path)
	if code != 1 || !strings.Contains(out, `"reid_up" may not create it: run "pgmask init --dsn ADMIN_DSN"`) {
		t.Errorf("check before init: exit code %d, want 1 and an error asking for pgmask init\n%s%s", code, out, errOut)
	}
	code, out, errOut = pgmask("", "init", "--config", path)
	if code != 1 || !strings.Contains(errOut, "creating schema pgmask") {
		t.Errorf("init as a user that may not create schemas: exit code %d, want 1 saying so\n%s%s", code, out, errOut)
	}

	code, out, errOut = pgmask("", "init", "--config", path, "--dsn", cluster.DSN("clinic"))
	if code != 0 {
		t.Fatalf("first init as the superuser: exit code %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"pgmask.subject_codes: created", "reid_reader", "clinic.encounters, clinic.patients: 100 new codes"} {
		if !strings.Contains(out, want) {
			t.Errorf("the first init's report lacks %q:\n%s", want, out)
		}
	}
	first := subjectCodes(t, cluster.DSN("clinic"))
	if len(first) != 100 {
		t.Fatalf("%d codes, want one for each of the 100 patients", len(first))
	}
	seen := map[int64]bool{}
	for subject, c := range first {
		if c < 1 || c > 2147483647 || seen[c] || subject == "" {
			t.Errorf("subject %s has code %d: want distinct codes in 1..2147483647", subject, c)
		}
		seen[c] = true
	}

	conn, err := pgx.Connect(ctx, cluster.DSN("clinic"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range []struct {
		user string
		priv string
		want bool
	}{
		{"reid_reader", "SELECT", true},
		{"reid_reader", "INSERT", false},
		{"reid_up", "INSERT", true},     // it codes new subjects at every catalog refresh
		{"reid_other", "SELECT", false}, // nothing is left to PUBLIC
	} {
		var got bool
		err := conn.QueryRow(ctx, "SELECT has_schema_privilege($1, 'pgmask', 'USAGE') AND has_table_privilege($1, 'pgmask.subject_codes', $2)",
			c.user, c.priv).Scan(&got)
		if err != nil || got != c.want {
			t.Errorf("%s has %s on pgmask.subject_codes: %v (%v), want %v", c.user, c.priv, got, err, c.want)
		}
	}

	code, out, errOut = pgmask("", "check", "--config", path)
	if strings.Contains(out, "re-identification") || strings.Contains(out, "subject_codes") {
		t.Errorf("check after init still reports the codes:\n%s%s", out, errOut)
	}

	// From now on the [upstream] user itself keeps the codes up to date.
	code, out, errOut = pgmask("", "init", "--config", path)
	if code != 0 || !strings.Contains(out, "pgmask.subject_codes: exists") || !strings.Contains(out, "0 new codes") {
		t.Errorf("second init: exit code %d, want 0 reporting 0 new codes\n%s%s", code, out, errOut)
	}
	if again := subjectCodes(t, cluster.DSN("clinic")); !maps.Equal(again, first) {
		t.Error("a second init changed the codes")
	}

	if _, err := conn.Exec(ctx, `INSERT INTO clinic.patients (id, first_name, last_name, ssn, mrn, dob, city, state, zip, sex)
VALUES (100001, 'New', 'Patient', '000-00-0001', 'MRN-NEW-0001', '1980-01-01', 'Town', 'MA', '02134', 'F')`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = pgmask("", "init", "--config", path)
	if code != 0 || !strings.Contains(out, "1 new code\n") {
		t.Errorf("init after a new patient: exit code %d, want 0 reporting 1 new code\n%s%s", code, out, errOut)
	}
	third := subjectCodes(t, cluster.DSN("clinic"))
	if third["100001"] == 0 || len(third) != 101 {
		t.Errorf("the new patient has no code (%d codes)", len(third))
	}
	delete(third, "100001")
	if !maps.Equal(third, first) {
		t.Error("coding a new patient changed the others' codes")
	}
}
