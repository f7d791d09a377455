package integration

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// psqlAs runs one psql command through p as the role's user.
func psqlAs(t *testing.T, p *secProxy, r clientRole, cmd string) psqlResult {
	t.Helper()
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=clinic user=%s password=%s sslmode=disable",
		p.addr.Port, r.user, secPassword(r.user))
	res := runPsql(t, dsn, "", "-c", cmd)
	if strings.Contains(res.stderr, "connection to server") {
		t.Fatalf("psql could not connect as %s: %s", r.user, res.stderr)
	}
	return res
}

// psqlDirect runs one psql command on the shared cluster as the superuser.
func psqlDirect(t *testing.T, cmd string) psqlResult {
	t.Helper()
	res := runPsql(t, directConnString(), "", "-c", cmd)
	if res.err != nil {
		t.Fatalf("psql %s directly: %v\n%s", cmd, res.err, res.stderr)
	}
	return res
}

var psqlRule = regexp.MustCompile(`^-+(\+-+)*$`)

// psqlRows returns the rows of the first table psql printed in aligned format, each
// as its trimmed cells.
func psqlRows(out string) [][]string {
	var rows [][]string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case !in && psqlRule.MatchString(line):
			in = true
		case in && strings.Contains(line, "|"):
			cells := strings.Split(line, "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		case in:
			return rows
		}
	}
	return rows
}

// psqlFooter returns the quoted names listed under a footer heading of \d ("Indexes:",
// "Referenced by:", "Foreign-key constraints:"): the first quoted word of each line.
func psqlFooter(out, heading string) []string {
	var names []string
	in := false
	quoted := regexp.MustCompile(`"([^"]+)"`)
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == heading:
			in = true
		case in && strings.HasPrefix(line, "    "):
			if m := quoted.FindStringSubmatch(line); m != nil {
				names = append(names, m[1])
			}
		case in:
			return names
		}
	}
	return names
}

// hiddenNames lists the clinic table and column names the role must never be shown:
// every name of the full role's tables and columns that names none of the role's.
func (r clientRole) hiddenNames() []string {
	seen := map[string]bool{}
	for table, cols := range r.tables {
		seen[table] = true
		for _, c := range cols {
			seen[c] = true
		}
	}
	var hidden []string
	for table, cols := range clinicianRole.tables {
		for _, name := range append([]string{table}, cols...) {
			if !seen[name] && !slices.Contains(hidden, name) {
				hidden = append(hidden, name)
			}
		}
	}
	sort.Strings(hidden)
	return hidden
}

// assertNamesNothingHidden fails if out names a table or column hidden from the role,
// as a word of its own or inside an identifier (notes_pkey, patients_mrn_key).
func assertNamesNothingHidden(t *testing.T, r clientRole, what, out string) {
	t.Helper()
	for _, name := range r.hiddenNames() {
		if regexp.MustCompile(`(^|[^a-z])` + name + `([^a-z]|$)`).MatchString(out) {
			t.Errorf("%s as %s names %q, which the role cannot see:\n%s", what, r.role, name, out)
		}
	}
}

func TestPsqlDescribeCommandsListOnlyWhatTheRoleMaySee(t *testing.T) {
	p := startSecurityProxy(t, nil)
	directPatients := psqlDirect(t, `\d clinic.patients`)
	directNotes := psqlDirect(t, `\d+ clinic.notes`)
	for _, r := range clientRoles {
		t.Run(r.role, func(t *testing.T) {
			run := func(cmd string) psqlResult {
				res := psqlAs(t, p, r, cmd)
				assertNamesNothingHidden(t, r, cmd, res.stdout+res.stderr)
				return res
			}

			// The pinned search_path ("$user", public) holds no table: nothing to list,
			// as on PostgreSQL.
			if res := run(`\d`); res.err != nil || res.stderr != psqlDirect(t, `\d`).stderr {
				t.Errorf(`\d: %v %q`, res.err, res.stderr)
			}

			res := run(`\dt clinic.*`)
			if res.err != nil {
				t.Fatalf(`\dt clinic.*: %v %s`, res.err, res.stderr)
			}
			var tables []string
			for _, row := range psqlRows(res.stdout) {
				tables = append(tables, row[1])
			}
			if !slices.Equal(tables, r.tableNames()) {
				t.Errorf(`\dt clinic.* listed %v, want %v`, tables, r.tableNames())
			}

			// \d clinic.patients: the visible columns, each described exactly as
			// PostgreSQL describes it (a masked column keeps its type); the indexes and
			// foreign keys that involve only visible columns and tables.
			res = run(`\d clinic.patients`)
			if res.err != nil {
				t.Fatalf(`\d clinic.patients: %v %s`, res.err, res.stderr)
			}
			checkPsqlColumns(t, r, "patients", res.stdout, directPatients.stdout)
			wantIndexes := []string{"patients_pkey"}
			if r.sees("patients", "mrn") {
				wantIndexes = append(wantIndexes, "patients_mrn_key")
			}
			if got := psqlFooter(res.stdout, "Indexes:"); !slices.Equal(got, wantIndexes) {
				t.Errorf(`\d clinic.patients lists indexes %v, want %v`, got, wantIndexes)
			}
			var wantRefs []string
			for _, table := range r.tableNames() {
				if table != "patients" {
					wantRefs = append(wantRefs, "clinic."+table)
				}
			}
			if got := psqlFooter(res.stdout, "Referenced by:"); !slices.Equal(got, wantRefs) {
				t.Errorf(`\d clinic.patients lists references from %v, want %v`, got, wantRefs)
			}

			// \d+ clinic.notes: described, or missing exactly like a table that does not
			// exist.
			res = psqlAs(t, p, r, `\d+ clinic.notes`)
			if _, ok := r.tables["notes"]; !ok {
				missing := psqlAs(t, p, r, `\d+ clinic.no_such_table`)
				want := strings.ReplaceAll(missing.stderr, "no_such_table", "notes")
				if res.err == nil || res.stderr != want || res.stdout != missing.stdout {
					t.Errorf(`\d+ clinic.notes: %v %q, want the answer for a missing table: %q`, res.err, res.stderr, want)
				}
			} else {
				if res.err != nil {
					t.Fatalf(`\d+ clinic.notes: %v %s`, res.err, res.stderr)
				}
				assertNamesNothingHidden(t, r, `\d+ clinic.notes`, res.stdout+res.stderr)
				checkPsqlColumns(t, r, "notes", res.stdout, directNotes.stdout)
				if got, want := psqlFooter(res.stdout, "Indexes:"), []string{"notes_pkey", "notes_patient_id_idx"}; !slices.Equal(got, want) {
					t.Errorf(`\d+ clinic.notes lists indexes %v, want %v`, got, want)
				}
			}

			// Every relation of the schema, with its indexes.
			if res := run(`\d clinic.*`); res.err != nil {
				t.Errorf(`\d clinic.*: %v %s`, res.err, res.stderr)
			}
		})
	}
}

// checkPsqlColumns compares the column rows \d printed for a clinic table through
// pgmask with the rows PostgreSQL printed directly, restricted to the role's columns.
func checkPsqlColumns(t *testing.T, r clientRole, table, got, direct string) {
	t.Helper()
	byName := map[string][]string{}
	for _, row := range psqlRows(direct) {
		byName[row[0]] = row
	}
	var want [][]string
	for _, col := range r.tables[table] {
		want = append(want, byName[col])
	}
	rows := psqlRows(got)
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("\\d clinic.%s as %s describes the columns\n%v\nwant\n%v", table, r.role, rows, want)
	}
}

func TestPsqlDescribeCommandsOfTheFullRolePrintWhatPostgreSQLPrints(t *testing.T) {
	p := startSecurityProxy(t, nil)
	for _, cmd := range []string{`\d`, `\dt clinic.*`, `\d clinic.patients`, `\d+ clinic.notes`, `\d clinic.*`} {
		got, want := psqlAs(t, p, clinicianRole, cmd), psqlDirect(t, cmd)
		if got.err != nil || got.stdout != want.stdout || got.stderr != want.stderr {
			t.Errorf("%s through pgmask (%v):\n%s%s\ndirectly:\n%s%s", cmd, got.err, got.stdout, got.stderr, want.stdout, want.stderr)
		}
	}
}
