package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pgconnv1 "github.com/jackc/pgconn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy"
	"github.com/pgmask/pgmask/proxy/reid"
)

// Re-identification codes (45 CFR 164.514(c)): pgmask keeps a random code per
// patient in pgmask.subject_codes, created on first use by the proxy itself, and shows
// it in place of the patient key to roles that show codes. These tests run a proxy in
// front of the shared clinic database with two such roles:
//
//   - coder (user frank), minimum_necessary, with the patient key of clinic.patients
//     and clinic.encounters mapped to the code transform;
//   - researcher (user sam), safe_harbor, whose subject keys are codes by profile;
//
// and dana (clinician, full) as the reference that sees the raw keys.

// reidUsers are the users of the roles that show codes, with their roles.
var reidUsers = map[string]string{"frank": "coder", "sam": "researcher"}

// startReidProxy starts pgmask with the two roles that show codes and returns once
// its first catalog refresh, which creates the table of codes, is done. Later refreshes
// happen only when a test asks, so what a patient added meanwhile looks like before
// the refresh is deterministic.
func startReidProxy(t *testing.T) *testProxy {
	t.Helper()
	p := startProxy(t, func(cfg *config.Config) {
		cfg.Upstream.CatalogRefresh = config.Duration{Duration: time.Hour}
		cfg.Tables["clinic.patients"] = config.Table{SubjectKey: "id", Columns: map[string]string{
			"id": "none", "dob": "birth_date", "state": "state", "sex": "none", "ssn": "ssn",
		}}
		cfg.Tables["clinic.encounters"] = config.Table{SubjectKey: "patient_id", Columns: map[string]string{
			"id": "none", "patient_id": "none", "admitted_at": "event_date",
		}}
		tables := []string{"clinic.patients", "clinic.encounters"}
		cfg.Roles["coder"] = config.Role{Profile: "minimum_necessary", Tables: tables, Columns: map[string]string{
			"clinic.patients.id": "code", "clinic.encounters.patient_id": "code",
		}}
		cfg.Roles["researcher"] = config.Role{Profile: "safe_harbor", Tables: tables}
		cfg.Roles["clinician"] = config.Role{Profile: "full"}
		for user, role := range reidUsers {
			u := cfg.Users[user]
			u.Role = role
			cfg.Users[user] = u
		}
	})
	// Serve refreshes the catalog before it accepts the first connection.
	if _, err := p.connect(t, "dana").Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	return p
}

// reidMapping reads pgmask.subject_codes of the clinic database directly, as the
// superuser: subject → code.
func reidMapping(t *testing.T) map[string]int64 {
	t.Helper()
	return reidMappingOf(t, "clinic")
}

// reidMappingOf reads pgmask.subject_codes of database directly, as the superuser.
func reidMappingOf(t *testing.T, database string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.DSN(database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT subject, code FROM pgmask.subject_codes")
	m := map[string]int64{}
	var s string
	var c int64
	if _, err := pgx.ForEachRow(rows, []any{&s, &c}, func() error { m[s] = c; return nil }); err != nil {
		t.Fatalf("reading pgmask.subject_codes: %v", err)
	}
	return m
}

// reidCounts runs a query of (key, count) rows and returns key → count; a NULL key
// counts under -1.
func reidCounts(t *testing.T, conn *pgx.Conn, sql string) map[int64]int64 {
	t.Helper()
	rows, _ := conn.Query(context.Background(), sql)
	out := map[int64]int64{}
	var k *int64
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error {
		key := int64(-1)
		if k != nil {
			key = *k
		}
		out[key] += n
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

const reidEncountersPerPatient = `SELECT p.id, count(*) FROM clinic.patients p
JOIN clinic.encounters e ON e.patient_id = p.id GROUP BY p.id`

func TestReidCodesAreConsistentAcrossTwoTablesAndTwoSessions(t *testing.T) {
	p := startReidProxy(t)
	mapping := reidMapping(t) // made by the proxy on first use, at startup
	if len(mapping) < clinicOptions.Patients {
		t.Fatalf("%d codes, want one for each of the %d patients", len(mapping), clinicOptions.Patients)
	}
	codeOf := func(raw int64) int64 { return mapping[strconv.FormatInt(raw, 10)] }

	// The reference: encounters per patient by raw id, as the full role sees them.
	raw := reidCounts(t, p.connect(t, "dana"), reidEncountersPerPatient)
	want := map[int64]int64{}
	for id, n := range raw {
		c := codeOf(id)
		if c == 0 || c == id {
			t.Fatalf("patient %d has code %d: want a code that is not the id", id, c)
		}
		want[c] = n
	}

	for user, role := range reidUsers {
		// Joining by code gives exactly the counts of joining by raw id.
		got := reidCounts(t, p.connect(t, user), reidEncountersPerPatient)
		if !maps.Equal(got, want) {
			t.Errorf("%s (%s): encounters per patient joined by code differ from the full role's joined by id (%d vs %d patients)",
				user, role, len(got), len(want))
		}
		// Two sessions, and the two tables apart, show each patient the same code.
		one := reidCounts(t, p.connect(t, user), "SELECT id, 1 FROM clinic.patients")
		two := reidCounts(t, p.connect(t, user), "SELECT patient_id, count(*) FROM clinic.encounters GROUP BY 1")
		if len(one) != len(mapping) {
			t.Errorf("%s: %d distinct codes in clinic.patients, want %d", user, len(one), len(mapping))
		}
		for c := range one {
			if c == -1 {
				t.Errorf("%s: a patient without a code", user)
			}
		}
		for c, n := range two {
			if one[c] != 1 || want[c] != n {
				t.Errorf("%s: clinic.encounters shows code %d with %d encounters, which clinic.patients does not match", user, c, n)
			}
		}
	}
	// Both roles see the same codes: they are per subject, not per role.
	a := reidCounts(t, p.connect(t, "frank"), "SELECT id, 1 FROM clinic.patients")
	b := reidCounts(t, p.connect(t, "sam"), "SELECT id, 1 FROM clinic.patients")
	if !maps.Equal(a, b) {
		t.Error("the coder and researcher roles see different codes")
	}
}

func TestReidTheTableOfCodesIsRefusedToRestrictedRoles(t *testing.T) {
	p := startReidProxy(t)
	for user := range reidUsers {
		conn := p.connect(t, user)
		for _, sql := range []string{
			"SELECT * FROM pgmask.subject_codes",
			"SELECT count(*) FROM clinic.patients WHERE id IN (SELECT code FROM pgmask.subject_codes)",
			"SELECT (SELECT c.subject FROM pgmask.subject_codes c WHERE c.code = p.id) FROM clinic.patients p",
			"COPY pgmask.subject_codes TO STDOUT",
		} {
			_, err := conn.Exec(context.Background(), sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: %s: %v, want SQLSTATE 42501", user, sql, err)
			}
		}
	}
}

// The canary: a patient with a distinctive key, added after the proxy started.
const (
	reidCanaryID        = 987654321
	reidCanaryEncounter = 555000111
)

func TestReidANewPatientGetsACodeAtRefreshAndItsKeyNeverReachesTheRole(t *testing.T) {
	p := startReidProxy(t)
	// Counted at once, so the refresh below cannot skip the tables (reidWrite).
	reidWrite(t, "clinic", fmt.Sprintf(`INSERT INTO clinic.patients (id, first_name, last_name, ssn, mrn, dob, city, state, zip, sex)
VALUES (%d, 'Reid', 'Canary', '000-00-0031', 'MRN-REID-CANARY', '1970-05-05', 'Town', 'MA', '02134', 'X');
INSERT INTO clinic.encounters (id, patient_id, admitted_at, diagnosis_codes, provider)
VALUES (%d, %d, '2024-01-02 10:00+00', '{I10}', 'Dr. Canary')`, reidCanaryID, reidCanaryEncounter, reidCanaryID))
	t.Cleanup(func() {
		secSuperExec(t, fmt.Sprintf(`DELETE FROM clinic.encounters WHERE id = %d; DELETE FROM clinic.patients WHERE id = %[2]d;
DELETE FROM pgmask.subject_codes WHERE subject = '%[2]d'`, reidCanaryEncounter, reidCanaryID))
	})
	canary := []byte(strconv.Itoa(reidCanaryID))
	probes := []string{
		"SELECT * FROM clinic.patients",
		"SELECT * FROM clinic.encounters",
		"SELECT p.*, e.* FROM clinic.patients p JOIN clinic.encounters e ON e.patient_id = p.id",
		"SELECT id::text || '' FROM clinic.patients WHERE id::text LIKE '9876%'",
		"SELECT row_to_json(p) FROM clinic.patients p",
		fmt.Sprintf("SELECT count(*) FROM clinic.patients WHERE id = %d", reidCanaryID),
		"SELECT id / 0 FROM clinic.patients",
	}
	probe := func(user string) []byte {
		conn, rec := secConnect(t, p.dsn(user))
		for _, sql := range probes {
			secExec(conn, sql)
		}
		return rec.Bytes()
	}
	nullKeys := func(user string) int64 {
		var n int64
		if err := p.connect(t, user).QueryRow(context.Background(),
			"SELECT count(*) FROM clinic.patients WHERE id IS NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Before the refresh the new patient has no code: it is shown NULL, never its key.
	for user := range reidUsers {
		if n := nullKeys(user); n != 1 {
			t.Errorf("%s before the refresh: %d patients without a code, want the new one", user, n)
		}
		if b := probe(user); bytes.Contains(b, canary) {
			t.Errorf("LEAK to %s before the refresh: the new patient's key reached the client:\n%s", user, secPrintable(b))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.srv.RefreshCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	code := reidMapping(t)[strconv.Itoa(reidCanaryID)]
	if code == 0 {
		t.Fatal("the refresh did not give the new patient a code")
	}
	for user := range reidUsers {
		if n := nullKeys(user); n != 0 {
			t.Errorf("%s after the refresh: %d patients without a code, want none", user, n)
		}
		var patients, encounters int64
		conn := p.connect(t, user)
		err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM clinic.patients WHERE id = $1),
			(SELECT count(*) FROM clinic.encounters WHERE patient_id = $1)`, code).Scan(&patients, &encounters)
		if err != nil || patients != 1 || encounters != 1 {
			t.Errorf("%s: the new patient's code finds %d patients and %d encounters (%v), want 1 and 1", user, patients, encounters, err)
		}
		if b := probe(user); bytes.Contains(b, canary) {
			t.Errorf("LEAK to %s after the refresh: the new patient's key reached the client:\n%s", user, secPrintable(b))
		}
	}
	if b := probe("dana"); !bytes.Contains(b, canary) {
		t.Error("the full role does not see the new patient's key: the probes do not reach the row")
	}
}

// reidConnect opens a connection to database as user (password "reid"), or as the
// superuser when user is "", with the pgconn that proxy/reid takes.
func reidConnect(t *testing.T, database, user string) *pgconnv1.PgConn {
	t.Helper()
	pcfg, err := pgconnv1.ParseConfig(cluster.DSN(database))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		pcfg.User, pcfg.Password = user, "reid"
	}
	conn, err := pgconnv1.ConnectConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestReidInitByAnAdministratorLetsTheUpstreamUserTopUpWithoutCreatePrivileges(t *testing.T) {
	ctx := context.Background()
	if err := cluster.CreateDatabase(ctx, "reid_admin"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Exec(ctx, "reid_admin", `
CREATE ROLE reid_up LOGIN PASSWORD 'reid'; CREATE ROLE reid_ro LOGIN PASSWORD 'reid'; CREATE ROLE reid_other LOGIN PASSWORD 'reid';
REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE CREATE ON DATABASE reid_admin FROM PUBLIC;
CREATE TABLE public.people (id bigint PRIMARY KEY, born date);
CREATE TABLE public.visits (person_id bigint, at date);
INSERT INTO public.people SELECT g, DATE '1970-01-01' + g FROM generate_series(1, 50) g;
INSERT INTO public.visits SELECT g % 60 + 1, DATE '2024-01-01' FROM generate_series(1, 120) g;
GRANT SELECT ON public.people, public.visits TO reid_up, reid_ro;`); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Upstream: config.Upstream{Database: "reid_admin", User: "reid_up"},
		Tables: map[string]config.Table{
			"public.people": {SubjectKey: "id", Columns: map[string]string{"id": "none", "born": "birth_date"}},
			"public.visits": {SubjectKey: "person_id", Columns: map[string]string{"person_id": "none", "at": "event_date"}},
			"public.dates":  {SubjectKey: "born", Columns: map[string]string{"born": "birth_date"}},
		},
		Roles: map[string]config.Role{
			"researcher": {Profile: "safe_harbor", Tables: []string{"public.people", "public.visits"}, UpstreamUser: "reid_ro"},
			"ghost": {Profile: "minimum_necessary", Tables: []string{"public.dates"}, UpstreamUser: "reid_ghost",
				Columns: map[string]string{"public.dates.born": "code"}},
			"support": {Profile: "minimum_necessary", Tables: []string{"public.people"}, UpstreamUser: "reid_other"},
		},
	}

	// The administrator (the superuser here) creates and owns the table.
	rep, err := reid.Ensure(ctx, reidConnect(t, "reid_admin", ""), cfg)
	if !rep.Created || rep.NewCodes != 60 || !slices.Equal(rep.Readers, []string{"reid_ghost", "reid_ro"}) ||
		!slices.Equal(rep.Tables, []string{"public.people", "public.visits"}) {
		t.Errorf("first Ensure: %+v, want the table created, 60 subjects (50 people, 10 more only in visits) coded, readers reid_ghost and reid_ro", rep)
	}
	for _, want := range []string{`"reid_ghost" does not exist`, `public.dates: the table or its subject key "born" does not exist`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("first Ensure: error %v, want one saying %s", err, want)
		}
	}

	// The upstream user, without CREATE on the database, tops up new subjects.
	if err := cluster.Exec(ctx, "reid_admin", "INSERT INTO public.people VALUES (1000, '1999-09-09'); CREATE TABLE public.dates (born date)"); err != nil {
		t.Fatal(err)
	}
	rep, err = reid.Ensure(ctx, reidConnect(t, "reid_admin", "reid_up"), cfg)
	if rep.Created || rep.NewCodes != 1 {
		t.Errorf("Ensure as the upstream user: %+v, want 1 new code", rep)
	}
	if err == nil || !strings.Contains(err.Error(), "public.dates") || !strings.Contains(err.Error(), "type date") {
		t.Errorf("Ensure as the upstream user: error %v, want one refusing the date subject key of public.dates", err)
	}

	// Once everything is in place, a run changes no catalog row: the run at every
	// catalog refresh invalidates no cache.
	version := func() string {
		t.Helper()
		rows, err := reidConnect(t, "reid_admin", "").Exec(ctx, `SELECT c.xmin::text || '/' || n.xmin::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'pgmask.subject_codes'::regclass`).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return string(rows[0].Rows[0][0])
	}
	before := version()
	if rep, _ := reid.Ensure(ctx, reidConnect(t, "reid_admin", ""), cfg); rep.NewCodes != 0 || version() != before {
		t.Errorf("a run with nothing to do: %+v, catalog rows %s → %s, want no new code and no change", rep, before, version())
	}

	// Who may read and write the codes.
	for _, c := range []struct{ user, sql, code string }{
		{"reid_ro", "SELECT count(*) FROM pgmask.subject_codes", ""},
		{"reid_ro", "INSERT INTO pgmask.subject_codes VALUES ('x', 1)", "42501"},
		{"reid_up", "INSERT INTO pgmask.subject_codes (subject, code) VALUES ('x', 1) ON CONFLICT DO NOTHING", ""},
		{"reid_up", "DELETE FROM pgmask.subject_codes", "42501"},
		{"reid_other", "SELECT count(*) FROM pgmask.subject_codes", "42501"},
	} {
		_, err := reidConnect(t, "reid_admin", c.user).Exec(ctx, c.sql).ReadAll()
		var pgErr *pgconnv1.PgError
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %s: %v, want it allowed", c.user, c.sql, err)
		case c.code != "" && (!errors.As(err, &pgErr) || pgErr.Code != c.code):
			t.Errorf("%s: %s: %v, want SQLSTATE %s", c.user, c.sql, err, c.code)
		}
	}
}

// reidWrite runs sql in database as the superuser and has PostgreSQL count the rows
// it wrote before it returns. A backend adds its counts to the cumulative statistics
// at the end of a transaction only if it last did a second ago or more, and otherwise
// some seconds later or when it exits (PGSTAT_MIN_INTERVAL, PGSTAT_IDLE_INTERVAL in
// PostgreSQL's pgstat.c); pg_stat_force_next_flush() forces the report at the end of
// this transaction, which PostgreSQL makes before it answers. Without it, whether a
// top-up is skipped would depend on timing.
func reidWrite(t testing.TB, database, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cluster.Exec(ctx, database, sql+";\nSELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatalf("as superuser: %v\n%s", err, sql)
	}
}

// reidInt reads one integer from database as the superuser.
func reidInt(t testing.TB, database, sql string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.DSN(database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// reidWritten is how many rows were inserted into and updated in table, as counted.
func reidWritten(t testing.TB, database, table string) int64 {
	t.Helper()
	return reidInt(t, database, fmt.Sprintf("SELECT pg_stat_get_tuples_inserted('%[1]s'::regclass) + pg_stat_get_tuples_updated('%[1]s'::regclass)", table))
}

// reidSkipTables are the subject tables of TestReidATopUpSkipsOnlyTheTablesNoSubjectCanHaveBeenAddedTo,
// as Ensure reports them: a table, a view (which has no counters of its own) and a
// partitioned table.
var reidSkipTables = []string{"public.people", "public.recent", "public.stays"}

func TestReidATopUpSkipsOnlyTheTablesNoSubjectCanHaveBeenAddedTo(t *testing.T) {
	ctx := context.Background()
	const db = "reid_skip"
	if err := cluster.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS reid_skip_quiet") })
	reidWrite(t, db, `CREATE ROLE reid_skip_quiet;
CREATE TABLE public.people (id bigint PRIMARY KEY, mrn text);
INSERT INTO public.people SELECT g, 'M' || g FROM generate_series(1, 50) g;
CREATE TABLE public.stays (person_id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE public.stays_a PARTITION OF public.stays FOR VALUES FROM ('2000-01-01') TO ('2010-01-01');
CREATE TABLE public.stays_b PARTITION OF public.stays FOR VALUES FROM ('2010-01-01') TO ('2020-01-01');
INSERT INTO public.stays SELECT g % 60 + 1, DATE '2001-01-01' + g * 50 FROM generate_series(1, 120) g;
CREATE TABLE public.notes (person_id bigint);
INSERT INTO public.notes VALUES (1), (70);
CREATE VIEW public.recent AS SELECT person_id FROM public.notes`)
	cfg := &config.Config{
		Upstream: config.Upstream{Database: db, User: cluster.User},
		Tables: map[string]config.Table{
			"public.people": {SubjectKey: "id", Columns: map[string]string{"id": "none", "mrn": "mrn"}},
			"public.stays":  {SubjectKey: "person_id", Columns: map[string]string{"person_id": "none", "at": "event_date"}},
			"public.recent": {SubjectKey: "person_id", Columns: map[string]string{"person_id": "none"}},
		},
		Roles: map[string]config.Role{"researcher": {Profile: "safe_harbor", Tables: reidSkipTables}},
	}
	var mem reid.Memory
	// ensureOn runs mem.Ensure and checks which tables it read (the others must be
	// reported unchanged) and how many codes it added.
	ensureOn := func(conn *pgconnv1.PgConn, cfg *config.Config, step string, read []string, newCodes int64) {
		t.Helper()
		defer conn.Close(context.Background())
		rep, err := mem.Ensure(ctx, conn, cfg)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		var unchanged []string
		for _, table := range reidSkipTables {
			if !slices.Contains(read, table) {
				unchanged = append(unchanged, table)
			}
		}
		if !slices.Equal(rep.Tables, read) || !slices.Equal(rep.Unchanged, unchanged) || rep.NewCodes != newCodes {
			t.Errorf("%s: read %v, unchanged %v, %d new codes; want read %v, unchanged %v, %d new codes",
				step, rep.Tables, rep.Unchanged, rep.NewCodes, read, unchanged, newCodes)
		}
	}
	connect := func() *pgconnv1.PgConn {
		t.Helper()
		conn, err := pgconnv1.Connect(ctx, cluster.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	ensure := func(step string, read []string, newCodes int64) {
		t.Helper()
		ensureOn(connect(), cfg, step, read, newCodes)
	}
	coded := func(step string, subjects ...string) {
		t.Helper()
		m := reidMappingOf(t, db)
		for _, s := range subjects {
			if m[s] == 0 {
				t.Errorf("%s: subject %s has no code", step, s)
			}
		}
	}
	all, view := reidSkipTables, []string{"public.recent"}

	// 50 people, stays of 60 (10 of them not among the people) and notes of one more.
	ensure("the first run", all, 61)
	ensure("nothing written since", view, 0)

	reidWrite(t, db, "INSERT INTO public.people VALUES (1001, 'M1001')")
	ensure("a person added", []string{"public.people", "public.recent"}, 1)
	coded("a person added", "1001")

	reidWrite(t, db, "UPDATE public.people SET id = 2002 WHERE id = 7")
	ensure("the key of a person updated", []string{"public.people", "public.recent"}, 1)
	coded("the key of a person updated", "2002")

	reidWrite(t, db, "INSERT INTO public.stays_b VALUES (3003, '2015-06-01')")
	ensure("a stay added to a partition", []string{"public.recent", "public.stays"}, 1)
	coded("a stay added to a partition", "3003")

	// A view has no counters: it is read at every run, and sees what its tables got.
	reidWrite(t, db, "INSERT INTO public.notes VALUES (7007)")
	ensure("a note added under the view", view, 1)
	coded("a note added under the view", "7007")

	// A partition swapped for a table with as many rows written: the sum of the
	// counters is the same, the set of partitions is not.
	n := reidWritten(t, db, "public.stays_a")
	reidWrite(t, db, fmt.Sprintf(`CREATE TABLE public.stays_c (LIKE public.stays);
INSERT INTO public.stays_c SELECT 4000 + g, DATE '2005-01-01' FROM generate_series(1, %d) g`, n))
	if c := reidWritten(t, db, "public.stays_c"); c != n {
		t.Fatalf("the new partition counts %d rows written, want %d as the old one", c, n)
	}
	reidWrite(t, db, `ALTER TABLE public.stays DETACH PARTITION public.stays_a;
ALTER TABLE public.stays ATTACH PARTITION public.stays_c FOR VALUES FROM ('2000-01-01') TO ('2010-01-01')`)
	ensure("a partition swapped", []string{"public.recent", "public.stays"}, n)
	coded("a partition swapped", "4001", strconv.FormatInt(4000+n, 10))

	// A table rewrite changes every key and counts no row.
	reidWrite(t, db, "ALTER TABLE public.people ALTER COLUMN id TYPE bigint USING id + 100000")
	ensure("the key rewritten by ALTER TABLE", []string{"public.people", "public.recent"}, 51)
	coded("the key rewritten by ALTER TABLE", "100001", "101001")

	// Codes removed by hand (pgmask never does) are given again.
	reidWrite(t, db, "DELETE FROM pgmask.subject_codes WHERE subject = '100001'")
	ensure("a code deleted by hand", all, 1)
	coded("a code deleted by hand", "100001")
	reidWrite(t, db, "TRUNCATE pgmask.subject_codes")
	subjects := reidInt(t, db, `SELECT count(*) FROM (SELECT id::text FROM public.people UNION SELECT person_id::text FROM public.stays
UNION SELECT person_id::text FROM public.notes) AS s`)
	ensure("the codes truncated by hand", all, subjects)
	ensure("nothing written since", view, 0)

	// A reset of a table's counters, and as many rows written again: the same
	// counters, another epoch.
	n = reidWritten(t, db, "public.people")
	reidWrite(t, db, fmt.Sprintf(`SELECT pg_stat_reset_single_table_counters('public.people'::regclass);
INSERT INTO public.people SELECT 500000 + g, NULL FROM generate_series(1, %d) g`, n))
	if c := reidWritten(t, db, "public.people"); c != n {
		t.Fatalf("after the reset, public.people counts %d rows written, want %d as before", c, n)
	}
	ensure("the counters of a table reset and back where they were", all, n)
	coded("the counters of a table reset and back where they were", "500001")

	reidWrite(t, db, "SELECT pg_stat_reset()")
	ensure("the counters of the database reset", all, 0)
	ensure("nothing written since", view, 0)

	// track_counts off anywhere it can be seen: nothing is skipped.
	reidWrite(t, db, "ALTER ROLE reid_skip_quiet SET track_counts = off")
	ensure("track_counts off for a role", all, 0)
	ensure("track_counts still off for a role", all, 0)
	reidWrite(t, db, "ALTER ROLE reid_skip_quiet RESET track_counts")
	ensure("track_counts on again", all, 0)
	ensure("nothing written since", view, 0)
	pcfg, err := pgconnv1.ParseConfig(cluster.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.RuntimeParams["track_counts"] = "off"
	quiet, err := pgconnv1.ConnectConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	ensureOn(quiet, cfg, "track_counts off in pgmask's own session", all, 0)
	ensure("track_counts on in pgmask's session", all, 0)
	ensure("nothing written since", view, 0)

	// Another subject key for a table is another subject.
	byMRN := *cfg
	byMRN.Tables = maps.Clone(cfg.Tables)
	byMRN.Tables["public.people"] = config.Table{SubjectKey: "mrn", Columns: cfg.Tables["public.people"].Columns}
	ensureOn(connect(), &byMRN, "another subject key", []string{"public.people", "public.recent"}, 51)
	coded("another subject key", "M1", "M1001")
}

func TestReidTheProxysRefreshDoesNotReadATableNothingWasWrittenTo(t *testing.T) {
	ctx := context.Background()
	const db = "reid_skip_proxy"
	if err := cluster.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	reidWrite(t, db, "CREATE TABLE public.people (id bigint PRIMARY KEY); INSERT INTO public.people SELECT generate_series(1, 20)")
	cfg := baseConfig()
	cfg.Upstream.Database = db
	cfg.Upstream.CatalogRefresh = config.Duration{Duration: time.Hour}
	cfg.Tables["public.people"] = config.Table{SubjectKey: "id", Columns: map[string]string{"id": "none"}}
	cfg.Roles["researcher"] = config.Role{Profile: "safe_harbor", Tables: []string{"public.people"}}
	auditLog := newTestAuditLog(t)
	cfg.Audit = auditLog.config()
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	handler := slog.NewTextHandler(io.MultiWriter(&testWriter{t: t}, logs), &slog.HandlerOptions{Level: slog.LevelDebug})
	p := serveProxy(t, proxy.Options{Config: cfg, Logger: slog.New(handler)}, func() { auditLog.verify(t) })
	// Serve refreshes the catalog, and so codes the people, before it accepts the
	// first connection.
	conn := connectDSN(t, strings.Replace(p.dsn("dana"), "dbname=clinic", "dbname="+db, 1))
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if n := len(reidMappingOf(t, db)); n != 20 {
		t.Fatalf("%d codes after the first refresh, want 20", n)
	}
	const skipped = "tables unchanged since their last top-up"
	refresh := func() string {
		t.Helper()
		before := len(logs.String())
		if err := p.srv.RefreshCatalog(ctx); err != nil {
			t.Fatal(err)
		}
		return logs.String()[before:]
	}
	if out := refresh(); !strings.Contains(out, skipped) || !strings.Contains(out, "public.people") {
		t.Errorf("a refresh with nothing written since the last one does not say it skipped public.people:\n%s", out)
	}
	reidWrite(t, db, "INSERT INTO public.people VALUES (21)")
	if out := refresh(); strings.Contains(out, skipped) {
		t.Errorf("a refresh after a person was added skipped the table:\n%s", out)
	}
	if reidMappingOf(t, db)["21"] == 0 {
		t.Error("the refresh did not give the new person a code")
	}
}
