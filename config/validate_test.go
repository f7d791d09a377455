package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validationCases pair a broken document with the error it must produce, at the line
// marked "# <-" (or at the file when nothing is marked). $DIR is a directory holding
// cert.pem, key.pem and ca.pem.
var validationCases = []struct {
	name string
	doc  doc
	want string
}{
	// [server]
	{"a listen address without a port is rejected",
		doc{server: "[server]\nlisten = \"localhost\" # <-\n"}, `server.listen: want host:port, got "localhost"`},
	{"a listen port out of range is rejected",
		doc{server: "[server]\nlisten = \":65536\" # <-\n"}, `server.listen: port "65536" of ":65536" must be a number from 0 to 65535`},
	{"a metrics_listen address without a port is rejected",
		doc{server: "[server]\nmetrics_listen = \"localhost\" # <-\n"}, `server.metrics_listen: want host:port, got "localhost"`},
	{"a metrics_listen equal to listen is rejected",
		doc{server: "[server]\nlisten = \"127.0.0.1:6432\"\nmetrics_listen = \"127.0.0.1:6432\" # <-\n"}, "server.metrics_listen: must differ from server.listen (127.0.0.1:6432)"},
	{"a tiny max_message_bytes is rejected",
		doc{server: "[server]\nmax_message_bytes = 1023 # <-\n"}, "server.max_message_bytes: must be from 1024 to 1073741824 (1 GiB), got 1023"},
	{"a max_message_bytes above 1 GiB is rejected",
		doc{server: "[server]\nmax_message_bytes = 1073741825 # <-\n"}, "server.max_message_bytes: must be from 1024 to 1073741824 (1 GiB), got 1073741825"},
	{"a negative timeout is rejected",
		doc{server: "[server]\nidle_timeout = \"-1s\" # <-\n"}, "server.idle_timeout: must not be negative, got -1s"},
	{"a tls_cert without tls_key is rejected",
		doc{server: "[server]\ntls_cert = \"$DIR/cert.pem\" # <-\n"}, "server.tls_cert: server.tls_key is required with server.tls_cert"},
	{"a tls_key without tls_cert is rejected",
		doc{server: "[server]\ntls_key = \"$DIR/key.pem\" # <-\n"}, "server.tls_key: server.tls_cert is required with server.tls_key"},
	{"a missing certificate file is rejected",
		doc{server: "[server]\ntls_cert = \"$DIR/nope.pem\" # <-\ntls_key = \"$DIR/key.pem\"\n"}, "server.tls_cert: file $DIR/nope.pem does not exist"},
	{"a directory is not a key file",
		doc{server: "[server]\ntls_cert = \"$DIR/cert.pem\"\ntls_key = \"$DIR\" # <-\n"}, "server.tls_key: $DIR is a directory, want a file"},
	{"require_tls without a certificate is rejected",
		doc{server: "[server]\nrequire_tls = true # <-\n"}, "server.require_tls: needs server.tls_cert and server.tls_key"},

	// [upstream]
	{"an upstream address without a host is rejected",
		doc{upstream: "[upstream]\naddress = \":5432\" # <-\ndatabase = \"clinic\"\nuser = \"pgmask\"\n"}, `upstream.address: want host:port, got ":5432" without a host`},
	{"an upstream port of 0 is rejected",
		doc{upstream: "[upstream]\naddress = \"db:0\" # <-\ndatabase = \"clinic\"\nuser = \"pgmask\"\n"}, `upstream.address: port "0" of "db:0" must be a number from 1 to 65535`},
	{"upstream.database is required",
		doc{upstream: "[upstream] # <-\nuser = \"pgmask\"\n"}, "upstream.database: required"},
	{"upstream.user is required",
		doc{upstream: "[upstream] # <-\ndatabase = \"clinic\"\n"}, "upstream.user: required"},
	{"a missing [upstream] is reported at the file",
		doc{upstream: "\n"}, "upstream.database: required"},
	{"two password sources are rejected",
		doc{upstream: okUpstream + "password = \"x\"\npassword_file = \"pw\" # <-\n"}, "upstream.password_file: set only one of password, password_env and password_file (found password, password_file)"},
	{"an unknown sslmode is rejected",
		doc{upstream: okUpstream + "sslmode = \"verify_full\" # <-\n"}, `upstream.sslmode: unknown sslmode "verify_full" (did you mean "verify-full"?)`},
	{"a Unix socket with an sslmode that needs TLS is rejected",
		doc{upstream: "[upstream]\naddress = \"/var/run/postgresql:5432\"\ndatabase = \"clinic\"\nuser = \"pgmask\"\nsslmode = \"require\" # <-\n"},
		`upstream.sslmode: "require" needs TLS, which a Unix socket (address "/var/run/postgresql:5432") does not use; set sslmode = "disable" or connect over TCP`},
	{"sslrootcert without verification is rejected",
		doc{upstream: okUpstream + "sslmode = \"prefer\"\nsslrootcert = \"$DIR/ca.pem\" # <-\n"}, `upstream.sslrootcert: is used only with sslmode verify-full or require, not "prefer"`},
	{"a missing sslrootcert file is rejected",
		doc{upstream: okUpstream + "sslmode = \"verify-full\"\nsslrootcert = \"$DIR/none.pem\" # <-\n"}, "upstream.sslrootcert: file $DIR/none.pem does not exist"},

	// [tables]
	{"a table key must be schema.table",
		doc{tables: okTables + "[tables.patients] # <-\ncolumns = { id = \"none\" }\n"}, `tables.patients: table name "patients" must be "schema.table"`},
	{"a table must classify a column",
		doc{tables: okTables + "[tables.\"clinic.empty\"] # <-\nsubject_key = \"\"\n"}, `tables."clinic.empty".columns: no column is classified`},
	{"an unknown category is rejected with a suggestion",
		doc{tables: okTables + "[tables.\"clinic.claims\"]\ncolumns = { id = \"none\", acct = \"account\" } # <-\n"}, `tables."clinic.claims".columns.acct: unknown category "account" (want one of name, street_address`},
	{"a misspelt category gets a suggestion",
		doc{tables: okTables + "[tables.\"clinic.claims\"]\ncolumns = { id = \"none\", email = \"e-mail\" } # <-\n"}, `tables."clinic.claims".columns.email: unknown category "e-mail" (did you mean "email"?)`},
	{"a subject_key must be a classified column",
		doc{tables: okTables + "[tables.\"clinic.claims\"]\nsubject_key = \"patient_id\" # <-\ncolumns = { id = \"none\" }\n"}, `tables."clinic.claims".subject_key: "patient_id" is not a classified column of clinic.claims`},

	// [roles]
	{"a role needs a profile",
		doc{roles: "[roles.support] # <-\ntables = []\n"}, "roles.support.profile: required (want one of full, minimum_necessary, limited_data_set, safe_harbor)"},
	{"an unknown profile is rejected",
		doc{roles: "[roles.support]\nprofile = \"minimal\" # <-\n"}, `roles.support.profile: unknown profile "minimal" (want one of full, minimum_necessary, limited_data_set, safe_harbor)`},
	{"a role name must be an identifier",
		doc{roles: okRoles + "[roles.\"tech support\"] # <-\nprofile = \"full\"\n"}, `roles."tech support": role name "tech support" must start with a letter`},
	{"a granted table must be classified",
		doc{roles: "[roles.support]\nprofile = \"full\"\ntables = [\n  \"clinic.patients\",\n  \"clinic.claims\", # <-\n]\n"}, `roles.support.tables: table "clinic.claims" is not classified: add a [tables."clinic.claims"] section`},
	{"a granted table must be schema.table",
		doc{roles: "[roles.support]\nprofile = \"full\"\ntables = [\"patients\"] # <-\n"}, `roles.support.tables: table "patients" must be "schema.table"`},
	{"a table granted twice is reported",
		doc{roles: "[roles.support]\nprofile = \"full\"\ntables = [\"clinic.notes\", \"clinic.notes\"] # <-\n"}, `roles.support.tables: table "clinic.notes" is listed twice`},
	{"a transform key must be a category",
		doc{roles: okRoles + "transforms = { names = \"keep\" } # <-\n"}, `roles.support.transforms.names: unknown category "names" (did you mean "name"?)`},
	{"an unknown transform is rejected",
		doc{roles: okRoles + "transforms = { ssn = \"last5\" } # <-\n"}, `roles.support.transforms.ssn: unknown transform "last5" (did you mean "last4"?)`},
	{"a transform with bad arguments is rejected",
		doc{roles: okRoles + "transforms = { ssn = \"partial(-1, 4)\" } # <-\n"}, `roles.support.transforms.ssn: transform "partial(-1, 4)": first must be an integer ≥ 0, got "-1"`},
	{"a column override must be schema.table.column",
		doc{roles: okRoles + "columns = { ssn = \"keep\" } # <-\n"}, `roles.support.columns.ssn: column "ssn" must be "schema.table.column"`},
	{"a column override must name a granted table",
		doc{roles: "[roles.support]\nprofile = \"safe_harbor\"\ntables = [\"clinic.patients\"]\ncolumns = { \"clinic.notes.body\" = \"redact_patterns\" } # <-\n"}, `roles.support.columns."clinic.notes.body": table "clinic.notes" is not in roles.support.tables`},
	{"a column override must name a classified column",
		doc{roles: okRoles + "columns = { \"clinic.patients.phone\" = \"last4\" } # <-\n"}, `roles.support.columns."clinic.patients.phone": column "phone" is not classified in [tables."clinic.patients"]`},
	{"a column override needs a known transform",
		doc{roles: okRoles + "columns = { \"clinic.patients.ssn\" = \"bucket(0)\" } # <-\n"}, `roles.support.columns."clinic.patients.ssn": transform "bucket(0)": width must be a number > 0, got "0"`},
	{"a row filter must be on a granted table",
		doc{roles: "[roles.support]\nprofile = \"minimum_necessary\"\ntables = [\"clinic.patients\"]\nrows = { \"clinic.notes\" = \"true\" } # <-\n"}, `roles.support.rows."clinic.notes": table "clinic.notes" is not in roles.support.tables`},
	{"a row filter must not be empty",
		doc{roles: okRoles + "rows = { \"clinic.notes\" = \"  \" } # <-\n"}, `roles.support.rows."clinic.notes": the row filter is empty`},
	{"a function must be schema.function",
		doc{roles: okRoles + "functions = [\"lower\"] # <-\n"}, `roles.support.functions: function "lower" must be "schema.function"`},
	{"an unknown statement kind is rejected",
		doc{roles: okRoles + "statements = [\"select\", \"selct\"] # <-\n"}, `roles.support.statements: unknown statement kind "selct" (did you mean "select"?)`},
	{"a SQL keyword is mapped to its statement kind",
		doc{roles: okRoles + "statements = [\"select\", \"vacuum\"] # <-\n"}, `roles.support.statements: unknown statement kind "vacuum" (VACUUM statements are kind maintenance)`},
	{"a read-only role may not list a write",
		doc{roles: okRoles + "statements = [\"select\", \"update\"] # <-\n"}, `roles.support.statements: "update" writes, but the role is read-only (set read_only = false to allow it)`},
	{"an explicitly read-only full role may not list a write",
		doc{roles: "[roles.support]\nprofile = \"full\"\nread_only = true\nstatements = [\"ddl\"] # <-\n"}, `roles.support.statements: "ddl" writes, but the role is read-only`},
	{"an empty statement list is rejected",
		doc{roles: okRoles + "statements = [] # <-\n"}, "roles.support.statements: lists no statement kind"},

	{"pgmask's own schema cannot be granted",
		doc{tables: okTables + "[tables.\"pgmask.subject_codes\"]\ncolumns = { code = \"none\" }\n", roles: "[roles.support]\nprofile = \"minimum_necessary\"\ntables = [\"pgmask.subject_codes\"] # <-\n"},
		`roles.support.tables: table "pgmask.subject_codes" is in pgmask's own schema "pgmask", which no role may read`},
	{"a limited data set needs a data use agreement",
		doc{roles: okRoles + "[roles.quality] # <-\nprofile = \"limited_data_set\"\nexpires = 2027-06-30\n"}, "roles.quality.data_use_agreement: required for profile limited_data_set"},
	{"a limited data set needs an end date",
		doc{roles: okRoles + "[roles.quality] # <-\nprofile = \"limited_data_set\"\ndata_use_agreement = \"DUA-2026-014\"\n"}, "roles.quality.expires: required for profile limited_data_set: when the data use agreement ends"},
	{"a role expiry must be a date",
		doc{roles: okRoles + "expires = \"2027-06-30\" # <-\n"}, "roles.support.expires: want a TOML date or datetime without quotes"},

	// [users]
	{"a plain-text password is rejected",
		doc{users: "[users.alice]\npassword = \"hunter2\" # <-\nrole = \"support\"\n"}, "users.alice.password: plain-text passwords are not accepted: store a SCRAM-SHA-256 verifier (make one with `pgmask passwd`"},
	{"an MD5 password hash is rejected",
		doc{users: "[users.alice]\npassword = \"md5" + strings.Repeat("0", 32) + "\" # <-\nrole = \"support\"\n"}, "users.alice.password: MD5 password hashes are not accepted"},
	{"a malformed verifier is rejected",
		doc{users: "[users.alice]\npassword = \"SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA\" # <-\nrole = \"support\"\n"}, "users.alice.password: malformed SCRAM-SHA-256 verifier: StoredKey decodes to 3 bytes, want 32"},
	{"a user needs a password",
		doc{users: "[users.alice] # <-\nrole = \"support\"\n"}, "users.alice.password: required"},
	{"a user needs a role",
		doc{users: "[users.alice] # <-\npassword = \"" + aliceVerifier + "\"\n"}, "users.alice.role: required: the role the user connects as (defined roles: support)"},
	{"a user's role must be defined",
		doc{users: "[users.alice]\npassword = \"" + aliceVerifier + "\"\nrole = \"suport\" # <-\n"}, `users.alice.role: unknown role "suport" (did you mean "support"?)`},
	{"a user name must be an identifier",
		doc{users: okUsers + "[users.\"\"] # <-\npassword = \"" + aliceVerifier + "\"\nrole = \"support\"\n"}, `users."": user name "" must start with a letter`},

	// [audit]
	{"an unknown sink is rejected with a suggestion",
		doc{audit: "[audit]\nsink = \"files\" # <-\n"}, `audit.sink: unknown sink "files" (did you mean "file"?)`},
	{"two key sources are rejected",
		doc{audit: "[audit]\nkey_env = \"K\"\nkey_file = \"key\" # <-\n"}, "audit.key_file: set only one of key_env and key_file"},
	{"the postgres sink needs a connection string",
		doc{audit: "[audit]\nsink = \"postgres\" # <-\n"}, `audit.sink: sink = "postgres" needs dsn_env or dsn_file`},
	{"two connection string sources are rejected",
		doc{audit: "[audit]\nsink = \"postgres\"\ndsn_env = \"D\"\ndsn_file = \"dsn\" # <-\n"}, "audit.dsn_file: set only one of dsn_env and dsn_file"},
	{"a connection string is refused for the file sink",
		doc{audit: "[audit]\ndsn_env = \"D\" # <-\n"}, `audit.dsn_env: is used only with sink = "postgres", not "file"`},
	{"a file path is refused for the postgres sink",
		doc{audit: "[audit]\nsink = \"postgres\"\ndsn_env = \"D\"\npath = \"a.jsonl\" # <-\n"}, `audit.path: is used only with sink = "file", not "postgres"`},
	{"a tiny max_bytes is rejected",
		doc{audit: "[audit]\nmax_bytes = 100 # <-\n"}, "audit.max_bytes: must be at least 4096, got 100"},
	{"a negative max_age is rejected",
		doc{audit: "[audit]\nmax_age = \"-1h\" # <-\n"}, "audit.max_age: must not be negative, got -1h0m0s"},
	{"a negative rotate_key_every is rejected",
		doc{audit: "[audit]\nrotate_key_every = -1 # <-\n"}, "audit.rotate_key_every: must not be negative, got -1"},
	{"a key interval under a second is rejected",
		doc{audit: "[audit]\nrotate_key_interval = \"10ms\" # <-\n"}, "audit.rotate_key_interval: must be at least 1s, got 10ms"},
	{"a negative queue_limit is rejected",
		doc{audit: "[audit]\nqueue_limit = -5 # <-\n"}, "audit.queue_limit: must be positive, got -5"},
	{"a huge batch_size is rejected",
		doc{audit: "[audit]\nbatch_size = 10001 # <-\n"}, "audit.batch_size: must be from 1 to 10000, got 10001"},
	{"a flush_interval above 10s is rejected",
		doc{audit: "[audit]\nflush_interval = \"1m\" # <-\n"}, "audit.flush_interval: must be from 1ms to 10s, got 1m0s"},
	{"an unknown purpose is rejected with a suggestion",
		doc{users: okUsers + "purposes = { treatmnt = \"support\" } # <-\n"}, `users.alice.purposes.treatmnt: unknown purpose "treatmnt" (did you mean "treatment"?)`},
	{"a purpose must map to a defined role",
		doc{users: okUsers + "purposes = { treatment = \"clinician\" } # <-\n"}, `users.alice.purposes.treatment: unknown role "clinician"`},
	{"only a minimum-necessary exception may map to a full role",
		doc{roles: okRoles + "[roles.clinician]\nprofile = \"full\"\n", users: okUsers + "purposes = { operations = \"clinician\" } # <-\n"},
		`users.alice.purposes.operations: role "clinician" has profile full, but minimum necessary applies to purpose "operations" (45 CFR 164.502(b))`},
	{"a purpose role must share the upstream identity",
		doc{roles: okRoles + "[roles.clinician]\nprofile = \"full\"\nupstream_user = \"clinician\"\n", users: okUsers + "purposes = { treatment = \"clinician\" } # <-\n"},
		`users.alice.purposes.treatment: role "clinician" connects upstream as "clinician" but users.alice.role "support" as "pgmask"`},
	{"break_glass needs a role",
		doc{users: okUsers + "break_glass = { max = \"30m\" } # <-\n"}, "users.alice.break_glass.role: required"},
	{"break_glass needs a maximum",
		doc{roles: okRoles + "[roles.clinician]\nprofile = \"full\"\n", users: okUsers + "break_glass = { role = \"clinician\" } # <-\n"}, "users.alice.break_glass.max: required"},
	{"break_glass may not last more than a day",
		doc{roles: okRoles + "[roles.clinician]\nprofile = \"full\"\n", users: okUsers + "break_glass = { role = \"clinician\", max = \"48h\" } # <-\n"}, "users.alice.break_glass.max: 48h0m0s is longer than the 24h0m0s limit"},
}

func TestEachValidationRuleNamesFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "ca.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("-----BEGIN-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range validationCases {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.ReplaceAll(tt.doc.String(), "$DIR", dir)
			_, err := Parse([]byte(src), "pgmask.toml")
			wantError(t, src, err, "pgmask.toml", strings.ReplaceAll(tt.want, "$DIR", dir))
		})
	}
}

func TestValidFilesPass(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "ca.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		doc  doc
	}{
		{"the minimal file", doc{}},
		{"TLS on both sides", doc{
			server:   "[server]\nlisten = \"[::1]:6432\"\nmetrics_listen = \"[::1]:9187\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\nrequire_tls = true\n",
			upstream: okUpstream + "sslmode = \"verify-full\"\nsslrootcert = \"ca.pem\"\n",
		}},
		{"every transform form", doc{roles: okRoles + `transforms = { name = "partial(1, 0)", ssn = "last4", birth_date = "date_shift(30)", free_text = "redact_patterns", none = "keep" }
columns = { "clinic.patients.id" = "hash", "clinic.patients.dob" = "expr(\"date_trunc('year', dob)::date\")", "clinic.notes.body" = "null" }
`}},
		{"a writable restricted role", doc{roles: okRoles + "read_only = false\nstatements = [\"select\", \"insert\", \"update\"]\nfunctions = [\"clinic.age\"]\nrows = { \"clinic.notes\" = \"note_type <> 'psychotherapy'\" }\n"}},
		{"purposes, break-glass and a limited data set", doc{
			roles: okRoles + "[roles.clinician]\nprofile = \"full\"\n[roles.quality]\nprofile = \"limited_data_set\"\ntables = [\"clinic.patients\"]\ndata_use_agreement = \"DUA-2026-014\"\nexpires = 2027-06-30\n",
			users: okUsers + "purposes = { treatment = \"clinician\", operations = \"support\", research = \"quality\" }\nbreak_glass = { role = \"clinician\", max = \"30m\" }\n"}},
		{"email-style user names", doc{users: "[users.\"alice@example.com\"]\npassword = \"" + aliceVerifier + "\"\nrole = \"support\"\n"}},
		{"a file audit sink with every key", doc{audit: "[audit]\nsink = \"file\"\npath = \"audit/pgmask.jsonl\"\nmax_bytes = 4096\nmax_age = \"1h\"\nkey_file = \"audit.key\"\nrotate_key_every = 100\nrotate_key_interval = \"1s\"\nqueue_limit = 1\nbatch_size = 10000\nflush_interval = \"1ms\"\n"}},
		{"a postgres audit sink", doc{audit: "[audit]\nsink = \"postgres\"\ndsn_file = \"dsn\"\nchain = \"pgmask-1\"\nkey_env = \"K\"\nflush_interval = \"10s\"\n"}},
		{"no audit log, with the keys left in place", doc{audit: "[audit]\nsink = \"off\"\ndsn_env = \"D\"\nkey_env = \"A\"\nkey_file = \"B\"\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Relative file names are resolved against the file's directory.
			c, err := Parse([]byte(tt.doc.String()), filepath.Join(dir, "pgmask.toml"))
			if err != nil {
				t.Fatal(err)
			}
			files := []string{c.Server.TLSCert, c.Server.TLSKey, c.Upstream.SSLRootCert}
			if c.Audit.Enabled() {
				files = append(files, c.Audit.Path, c.Audit.KeyFile, c.Audit.DSNFile)
			}
			for _, f := range files {
				if f != "" && !filepath.IsAbs(f) {
					t.Errorf("file name %q was not made absolute", f)
				}
			}
		})
	}
}

func TestAConfigBuiltInCodeIsValidatedToo(t *testing.T) {
	c := &Config{
		Upstream: Upstream{Database: "clinic", User: "pgmask"},
		Roles:    map[string]Role{"r": {Profile: "safe_harbour"}},
	}
	err := c.CheckAndSetDefaults()
	if err == nil || err.Error() != `roles.r.profile: unknown profile "safe_harbour" (did you mean "safe_harbor"?)` {
		t.Errorf("error = %v", err)
	}
	if c.Server.Listen != DefaultListen {
		t.Errorf("defaults were not set: listen = %q", c.Server.Listen)
	}
}
