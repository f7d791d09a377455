package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pgjdbcJar is where Debian's libpostgresql-jdbc-java installs pgjdbc.
const pgjdbcJar = "/usr/share/java/postgresql.jar"

// jdbcExecutions is how often the Java client runs its PreparedStatement: pgjdbc
// switches to a named server-side statement at the fifth (prepareThreshold).
const jdbcExecutions = 12

func TestJDBCMetadataAndServerPreparedStatementsSeeOnlyWhatTheRoleMaySee(t *testing.T) {
	requireClient(t, "a JDK (javac)", commandWorks("javac", "-version"), "apt-get install default-jdk-headless")
	requireClient(t, "pgjdbc", fileExists(pgjdbcJar), "apt-get install libpostgresql-jdbc-java")
	// Compiled once for the three roles (java Main.java would compile it each time).
	classes := t.TempDir()
	if out, err := exec.Command("javac", "-cp", pgjdbcJar, "-d", classes, filepath.Join(clientsDir(), "java", "Main.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac Main.java: %v\n%s", err, out)
	}
	p := startSecurityProxy(t, nil)
	raw := rawPatients(t, jdbcExecutions)
	for _, r := range clientRoles {
		t.Run(r.role, func(t *testing.T) {
			out := runClient(t, p, r.user, classes, "java", "-cp", pgjdbcJar+string(os.PathListSeparator)+classes,
				"Main", "clinic", r.patientQuery("?", "="), fmt.Sprint(jdbcExecutions))

			// DatabaseMetaData: getTables, getColumns (with the type names PostgreSQL
			// reports for the raw columns), getPrimaryKeys, getImportedKeys,
			// getIndexInfo.
			checkListedSchema(t, r, out, jdbcMetadata)
			for _, ix := range records(out, "INDEX") {
				if !r.sees(ix[0], ix[2]) {
					t.Errorf("getIndexInfo lists index %s of clinic.%s on column %q, which the role cannot see", ix[1], ix[0], ix[2])
				}
			}
			if slices.Contains(field(records(out, "INDEX"), 1), "patients_mrn_key") != r.sees("patients", "mrn") {
				t.Errorf("getIndexInfo lists patients_mrn_key: %v; the role sees mrn: %v", field(records(out, "INDEX"), 1), r.sees("patients", "mrn"))
			}
			assertNamesNothingHidden(t, r, "DatabaseMetaData", metadataOnly(out))

			// The PreparedStatement, executed past prepareThreshold: the masked dob is a
			// java.sql.Date (getDate works and gives January 1), the masked ssn keeps its
			// last four digits.
			rows := records(out, "ROW")
			if len(rows) != jdbcExecutions {
				t.Fatalf("%d rows from %d executions, want one each:\n%s", len(rows), jdbcExecutions, out)
			}
			if rows[jdbcExecutions-1][1] != "true" {
				t.Errorf("the last execution was not server-prepared (prepareThreshold not reached?): %v", rows[jdbcExecutions-1])
			}
			for _, row := range rows {
				var id int64 // the parameter of this execution
				fmt.Sscan(row[0], &id)
				if row[2] != fmt.Sprintf("long:%d", id) {
					t.Errorf("execution %d read id %s", id, row[2])
				}
				checkJDBCRow(t, r, raw[id], row[2:])
			}
			if r.sees("patients", "dob") {
				if got := strings.Join(records(out, "RSCOL")[2], " "); got != "dob date java.sql.Date" {
					t.Errorf("ResultSetMetaData of dob: %q, want \"dob date java.sql.Date\"", got)
				}
			}
		})
	}
}

// jdbcMetadata is what Main.java prints of DatabaseMetaData: TABLE records start with
// the schema, COLUMN records give TYPE_NAME and DATA_TYPE, PK records KEY_SEQ and
// PK_NAME after the column.
var jdbcMetadata = metadataCalls{
	tables: "getTables", columns: "getColumns", primaryKeys: "getPrimaryKeys", foreignKeys: "getImportedKeys",
	tableField: 1,
	types:      jdbcTypeNames,
	primaryKey: func(table string) string { return table + " id 1 " + table + "_pkey" },
}

// jdbcTypeNames are TYPE_NAME and DATA_TYPE (java.sql.Types) that getColumns reports
// for each clinic column on a direct connection.
var jdbcTypeNames = map[string]string{
	"patients.id": "int8 -5", "patients.first_name": "text 12", "patients.last_name": "text 12",
	"patients.ssn": "text 12", "patients.mrn": "text 12", "patients.dob": "date 91",
	"patients.street": "text 12", "patients.city": "text 12", "patients.state": "text 12",
	"patients.zip": "text 12", "patients.phone": "text 12", "patients.email": "text 12",
	"patients.sex": "text 12", "encounters.id": "int8 -5", "encounters.patient_id": "int8 -5",
	"encounters.admitted_at": "timestamptz 93", "encounters.discharged_at": "timestamptz 93",
	"encounters.diagnosis_codes": "_text 2003", "encounters.provider": "text 12",
	"notes.id": "int8 -5", "notes.patient_id": "int8 -5", "notes.encounter_id": "int8 -5",
	"notes.note_type": "text 12", "notes.body": "text 12", "notes.written_at": "timestamptz 93",
	"claims.id": "int8 -5", "claims.patient_id": "int8 -5", "claims.account_number": "text 12",
	"claims.amount": "numeric 2", "claims.billed_on": "date 91",
}

// checkJDBCRow checks the values of one row of the role's patient query, as Main.java
// rendered them with the getter of each column's JDBC type.
func checkJDBCRow(t *testing.T, r clientRole, p rawPatient, vals []string) {
	t.Helper()
	if !r.sees("patients", "ssn") {
		if want := []string{"string:" + p.state, "string:" + p.sex}; !slices.Equal(vals[1:], want) {
			t.Errorf("state, sex = %v, want %v", vals[1:], want)
		}
		return
	}
	ssn, dob, email := r.want(p)
	want := []string{"string:" + ssn, "date:" + dob, "NULL"}
	if email != nil {
		want[2] = "string:" + *email
	}
	if !slices.Equal(vals[1:], want) {
		t.Errorf("ssn, dob, email = %v, want %v", vals[1:], want)
	}
}

// metadataOnly keeps the lines of a client's output that describe the schema (not the
// rows it read).
func metadataOnly(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		kind, _, _ := strings.Cut(line, "\t")
		switch kind {
		case "ROW", "CROW", "DESC", "FIELD", "BATCH", "RSCOL":
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
