package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAMinimalFileGetsTheDocumentedDefaults(t *testing.T) {
	c, err := Parse([]byte(doc{}.String()), "pgmask.toml")
	if err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s, u := c.Server, c.Upstream
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.listen", s.Listen, "127.0.0.1:6432"},
		{"server.max_message_bytes", s.MaxMessageBytes, 64 << 20},
		{"server.startup_timeout", s.StartupTimeout.Duration, 30 * time.Second},
		{"server.idle_timeout", s.IdleTimeout.Duration, time.Duration(0)},
		{"server.shutdown_timeout", s.ShutdownTimeout.Duration, 30 * time.Second},
		{"server.require_tls", s.RequireTLS, false},
		{"server.metrics_listen", s.MetricsListen, ""},
		{"upstream.address", u.Address, "127.0.0.1:5432"},
		{"upstream.sslmode", u.SSLMode, "prefer"},
		{"roles.support.read_only", *c.Roles["support"].ReadOnly, true},
		{"roles.support.statements", strings.Join(c.Roles["support"].Statements, ","), strings.Join(DefaultStatements, ",")},
		{"audit.sink", c.Audit.Sink, "file"},
		{"audit.path", c.Audit.Path, filepath.Join(cwd, "pgmask-audit.jsonl")},
		{"audit.key_env", c.Audit.KeyEnv, "PGMASK_AUDIT_KEY"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestAFullRoleMayWriteAndRunEveryStatementKindByDefault(t *testing.T) {
	d := doc{roles: "[roles.clinician]\nprofile = \"full\"\n"}
	d.users = strings.Replace(okUsers, `"support"`, `"clinician"`, 1)
	c, err := Parse([]byte(d.String()), "pgmask.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Roles["clinician"]
	if r.IsReadOnly() || len(r.Statements) != len(StatementKinds) {
		t.Errorf("full role: read-only %t, statements %v; want writable with every kind", r.IsReadOnly(), r.Statements)
	}
}

func TestCheckAndSetDefaultsIsIdempotent(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	before := *c
	if err := c.CheckAndSetDefaults(); err != nil {
		t.Fatalf("second CheckAndSetDefaults: %v", err)
	}
	if c.Server != before.Server || c.Upstream != before.Upstream {
		t.Errorf("second CheckAndSetDefaults changed the config:\n%+v\n%+v", before, *c)
	}
}

func TestASyntaxErrorNamesItsLine(t *testing.T) {
	src := "[server]\nlisten = \"127.0.0.1:6432\"\nmax_message_bytes 5 # <-\n"
	_, err := Parse([]byte(src), "pgmask.toml")
	wantError(t, src, err, "pgmask.toml", "syntax error: expected '.' or '='")
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error %T is not an *Error", err)
	}
}

func TestUnknownKeysAreRejectedWithASuggestion(t *testing.T) {
	tests := []struct {
		name string
		doc  doc
		want string
	}{
		{"a misspelt key", doc{server: "[server]\nlisen = \":6432\" # <-\n"},
			`server.lisen: unknown key "lisen" (did you mean "listen"?)`},
		{"a key in the wrong case", doc{roles: okRoles + "Read_Only = true # <-\n"},
			`roles.support.Read_Only: unknown key "Read_Only" (did you mean "read_only"?)`},
		{"an unknown section", doc{server: "[metrics] # <-\nlisten = \"x\"\n"},
			`metrics: unknown key "metrics" (want one of audit, masking, roles, server, tables, upstream, users)`},
		{"a misspelt audit key", doc{audit: "[audit]\nkey_evn = \"K\" # <-\n"},
			`audit.key_evn: unknown key "key_evn" (did you mean "key_env"?)`},
		{"a key of a feature that does not exist", doc{users: okUsers + "mfa = true # <-\n"},
			`users.alice.mfa: unknown key "mfa" (want one of break_glass, expires, password, purposes, role)`},
		{"a string where a table belongs", doc{users: okUsers + "break_glass = \"clinician\" # <-\n"},
			`users.alice.break_glass: want a table, got a string`},
		{"an unknown key in a table section", doc{tables: okTables + "colums = {} # <-\n"},
			`tables."clinic.notes".colums: unknown key "colums" (did you mean "columns"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.doc.String()
			_, err := Parse([]byte(src), "pgmask.toml")
			wantError(t, src, err, "pgmask.toml", tt.want)
		})
	}
}

func TestValuesOfTheWrongTypeAreRejected(t *testing.T) {
	tests := []struct {
		name string
		doc  doc
		want string
	}{
		{"a number for a string", doc{server: "[server]\nlisten = 6432 # <-\n"},
			"server.listen: want a string, got the integer 6432"},
		{"a string for a number", doc{server: "[server]\nmax_message_bytes = \"64MB\" # <-\n"},
			"server.max_message_bytes: want an integer, got a string"},
		{"a string for a boolean", doc{server: "[server]\nrequire_tls = \"yes\" # <-\n"},
			"server.require_tls: want true or false, got a string"},
		{"a duration without a unit", doc{server: "[server]\nidle_timeout = 30 # <-\n"},
			`server.idle_timeout: want a duration such as "30s" or "5m", got the integer 30`},
		{"a malformed duration", doc{server: "[server]\nidle_timeout = \"30 seconds\" # <-\n"},
			`server.idle_timeout: invalid duration "30 seconds"`},
		{"a string for a table", doc{tables: okTables + "[tables.\"clinic.claims\"]\ncolumns = \"id\" # <-\n"},
			`tables."clinic.claims".columns: want a table, got a string`},
		{"a string for an array", doc{roles: okRoles + "statements = \"select\" # <-\n"},
			"roles.support.statements: want an array, got a string"},
		{"a number in an array", doc{roles: "[roles.support]\nprofile = \"full\"\ntables = [\n  \"clinic.patients\",\n  42, # <-\n]\n"},
			"roles.support.tables: want a string, got the integer 42"},
		{"a quoted date", doc{users: okUsers + "expires = \"2027-06-30\" # <-\n"},
			"users.alice.expires: want a TOML date or datetime without quotes, such as 2027-06-30, got a string"},
		{"a time of day for a date", doc{users: okUsers + "expires = 17:00:00 # <-\n"},
			"users.alice.expires: want a date (2027-06-30) or datetime (2027-06-30T17:00:00Z), unquoted, got a time of day"},
		{"a value where a section belongs", doc{server: "server = \"x\" # <-\n"},
			"server: want a table, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.doc.String()
			_, err := Parse([]byte(src), "pgmask.toml")
			wantError(t, src, err, "pgmask.toml", tt.want)
		})
	}
}

func TestTheValueOfAStringInTheWrongPlaceIsNeverShown(t *testing.T) {
	src := doc{users: "[users]\nalice = \"my-secret-password\"\n"}.String()
	_, err := Parse([]byte(src), "pgmask.toml")
	if err == nil || strings.Contains(err.Error(), "my-secret-password") {
		t.Errorf("error = %v; want an error that does not repeat the value", err)
	}
}

func TestEveryProblemIsReportedAtOnceInFileOrder(t *testing.T) {
	src := `[server]
listen = "localhost" # server.listen
[upstream]
database = "clinic"
sslmode = "verify-ca" # upstream.sslmode
` + okTables + `
[roles.support]
profile = "minimal" # roles.support.profile
tables = ["clinic.patients"]
[users.alice]
password = "hunter2" # users.alice.password
role = "supprt" # users.alice.role
`
	_, err := Parse([]byte(src), "pgmask.toml")
	if err == nil {
		t.Fatal("no error")
	}
	var keys []string
	for _, l := range strings.Split(src, "\n") {
		if _, k, ok := strings.Cut(l, "# "); ok {
			keys = append(keys, k)
		}
	}
	// upstream.user is missing: placed at [upstream], after server.listen.
	keys = append(keys[:1], append([]string{"upstream.user"}, keys[1:]...)...)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(keys) {
		t.Fatalf("got %d errors, want %d (%v):\n%v", len(lines), len(keys), keys, err)
	}
	for i, l := range lines {
		if !strings.Contains(l, ": "+keys[i]+": ") {
			t.Errorf("error %d is %q, want one about %s", i+1, l, keys[i])
		}
	}
}

func TestLoadNamesAFileItCannotRead(t *testing.T) {
	_, err := Load("testdata/does-not-exist.toml")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "testdata/does-not-exist.toml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}
