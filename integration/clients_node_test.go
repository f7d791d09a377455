package integration

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// nodeRows is how many patients the node-postgres client reads, and nodeBatch how many
// rows each read of its cursor asks for.
const (
	nodeRows  = 10
	nodeBatch = 4
)

// requireNodeClient fails (under CI) or skips the test unless node can run the client
// with pg and pg-cursor installed in its directory, running `npm ci` there first when
// node_modules is missing (.ci/run does that before the tests).
func requireNodeClient(t *testing.T, dir string) {
	t.Helper()
	requireClient(t, "node", commandWorks("node", "--version"), "apt-get install nodejs npm")
	if !fileExists(filepath.Join(dir, "node_modules", "pg-cursor", "package.json")) {
		requireClient(t, "npm", commandWorks("npm", "--version"), "apt-get install npm")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		requireClient(t, "node-postgres (npm ci in "+dir+")", err == nil, "npm ci failed: "+strings.TrimSpace(string(out)))
	}
}

func TestNodePostgresParametersAndCursorReadMaskedColumnsInTheirTypes(t *testing.T) {
	dir := filepath.Join(clientsDir(), "node")
	requireNodeClient(t, dir)
	p := startSecurityProxy(t, nil)
	raw := rawPatients(t, nodeRows)
	for _, r := range clientRoles {
		t.Run(r.role, func(t *testing.T) {
			out := runClient(t, p, r.user, dir, "node", "main.js", r.patientQuery("$1", "<="),
				fmt.Sprint(nodeRows), fmt.Sprint(nodeBatch))

			// The RowDescription: a masked column keeps its type OID (dob is a date).
			var fields []string
			for _, f := range records(out, "FIELD") {
				fields = append(fields, f[0]+":"+f[1])
			}
			wantFields := "id:20 state:25 sex:25"
			if r.sees("patients", "ssn") {
				wantFields = "id:20 ssn:25 dob:1082 email:25"
			}
			if got := strings.Join(fields, " "); got != wantFields {
				t.Errorf("fields: %s, want %s", got, wantFields)
			}

			// The parameterized query and the cursor read the same rows: the masked dob
			// decodes as a JavaScript Date at midnight on January 1.
			var want [][]string
			for id := int64(1); id <= nodeRows; id++ {
				p := raw[id]
				row := []string{fmt.Sprintf("string:%d", id), "string:" + p.state, "string:" + p.sex}
				if r.sees("patients", "ssn") {
					ssn, dob, email := r.want(p)
					row = []string{fmt.Sprintf("string:%d", id), "string:" + ssn, "Date:" + dob + "T00:00:00.000Z", "NULL"}
					if email != nil {
						row[3] = "string:" + *email
					}
				}
				want = append(want, row)
			}
			if got := records(out, "ROW"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("query with $1:\n%v\nwant\n%v", got, want)
			}
			if got := records(out, "CROW"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("cursor:\n%v\nwant\n%v", got, want)
			}
			if got := field(records(out, "BATCH"), 0); !slices.Equal(got, []string{"4", "4", "2"}) {
				t.Errorf("the cursor read batches of %v rows, want [4 4 2]", got)
			}
		})
	}
}
