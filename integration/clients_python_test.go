package integration

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// debianPython is Debian's interpreter, which sees python3-psycopg2 and
// python3-sqlalchemy; an interpreter earlier on PATH (pyenv) may not.
const debianPython = "/usr/bin/python3"

// requirePython fails (under CI) or skips the test unless Debian's python3 can import
// the modules.
func requirePython(t *testing.T, modules ...string) {
	t.Helper()
	requireClient(t, debianPython, fileExists(debianPython), "apt-get install python3")
	for _, m := range modules {
		requireClient(t, "Python module "+m, commandWorks(debianPython, "-c", "import "+m), "apt-get install python3-"+m)
	}
}

// psycopg2Rows is how many patients the named cursor reads, and psycopg2Itersize how
// many rows each of its FETCHes asks for.
const (
	psycopg2Rows     = 25
	psycopg2Itersize = 4
)

func TestPsycopg2NamedCursorReadsMaskedColumnsInTheirTypes(t *testing.T) {
	requirePython(t, "psycopg2")
	p := startSecurityProxy(t, nil)
	raw := rawPatients(t, psycopg2Rows)
	dir := filepath.Join(clientsDir(), "python")
	for _, r := range clientRoles {
		t.Run(r.role, func(t *testing.T) {
			out := runClient(t, p, r.user, dir, debianPython, "psycopg2_cursor.py",
				r.patientQuery("%s", "<="), fmt.Sprint(psycopg2Rows), fmt.Sprint(psycopg2Itersize))
			rows := records(out, "ROW")
			if len(rows) != psycopg2Rows {
				t.Fatalf("the named cursor read %d rows, want %d:\n%s", len(rows), psycopg2Rows, out)
			}
			for i, row := range rows {
				p := raw[int64(i+1)]
				want := []string{fmt.Sprintf("int:%d", i+1), "str:" + p.state, "str:" + p.sex}
				if r.sees("patients", "ssn") {
					// psycopg2 decodes the masked dob as datetime.date, January 1.
					ssn, dob, email := r.want(p)
					want = []string{fmt.Sprintf("int:%d", i+1), "str:" + ssn, "date:" + dob, "NULL"}
					if email != nil {
						want[3] = "str:" + *email
					}
				}
				if !slices.Equal(row, want) {
					t.Errorf("row %d: %v, want %v", i+1, row, want)
				}
			}
			// The type OIDs of the RowDescription are the declared types.
			var desc []string
			for _, d := range records(out, "DESC") {
				desc = append(desc, d[0]+":"+d[1])
			}
			want := "id:20 state:25 sex:25"
			if r.sees("patients", "ssn") {
				want = "id:20 ssn:25 dob:1082 email:25"
			}
			if got := strings.Join(desc, " "); got != want {
				t.Errorf("cursor.description: %s, want %s", got, want)
			}
		})
	}
}

func TestSQLAlchemyInspectorListsOnlyWhatTheRoleMaySee(t *testing.T) {
	requirePython(t, "psycopg2", "sqlalchemy")
	p := startSecurityProxy(t, nil)
	dir := filepath.Join(clientsDir(), "python")
	for _, r := range clientRoles {
		t.Run(r.role, func(t *testing.T) {
			out := runClient(t, p, r.user, dir, debianPython, "sqlalchemy_inspect.py", "clinic")
			checkListedSchema(t, r, out, sqlalchemyMetadata)
			wantIndexes := 0
			for _, table := range r.tableNames() {
				if table != "patients" {
					wantIndexes++ // each table but patients has an index on patient_id
				}
			}
			if r.sees("patients", "mrn") {
				wantIndexes++ // patients_mrn_key
			}
			if got := records(out, "INDEX"); len(got) != wantIndexes {
				t.Errorf("get_indexes lists %v, want %d indexes", got, wantIndexes)
			}
			assertNamesNothingHidden(t, r, "the SQLAlchemy inspector", out)
		})
	}
}

// sqlalchemyMetadata is what sqlalchemy_inspect.py prints of the inspector: COLUMN
// records give the type and nullability, PK records the constraint's name before its
// column.
var sqlalchemyMetadata = metadataCalls{
	tables: "get_table_names", columns: "get_columns", primaryKeys: "get_pk_constraint", foreignKeys: "get_foreign_keys",
	tableField: 0,
	types:      sqlalchemyTypes,
	primaryKey: func(table string) string { return table + " " + table + "_pkey id" },
}

// sqlalchemyTypes are the types and nullability SQLAlchemy's inspector reports for
// each clinic column on a direct connection.
var sqlalchemyTypes = map[string]string{
	"patients.id": "BIGINT False", "patients.first_name": "TEXT False", "patients.last_name": "TEXT False",
	"patients.ssn": "TEXT False", "patients.mrn": "TEXT False", "patients.dob": "DATE False",
	"patients.street": "TEXT True", "patients.city": "TEXT False", "patients.state": "TEXT False",
	"patients.zip": "TEXT False", "patients.phone": "TEXT True", "patients.email": "TEXT True",
	"patients.sex": "TEXT False", "encounters.id": "BIGINT False", "encounters.patient_id": "BIGINT False",
	"encounters.admitted_at": "TIMESTAMP False", "encounters.discharged_at": "TIMESTAMP True",
	"encounters.diagnosis_codes": "ARRAY False", "encounters.provider": "TEXT False",
	"notes.id": "BIGINT False", "notes.patient_id": "BIGINT False", "notes.encounter_id": "BIGINT True",
	"notes.note_type": "TEXT False", "notes.body": "TEXT False", "notes.written_at": "TIMESTAMP False",
	"claims.id": "BIGINT False", "claims.patient_id": "BIGINT False", "claims.account_number": "TEXT False",
	"claims.amount": "NUMERIC(12, 2) False", "claims.billed_on": "DATE False",
}
