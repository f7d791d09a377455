package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Helpers of the client tests (clients_*_test.go): BI tools and drivers used as a
// restricted role must list exactly the tables and columns the role can query, and
// decode masked columns in their declared types. The tests run pgmask with the
// documented example policy (startSecurityProxy, shared with the security suite) and
// drive psql, pgx and the small client programs of testdata/clients: Java (pgjdbc),
// Python (psycopg2, SQLAlchemy) and JavaScript (node-postgres).

// clientRole is one user of examples/pgmask.toml and what it may see of the clinic
// schema.
type clientRole struct {
	user, role string
	// tables maps each clinic table the role sees to its visible columns, in order.
	tables map[string][]string
	// masked: ssn shows its last four digits, dob its year (as January 1), email its
	// domain. Otherwise ssn, dob and email are either raw (full) or not visible.
	masked bool
}

var (
	supportRole = clientRole{user: "alice", role: "support", masked: true, tables: map[string][]string{
		"encounters": {"id", "patient_id", "diagnosis_codes", "provider"},
		"notes":      {"id", "patient_id", "encounter_id", "note_type", "body"},
		"patients":   {"id", "first_name", "last_name", "ssn", "mrn", "dob", "state", "phone", "email", "sex"},
	}}
	analystRole = clientRole{user: "bob", role: "analyst", tables: map[string][]string{
		"claims":     {"id", "patient_id", "amount"},
		"encounters": {"id", "patient_id", "diagnosis_codes"},
		"patients":   {"id", "state", "sex"},
	}}
	clinicianRole = clientRole{user: "dave", role: "clinician", tables: map[string][]string{
		"claims":     {"id", "patient_id", "account_number", "amount", "billed_on"},
		"encounters": {"id", "patient_id", "admitted_at", "discharged_at", "diagnosis_codes", "provider"},
		"notes":      {"id", "patient_id", "encounter_id", "note_type", "body", "written_at"},
		"patients": {"id", "first_name", "last_name", "ssn", "mrn", "dob", "street", "city", "state", "zip",
			"phone", "email", "sex"},
	}}
	// clientRoles are the roles every client test runs as: two restricted ones and the
	// full role as the control.
	clientRoles = []clientRole{supportRole, analystRole, clinicianRole}
)

// tableNames lists the role's clinic tables, sorted.
func (r clientRole) tableNames() []string {
	names := make([]string, 0, len(r.tables))
	for name := range r.tables {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// sees reports whether the role sees column col of clinic.table.
func (r clientRole) sees(table, col string) bool { return slices.Contains(r.tables[table], col) }

// patientQuery is the statement each client runs as the role, with one integer
// parameter written as placeholder: it reads ssn, dob and email where the role sees
// them (the support role sees them masked), and otherwise the columns it does see.
func (r clientRole) patientQuery(placeholder, op string) string {
	cols := "id, ssn, dob, email"
	if !r.sees("patients", "ssn") {
		cols = "id, state, sex"
	}
	return "SELECT " + cols + " FROM clinic.patients WHERE id " + op + " " + placeholder + " ORDER BY id"
}

// rawPatient is what PostgreSQL itself holds for one patient.
type rawPatient struct {
	ssn, state, sex string
	dob             time.Time
	email           *string
}

// rawPatients reads the first n patients straight from the shared cluster.
func rawPatients(t testing.TB, n int) map[int64]rawPatient {
	t.Helper()
	rows, err := connectDirect(t).Query(context.Background(),
		"SELECT id, ssn, dob, email, state, sex FROM clinic.patients WHERE id <= $1", n)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]rawPatient{}
	for rows.Next() {
		var id int64
		var p rawPatient
		if err := rows.Scan(&id, &p.ssn, &p.dob, &p.email, &p.state, &p.sex); err != nil {
			t.Fatal(err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != n {
		t.Fatalf("read %d patients directly, want %d", len(out), n)
	}
	return out
}

// want returns ssn, dob (as YYYY-MM-DD) and email (nil for NULL) as the role must
// receive them: masked for the support role, raw for the full one.
func (r clientRole) want(p rawPatient) (ssn, dob string, email *string) {
	if !r.masked {
		return p.ssn, p.dob.Format("2006-01-02"), p.email
	}
	ssn = "XXX-XX-" + p.ssn[len(p.ssn)-4:]
	dob = strconv.Itoa(p.dob.Year()) + "-01-01"
	if p.email != nil {
		e := "[REDACTED]" // not an address: email_domain redacts it
		if i := strings.LastIndex(*p.email, "@"); i >= 0 {
			e = "*@" + (*p.email)[i+1:]
		}
		email = &e
	}
	return ssn, dob, email
}

// clientsDir is the directory of the client programs, as an absolute path.
func clientsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "clients")
}

// requireClient fails the test when a client's runtime or library is missing under CI
// (CI=true: .ci/run installs them, so a missing one is a broken setup, never a reason
// to pass), and otherwise skips it saying what to install.
func requireClient(t testing.TB, what string, ok bool, install string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing; .ci/run installs it (%s)", what, install)
	}
	t.Skipf("%s is missing: %s to run this test (under CI=true this fails)", what, install)
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// commandWorks reports whether a command runs and exits 0 within 30 seconds.
func commandWorks(name string, args ...string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).Run() == nil
}

// clientResult is what one run of a client program printed.
type clientResult struct {
	stdout, stderr string
	err            error
}

// runClient runs a client program in dir with a two-minute limit, connecting through
// p as user: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE say where
// (libpq, psycopg2 and node-postgres read them; the Java program passes them to
// pgjdbc). It fails the test unless the program exits 0, and returns its output.
func runClient(t testing.TB, p *secProxy, user, dir string, argv ...string) string {
	t.Helper()
	start := time.Now()
	r := runClientResult(p, user, dir, argv...)
	if r.err != nil {
		t.Fatalf("%s as %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), user, r.err, r.stdout, r.stderr)
	}
	name := argv[0]
	for _, a := range argv {
		if ext := filepath.Ext(a); ext == ".py" || ext == ".js" || a == "Main" {
			name = a
			break
		}
	}
	t.Logf("%s as %s took %v", name, user, time.Since(start).Round(time.Millisecond))
	return r.stdout
}

func runClientResult(p *secProxy, user, dir string, argv ...string) clientResult {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "TZ=") && !strings.HasPrefix(kv, "LC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"PGHOST=127.0.0.1", "PGPORT="+strconv.Itoa(p.addr.Port), "PGDATABASE=clinic",
		"PGUSER="+user, "PGPASSWORD="+secPassword(user), "PGSSLMODE=disable", "PGPASSFILE=/dev/null",
		"TZ=UTC", "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return clientResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// records parses what a client program printed: one record per line, tab-separated
// fields, the first naming the kind of record. It returns the fields after the first
// of every record of that kind.
func records(out, kind string) [][]string {
	var recs [][]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if f[0] == kind {
			recs = append(recs, f[1:])
		}
	}
	return recs
}

// field returns field i of every record, in order.
func field(recs [][]string, i int) []string {
	out := make([]string, len(recs))
	for j, r := range recs {
		if i < len(r) {
			out[j] = r[i]
		}
	}
	return out
}

// columnsByTable groups (table, column, ...) records into each table's columns, in
// the order they were printed.
func columnsByTable(recs [][]string) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		out[r[0]] = append(out[r[0]], r[1])
	}
	return out
}

// checkTablesAndColumns compares what a client listed with what the role may see.
func checkTablesAndColumns(t testing.TB, client string, r clientRole, tables []string, columns map[string][]string) {
	t.Helper()
	sort.Strings(tables)
	if !slices.Equal(tables, r.tableNames()) {
		t.Errorf("%s as %s listed tables %v, want %v", client, r.role, tables, r.tableNames())
	}
	for _, table := range r.tableNames() {
		if got := columns[table]; !slices.Equal(got, r.tables[table]) {
			t.Errorf("%s as %s listed columns of clinic.%s %v, want %v", client, r.role, table, got, r.tables[table])
		}
	}
	for table := range columns {
		if _, ok := r.tables[table]; !ok {
			t.Errorf("%s as %s listed columns of clinic.%s, which the role cannot see", client, r.role, table)
		}
	}
}

// metadataCalls is how a client program printed what its library's metadata calls
// list: TABLE records, COLUMN records (table, column, then two fields that say its
// type), PK records (one per primary key column) and FK records (table, column,
// referenced table, referenced column).
type metadataCalls struct {
	// tables, columns, primaryKeys and foreignKeys name the library's calls, for messages.
	tables, columns, primaryKeys, foreignKeys string
	// tableField is the field of a TABLE record that names the table.
	tableField int
	// types are the two type fields of every clinic column ("table.column") as the
	// library reports them on a direct connection.
	types map[string]string
	// primaryKey is the PK record of a table's primary key, its fields joined by spaces.
	primaryKey func(table string) string
}

// checkListedSchema checks what a client program printed of the schema for role r:
// exactly the tables and columns the role sees, each column with the type it has on a
// direct connection, the primary key of each of those tables, and only foreign keys
// between columns the role sees.
func checkListedSchema(t *testing.T, r clientRole, out string, calls metadataCalls) {
	t.Helper()
	cols := records(out, "COLUMN")
	checkTablesAndColumns(t, calls.tables+"/"+calls.columns, r, field(records(out, "TABLE"), calls.tableField), columnsByTable(cols))
	for _, c := range cols {
		if want := calls.types[c[0]+"."+c[1]]; c[2]+" "+c[3] != want {
			t.Errorf("%s: clinic.%s.%s has type %q, want %q", calls.columns, c[0], c[1], c[2]+" "+c[3], want)
		}
	}
	var pks []string
	for _, pk := range records(out, "PK") {
		pks = append(pks, strings.Join(pk, " "))
	}
	var wantPKs []string
	for _, table := range r.tableNames() {
		wantPKs = append(wantPKs, calls.primaryKey(table))
	}
	if !slices.Equal(pks, wantPKs) {
		t.Errorf("%s: %v, want %v", calls.primaryKeys, pks, wantPKs)
	}
	for _, fk := range records(out, "FK") {
		if !r.sees(fk[0], fk[1]) || !r.sees(fk[2], fk[3]) {
			t.Errorf("%s lists %v, which involves what the role cannot see", calls.foreignKeys, fk)
		}
	}
}

// connect opens a pgx connection through the proxy as the role's user.
func (r clientRole) connect(t testing.TB, p *secProxy, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	conn, _ := p.connect(t, r.user, opts...)
	return conn
}
