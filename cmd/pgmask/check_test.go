package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckValidatesThePolicyAgainstTheLiveSchema(t *testing.T) {
	cluster := clinicCluster(t)
	path := exampleFile(t, cluster)

	t.Run("the example policy fits the clinic schema", func(t *testing.T) {
		code, out, errOut := pgmask("", "check", "--config", path)
		if code != 0 || !strings.Contains(out, "0 errors, 0 warnings") {
			t.Errorf("exit code %d:\n%s%s", code, out, errOut)
		}
	})

	// A schema the policy does not fully fit: an unclassified column and a view over
	// a protected table.
	if err := cluster.Exec(context.Background(), "clinic", `ALTER TABLE clinic.patients ADD COLUMN insurer text;
CREATE VIEW clinic.patient_contacts AS SELECT id, phone, email FROM clinic.patients;`); err != nil {
		t.Fatal(err)
	}
	t.Run("warnings alone exit 0", func(t *testing.T) {
		code, out, errOut := pgmask("", "check", "--config", path)
		if code != 0 || !strings.Contains(out, "0 errors, 2 warnings") {
			t.Errorf("exit code %d:\n%s%s", code, out, errOut)
		}
		for _, want := range []string{
			`warning: ` + path + `:`, `column "insurer" of clinic.patients is not classified`,
			`view clinic.patient_contacts reads protected relation clinic.patients`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the report lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("every kind of error is listed with its place in the file and exits 1", func(t *testing.T) {
		broken := fmt.Sprintf(`[upstream]
address = "%s:%d"
database = "clinic"
user = "%s"
password_env = "PGMASK_UPSTREAM_PASSWORD"
sslmode = "disable"

[tables."clinic.patients"]
columns = { id = "none", ssn = "ssn", dob = "birth_date", nickname = "name" }

[tables."clinic.nowhere"]
columns = { id = "none" }

[tables."clinic.notes"]
columns = { id = "none", patient_id = "none", note_type = "none", body = "free_text" }

[roles.support]
profile = "minimum_necessary"
tables = ["clinic.patients", "clinic.nowhere", "clinic.notes"]
transforms = { ssn = "last4", birth_date = "last4" }
functions = ["public.no_such_function"]

[roles.typo]
profile = "minimum_necessary"
tables = ["clinic.notes"]
rows = { "clinic.notes" = "lenght(body) > 0" }

[roles.types]
profile = "minimum_necessary"
tables = ["clinic.notes"]
rows = { "clinic.notes" = "note_type <> 1" }

[roles.missing]
profile = "minimum_necessary"
tables = ["clinic.notes"]
rows = { "clinic.notes" = "deleted_at IS NULL" }

[roles.keyed]
profile = "minimum_necessary"
tables = ["clinic.patients"]
transforms = { ssn = "hash" }
`, cluster.Host, cluster.Port, cluster.User)
		file := writeFile(t, "broken.toml", broken)
		code, out, errOut := pgmask("", "check", "--config", file)
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		for _, want := range []string{
			`error: ` + file + `:11: tables."clinic.nowhere": relation clinic.nowhere does not exist in the database`,
			`tables."clinic.patients".columns.nickname: column "nickname" does not exist in clinic.patients`,
			`roles.support.transforms.birth_date: role support, column clinic.patients.dob (date)`,
			`roles.missing.rows."clinic.notes": the row filter names column "deleted_at"`,
			`roles.typo.rows."clinic.notes": PostgreSQL cannot compile what role typo sees of clinic.notes`,
			`function lenght(text) does not exist`,
			`roles.types.rows."clinic.notes": PostgreSQL cannot compile what role types sees of clinic.notes`,
			`operator does not exist: text <> integer`,
			`warning: `, `column "first_name" of clinic.patients is not classified`,
			`roles.support.functions: function "public.no_such_function" does not exist in the database`,
			`roles.keyed.transforms.ssn: hash needs a master key, but [masking] configures none`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the report lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, "errors in "+file) {
			t.Errorf("stderr does not sum up: %q", errOut)
		}
	})

	t.Run("a role's upstream user without the privileges it needs", func(t *testing.T) {
		if err := cluster.Exec(context.Background(), "clinic", `CREATE ROLE pgmask_support LOGIN PASSWORD 'support-secret';
GRANT USAGE ON SCHEMA clinic TO pgmask_support; GRANT SELECT ON clinic.patients, clinic.encounters TO pgmask_support;`); err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(readFile(t, path), `# upstream_user = "pgmask_support"`, `upstream_user = "pgmask_support"
upstream_password = "support-secret"`, 1)
		// Switching roles needs one upstream user; these users switch to and from support.
		text = regexp.MustCompile(`(?m)^(break_glass|purposes) = .*$`).ReplaceAllString(text, "")
		code, out, _ := pgmask("", "check", "--config", writeFile(t, "upstream-user.toml", text))
		if code != 1 || !strings.Contains(out, `roles.support.upstream_user: the upstream user of role support cannot read clinic.notes: permission denied for table notes`) {
			t.Errorf("exit code %d:\n%s", code, out)
		}
		if strings.Contains(out, "cannot read clinic.patients") {
			t.Errorf("a granted table is reported:\n%s", out)
		}
	})

	t.Run("a file that does not load lists its errors and exits 1", func(t *testing.T) {
		file := writeFile(t, "invalid.toml", "[roles.support]\nprofile = \"minimal\"\n")
		code, out, _ := pgmask("", "check", "--config", file)
		if code != 1 || !strings.Contains(out, "error: "+file+":") {
			t.Errorf("exit code %d:\n%s", code, out)
		}
	})

	t.Run("an unreachable database exits 1", func(t *testing.T) {
		file := writeFile(t, "unreachable.toml", "[upstream]\naddress = \"127.0.0.1:1\"\ndatabase = \"clinic\"\nuser = \"x\"\nsslmode = \"disable\"\n")
		code, out, errOut := pgmask("", "check", "--config", file)
		if code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
			t.Errorf("exit code %d:\n%s%s", code, out, errOut)
		}
	})

	t.Run("--catalog-dsn overrides the upstream", func(t *testing.T) {
		file := writeFile(t, "elsewhere.toml", "[upstream]\naddress = \"127.0.0.1:1\"\ndatabase = \"clinic\"\nuser = \"x\"\n\n"+
			"[tables.\"clinic.claims\"]\ncolumns = { id = \"none\", patient_id = \"none\", account_number = \"account_number\", amount = \"none\", billed_on = \"event_date\" }\n\n"+
			"[roles.analyst]\nprofile = \"minimum_necessary\"\ntables = [\"clinic.claims\"]\n")
		code, out, errOut := pgmask("", "check", "--config", file, "--catalog-dsn", cluster.DSN("clinic"))
		if code != 0 || !strings.Contains(out, "0 errors") {
			t.Errorf("exit code %d:\n%s%s", code, out, errOut)
		}
	})
}
