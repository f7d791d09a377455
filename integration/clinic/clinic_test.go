package clinic

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgmask/pgmask/integration/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	cluster, err = pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		os.Stderr.WriteString("clinic: " + err.Error() + "\n")
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			os.Stderr.WriteString("clinic: " + err.Error() + "\n")
		}
	}()
	return m.Run()
}

// database creates a database of its own for one test.
func database(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if len(name) > 63 {
		name = name[:63]
	}
	if err := cluster.CreateDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cluster.DSN(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func load(t *testing.T, conn *pgx.Conn, opts Options) {
	t.Helper()
	start := time.Now()
	if err := Load(context.Background(), conn, opts); err != nil {
		t.Fatalf("Load(%+v): %v", opts, err)
	}
	t.Logf("Load(%+v) took %v", opts, time.Since(start).Round(time.Millisecond))
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// fingerprint is an md5 per table over every column of every row, in id
// order, as PostgreSQL prints them.
func fingerprint(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	fp := map[string]string{}
	for _, table := range []string{"patients", "encounters", "notes", "claims"} {
		var sum string
		sql := "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM clinic." + table + " t"
		if err := conn.QueryRow(context.Background(), sql).Scan(&sum); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		fp[table] = sum
	}
	return fp
}

func TestLoadFillsEveryTableWithTheExpectedShape(t *testing.T) {
	t.Parallel()
	conn := database(t)
	opts := Options{Patients: 500}
	load(t, conn, opts)
	want, err := RowCounts(opts)
	if err != nil {
		t.Fatal(err)
	}
	got := Counts{
		Patients:   queryInt(t, conn, "SELECT count(*) FROM clinic.patients"),
		Encounters: queryInt(t, conn, "SELECT count(*) FROM clinic.encounters"),
		Notes:      queryInt(t, conn, "SELECT count(*) FROM clinic.notes"),
		Claims:     queryInt(t, conn, "SELECT count(*) FROM clinic.claims"),
	}
	if got != want {
		t.Errorf("row counts = %+v, want %+v", got, want)
	}
	if got.Patients != 500 {
		t.Errorf("patients = %d, want 500", got.Patients)
	}
	// About 3 encounters, 2 notes and 2 claims per patient.
	for name, n := range map[string]struct{ got, lo, hi int }{
		"encounters": {got.Encounters, 1250, 1750},
		"notes":      {got.Notes, 800, 1200},
		"claims":     {got.Claims, 800, 1200},
	} {
		if n.got < n.lo || n.got > n.hi {
			t.Errorf("%s = %d, want %d..%d", name, n.got, n.lo, n.hi)
		}
	}

	// Every row has values of the documented shape.
	for _, check := range []struct{ what, sql string }{
		{"ssn like 123-45-6789", `SELECT count(*) FROM clinic.patients WHERE ssn !~ '^\d{3}-\d{2}-\d{4}$'`},
		{"unique ssn", `SELECT count(*) - count(DISTINCT ssn) FROM clinic.patients`},
		{"mrn like MRN00001234", `SELECT count(*) FROM clinic.patients WHERE mrn !~ '^MRN\d{8}$'`},
		{"five-digit zip", `SELECT count(*) FROM clinic.patients WHERE zip !~ '^\d{5}$'`},
		{"two-letter state", `SELECT count(*) FROM clinic.patients WHERE state !~ '^[A-Z]{2}$'`},
		{"phone like 555-123-4567", `SELECT count(*) FROM clinic.patients WHERE phone <> '' AND phone !~ '^\d{3}-\d{3}-\d{4}$'`},
		{"email with @", `SELECT count(*) FROM clinic.patients WHERE email <> '' AND email !~ '^[^@]+@[^@]+$'`},
		{"dob before the reference date", `SELECT count(*) FROM clinic.patients WHERE dob >= '2026-01-01'`},
		{"ICD-10 codes", `SELECT count(*) FROM clinic.encounters e, unnest(e.diagnosis_codes) c WHERE c !~ '^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$'`},
		{"at least one code", `SELECT count(*) FROM clinic.encounters WHERE cardinality(diagnosis_codes) = 0`},
		{"discharge after admission", `SELECT count(*) FROM clinic.encounters WHERE discharged_at <= admitted_at`},
		{"nothing after the reference date", `SELECT (SELECT count(*) FROM clinic.encounters WHERE admitted_at > '2026-01-01Z')
			+ (SELECT count(*) FROM clinic.notes WHERE written_at > '2026-01-01Z')
			+ (SELECT count(*) FROM clinic.claims WHERE billed_on > '2026-01-01')`},
		{"note of the patient's own encounter", `SELECT count(*) FROM clinic.notes n JOIN clinic.encounters e ON e.id = n.encounter_id WHERE e.patient_id <> n.patient_id`},
		{"positive amounts", `SELECT count(*) FROM clinic.claims WHERE amount <= 0`},
	} {
		if n := queryInt(t, conn, check.sql); n != 0 {
			t.Errorf("%s: %d rows break it", check.what, n)
		}
	}
	for _, present := range []struct{ what, sql string }{
		{"NULL email", `SELECT count(*) FROM clinic.patients WHERE email IS NULL AND id > 31`},
		{"empty email", `SELECT count(*) FROM clinic.patients WHERE email = '' AND id > 31`},
		{"NULL phone", `SELECT count(*) FROM clinic.patients WHERE phone IS NULL AND id > 31`},
		{"psychotherapy notes", `SELECT count(*) FROM clinic.notes WHERE note_type = 'psychotherapy'`},
		{"notes quoting a phone number", `SELECT count(*) FROM clinic.notes WHERE body ~ '\d{3}-\d{3}-\d{4}'`},
		{"notes quoting an SSN-like pattern", `SELECT count(*) FROM clinic.notes WHERE body ~ '\d{3}-\d{2}-\d{4}'`},
		{"notes outside an encounter", `SELECT count(*) FROM clinic.notes WHERE encounter_id IS NULL`},
		{"patients aged over 89", `SELECT count(*) FROM clinic.patients WHERE age('2026-01-01', dob) >= '90 years' AND id > 31`},
	} {
		if n := queryInt(t, conn, present.sql); n == 0 {
			t.Errorf("no rows with %s", present.what)
		}
	}
	// Point lookups by patient use the indexes.
	for _, table := range []string{"encounters", "notes", "claims"} {
		if n := queryInt(t, conn, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'clinic' AND tablename = $1 AND indexdef LIKE '%(patient_id)'`, table); n != 1 {
			t.Errorf("%s: %d indexes on patient_id, want 1", table, n)
		}
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_stats WHERE schemaname = 'clinic'`); n == 0 {
		t.Error("tables not analyzed")
	}
}

func TestBoundaryPatientsArePresent(t *testing.T) {
	t.Parallel()
	conn := database(t)
	load(t, conn, Options{Patients: BoundaryPatients})
	ctx := context.Background()

	zip := func(id int) string {
		var z string
		if err := conn.QueryRow(ctx, "SELECT zip FROM clinic.patients WHERE id = $1", id).Scan(&z); err != nil {
			t.Fatalf("patient %d: %v", id, err)
		}
		return z
	}
	if len(RestrictedZIP3) != 17 {
		t.Fatalf("RestrictedZIP3 has %d prefixes, want 17", len(RestrictedZIP3))
	}
	for i, prefix := range RestrictedZIP3 {
		if got := zip(PatientRestrictedZIP + i); got != prefix+"01" {
			t.Errorf("patient %d zip = %s, want %s01", PatientRestrictedZIP+i, got, prefix)
		}
	}
	for i, prefix := range UnrestrictedZIP3 {
		if got := zip(PatientUnrestrictedZIP + i); got != prefix+"01" {
			t.Errorf("patient %d zip = %s, want %s01", PatientUnrestrictedZIP+i, got, prefix)
		}
	}

	for _, c := range []struct {
		id  int
		dob string
		age int
	}{
		{PatientAge88, "1937-01-02", 88},
		{PatientAge89Birthday, "1937-01-01", 89},
		{PatientAge89, "1936-01-02", 89},
		{PatientAge90, "1936-01-01", 90},
		{PatientAge100, "1925-07-04", 100},
		{PatientLeapDay1952, "1952-02-29", 73},
		{PatientLeapDay2000, "2000-02-29", 25},
	} {
		var dob string
		var age int
		err := conn.QueryRow(ctx, `SELECT dob::text, extract(year FROM age($2::date, dob))::int FROM clinic.patients WHERE id = $1`,
			c.id, ReferenceDate).Scan(&dob, &age)
		if err != nil || dob != c.dob || age != c.age {
			t.Errorf("patient %d: dob %s, age %d (err %v); want %s, %d", c.id, dob, age, err, c.dob, c.age)
		}
	}

	var nulls, empties int
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM clinic.patients WHERE id = $1 AND email IS NULL AND phone IS NULL AND street IS NULL),
		(SELECT count(*) FROM clinic.patients WHERE id = $2 AND email = '' AND phone = '' AND street = '')`,
		PatientNullContact, PatientEmptyContact).Scan(&nulls, &empties); err != nil || nulls != 1 || empties != 1 {
		t.Errorf("NULL-contact patient found %d, empty-contact patient found %d (err %v); want 1 and 1", nulls, empties, err)
	}
}

func TestCanaryValuesBelongToTheCanaryAlone(t *testing.T) {
	t.Parallel()
	conn := database(t)
	load(t, conn, Options{Patients: 500})
	ctx := context.Background()

	var first, last, ssn, phone, email, street string
	var dob time.Time
	if err := conn.QueryRow(ctx, `SELECT first_name, last_name, ssn, phone, email, street, dob FROM clinic.patients WHERE id = $1`,
		PatientCanary).Scan(&first, &last, &ssn, &phone, &email, &street, &dob); err != nil {
		t.Fatal(err)
	}
	if first != CanaryFirstName || last != CanaryLastName || ssn != CanarySSN || phone != CanaryPhone ||
		email != CanaryEmail || street != CanaryStreet || !dob.Equal(CanaryDOB) {
		t.Errorf("canary = %s %s %s %s %s %s %v", first, last, ssn, phone, email, street, dob)
	}
	for _, v := range []string{CanaryFirstName, CanaryLastName, CanarySSN, CanaryPhone, CanaryEmail, CanaryStreet} {
		n := queryInt(t, conn, `SELECT count(*) FROM clinic.patients p WHERE id <> $1 AND strpos(p::text, $2) > 0`, PatientCanary, v)
		if n != 0 {
			t.Errorf("%q appears in %d other patients", v, n)
		}
	}
	for marker, noteType := range map[string]string{
		CanaryProgressMarker:      "progress",
		CanaryPsychotherapyMarker: "psychotherapy",
	} {
		n := queryInt(t, conn, `SELECT count(*) FROM clinic.notes WHERE patient_id = $1 AND note_type = $2
			AND encounter_id IS NOT NULL AND strpos(body, $3) > 0 AND strpos(body, $4) > 0 AND strpos(body, $5) > 0`,
			PatientCanary, noteType, marker, CanarySSN, CanaryPhone)
		if n != 1 {
			t.Errorf("canary %s notes with the marker, SSN and phone = %d, want 1", noteType, n)
		}
		if n := queryInt(t, conn, `SELECT count(*) FROM clinic.notes WHERE strpos(body, $1) > 0`, marker); n != 1 {
			t.Errorf("marker %s in %d notes, want 1", marker, n)
		}
	}
}

func TestLoadIsDeterministic(t *testing.T) {
	t.Parallel()
	conn := database(t)
	opts := Options{Patients: 500, Seed: 7}
	load(t, conn, opts)
	first := fingerprint(t, conn)
	load(t, conn, opts) // replaces the schema
	if second := fingerprint(t, conn); !reflect.DeepEqual(first, second) {
		t.Errorf("two loads differ:\n%v\n%v", first, second)
	}
	load(t, conn, Options{Patients: 500, Seed: 8})
	other := fingerprint(t, conn)
	if other["patients"] == first["patients"] || other["notes"] == first["notes"] {
		t.Errorf("seeds 7 and 8 give the same data: %v", other)
	}
}

func TestGenerateIsDeterministicAndSeedsDiffer(t *testing.T) {
	a := generate(Options{Patients: 300, Seed: 3})
	b := generate(Options{Patients: 300, Seed: 3})
	if !reflect.DeepEqual(a, b) {
		t.Error("generate gave two data sets for the same options")
	}
	c := generate(Options{Patients: 300, Seed: 4})
	if reflect.DeepEqual(a.patients, c.patients) {
		t.Error("seeds 3 and 4 gave the same patients")
	}
}

func TestOptionsDefaultsAndLimits(t *testing.T) {
	got, err := Options{}.withDefaults()
	if err != nil || got != (Options{Patients: 10_000, Seed: 1}) {
		t.Errorf("zero Options = %+v, %v; want 10000 patients, seed 1", got, err)
	}
	for _, n := range []int{-1, 1, BoundaryPatients - 1} {
		if _, err := RowCounts(Options{Patients: n}); err == nil {
			t.Errorf("Patients = %d accepted", n)
		}
	}
}

func TestSchemaIsTheDDLLoadRuns(t *testing.T) {
	s := Schema()
	for _, want := range []string{tablesDDL, constraintsDDL, "CREATE TABLE clinic.patients", "numeric(12,2)", "text[]"} {
		if !strings.Contains(s, want) {
			t.Errorf("Schema() lacks %.40q", want)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	if err := cluster.CreateDatabase(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cluster.DSN("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for b.Loop() {
		if err := Load(ctx, conn, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		generate(Options{Patients: defaultPatients, Seed: 1})
	}
}
