package config

import (
	"crypto/rand"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// The example file is the documentation a DBA starts from, so it is loaded here: it
// can never drift from what the code accepts.
const examplePath = "../examples/pgmask.toml"

// demoPasswords are the passwords of the example's demo users, also written in
// comments next to their verifiers. Never use them for anything real.
var demoPasswords = map[string]string{
	"alice": "alice-demo-password",
	"bob":   "bob-demo-password",
	"carol": "carol-demo-password",
	"dave":  "dave-demo-password",
}

var printVerifiers = flag.Bool("print-demo-verifiers", false, "print fresh SCRAM-SHA-256 verifiers for the demo users of examples/pgmask.toml")

// demoVerifier makes a verifier the way `pgmask passwd` does: 16 random salt bytes and
// PostgreSQL's default of 4096 iterations.
func demoVerifier(t *testing.T, password string) string {
	t.Helper()
	salt := make([]byte, 16)
	rand.Read(salt)
	v, err := NewVerifier(password, salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return v.String()
}

func TestPrintDemoVerifiers(t *testing.T) {
	if !*printVerifiers {
		t.Skip("run with -print-demo-verifiers to make new verifiers for the example")
	}
	for _, user := range sortedKeys(demoPasswords) {
		t.Logf("[users.%s]\npassword = %q  # demo password: %s", user, demoVerifier(t, demoPasswords[user]), demoPasswords[user])
	}
}

func TestTheExampleFileLoadsAndValidates(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", examplePath, err)
	}
	// Spot-check that the example says what its comments say.
	if got := c.Roles["support"].Rows["clinic.notes"]; !strings.Contains(got, "psychotherapy") {
		t.Errorf("support's row filter on clinic.notes = %q, want it to hide psychotherapy notes", got)
	}
	if !c.Roles["support"].IsReadOnly() {
		t.Error("support is not read-only")
	}
	for role, profile := range map[string]string{
		"support": ProfileMinimumNecessary, "analyst": ProfileMinimumNecessary,
		"researcher": ProfileSafeHarbor, "clinician": ProfileFull,
	} {
		if got := c.Roles[role].Profile; got != profile {
			t.Errorf("roles.%s.profile = %q, want %q", role, got, profile)
		}
	}
	if at, ok := c.Users["carol"].ExpiresAt(); !ok || !at.Equal(time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("carol expires at %v (%t), want the end of 2027-06-30 UTC", at, ok)
	}
	if a := c.Audit; a.Sink != AuditSinkFile || a.KeyEnv != DefaultAuditKeyEnv || a.Path != "/var/log/pgmask/audit.jsonl" {
		t.Errorf("[audit] = %+v, want a file sink keyed from $%s", a, DefaultAuditKeyEnv)
	}
}

func TestTheExampleVerifiersMatchTheDemoPasswordsInTheirComments(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for user, password := range demoPasswords {
		u, ok := c.Users[user]
		if !ok {
			t.Errorf("the example has no user %s", user)
			continue
		}
		v, err := ParseVerifier(u.Password)
		if err != nil {
			t.Errorf("users.%s.password: %v", user, err)
			continue
		}
		if !v.Matches(password) {
			t.Errorf("users.%s.password is not a verifier of %q", user, password)
		}
		line, _ := c.line([]string{"users", user, "password"})
		if line == 0 || !strings.Contains(lines[line-1], password) {
			t.Errorf("users.%s.password: the line does not name the demo password %q", user, password)
		}
	}
}
