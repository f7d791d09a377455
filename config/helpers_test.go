package config

import (
	"fmt"
	"strings"
	"testing"
)

// A test document is built from sections; a case replaces the ones it is about and
// marks the line its error must name with "# <-".
type doc struct {
	server, upstream, tables, roles, users, audit string
}

// aliceVerifier is the verifier of "alice-demo-password" from the example file.
const aliceVerifier = "SCRAM-SHA-256$4096:8JpKFvFJ5/soNomKXWt99A==$TB3fm9NW5mte8rxtDWlx53FDtTfXbVLdaqZ6UJacSj4=:7jDQhu4IzxZ0shD+vMso/Qr2jHPY54PVp5cL9ertO6I="

const (
	okUpstream = `[upstream]
database = "clinic"
user = "pgmask"
`
	okTables = `[tables."clinic.patients"]
subject_key = "id"
columns = { id = "none", name = "name", ssn = "ssn", dob = "birth_date" }

[tables."clinic.notes"]
columns = { id = "none", body = "free_text", note_type = "none" }
`
	okRoles = `[roles.support]
profile = "minimum_necessary"
tables = ["clinic.patients", "clinic.notes"]
`
	okUsers = `[users.alice]
password = "` + aliceVerifier + `"
role = "support"
`
)

func (d doc) String() string {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	return strings.Join([]string{
		d.server, or(d.upstream, okUpstream), or(d.tables, okTables), or(d.roles, okRoles), or(d.users, okUsers), d.audit,
	}, "\n")
}

// markedLine returns the number of the line marked "# <-", or 0.
func markedLine(src string) int {
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "# <-") {
			return i + 1
		}
	}
	return 0
}

// wantError checks that err contains "<file>:<marked line>: <want>" as one of its lines.
func wantError(t *testing.T, src string, err error, file, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q in:\n%s", want, src)
	}
	at := file
	if line := markedLine(src); line > 0 {
		at = fmt.Sprintf("%s:%d", file, line)
	}
	full := at + ": " + want
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(l, full) {
			return
		}
	}
	t.Errorf("error does not have a line starting with\n\t%s\ngot:\n%v", full, err)
}
