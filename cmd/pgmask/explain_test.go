package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/examples"
	"github.com/pgmask/pgmask/integration/clinic"
	"github.com/pgmask/pgmask/integration/pgtest"
	"github.com/pgmask/pgmask/rewriter"
	"github.com/pgmask/pgmask/rewriter/transform"
)

// clinicCluster starts a throwaway PostgreSQL with a small clinic data set, removed
// when the test ends.
func clinicCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop() })
	if err := cluster.CreateDatabase(ctx, "clinic"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cluster.DSN("clinic"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := clinic.Load(ctx, conn, clinic.Options{Patients: 100}); err != nil {
		t.Fatal(err)
	}
	return cluster
}

// exampleFile writes examples/pgmask.toml with its [upstream] pointed at cluster (the
// password comes from PGMASK_UPSTREAM_PASSWORD, as the example says) and returns its
// path.
func exampleFile(t *testing.T, cluster *pgtest.Cluster) string {
	t.Helper()
	text := string(examples.Config)
	for old, new := range map[string]string{
		`address = "127.0.0.1:5432"`: fmt.Sprintf(`address = "%s:%d"`, cluster.Host, cluster.Port),
		`user = "pgmask"`:            fmt.Sprintf(`user = "%s"`, cluster.User),
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("examples/pgmask.toml no longer has %s", old)
		}
		text = strings.Replace(text, old, new, 1)
	}
	t.Setenv("PGMASK_UPSTREAM_PASSWORD", cluster.Password)
	return writeFile(t, "pgmask.toml", text)
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExplainShowsTheRewriteOrTheRefusalAgainstTheLiveSchema(t *testing.T) {
	cluster := clinicCluster(t)
	path := exampleFile(t, cluster)

	t.Run("a rewritten statement, with how each column reaches the role", func(t *testing.T) {
		code, out, errOut := pgmask("", "explain", "--config", path, "--role", "support",
			"SELECT p.first_name, p.ssn, p.dob FROM clinic.patients p WHERE p.id = 42")
		if code != 0 {
			t.Fatalf("exit code %d, want 0\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"role support (profile minimum_necessary)", "rewritten to:",
			"FROM ONLY clinic.patients) p WHERE p.id = 42", "clinic.patients", "ssn", "masked:last4", "street", "excluded", "first_name", "raw"} {
			if !strings.Contains(out, want) {
				t.Errorf("the explanation lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("a row filter", func(t *testing.T) {
		code, out, _ := pgmask("", "explain", "--config", path, "--role", "support", "SELECT body FROM clinic.notes")
		if code != 0 || !strings.Contains(out, "filtered: only rows where note_type <> 'psychotherapy'") {
			t.Errorf("exit code %d:\n%s", code, out)
		}
	})
	t.Run("a refusal exits 1 and shows SQLSTATE, message and hint", func(t *testing.T) {
		code, out, errOut := pgmask("", "explain", "--config", path, "--role", "analyst", "SELECT * FROM clinic.notes")
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		for _, want := range []string{`refused: relation "clinic.notes" is not available to role analyst (SQLSTATE 42501)`, "hint: "} {
			if !strings.Contains(out, want) {
				t.Errorf("the explanation lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, "refused") {
			t.Errorf("stderr does not say the statement is refused: %q", errOut)
		}
	})
	t.Run("a syntax error is PostgreSQL's", func(t *testing.T) {
		code, out, _ := pgmask("", "explain", "--config", path, "--role", "support", "SELEC 1")
		if code != 1 || !strings.Contains(out, "SQLSTATE 42601") {
			t.Errorf("exit code %d:\n%s", code, out)
		}
	})
	t.Run("a full role's statement is forwarded unchanged", func(t *testing.T) {
		code, out, _ := pgmask("", "explain", "--config", path, "--role", "clinician", "SELECT ssn FROM clinic.patients")
		if code != 0 || !strings.Contains(out, "forwarded unchanged") || !strings.Contains(out, "SELECT ssn FROM clinic.patients") {
			t.Errorf("exit code %d:\n%s", code, out)
		}
	})
	t.Run("the statement from stdin, flags after it", func(t *testing.T) {
		code, out, errOut := pgmask("SELECT count(*) FROM clinic.claims", "explain", "-", "--role", "analyst", "--config", path)
		if code != 0 || !strings.Contains(out, "bucket") {
			t.Errorf("exit code %d:\n%s%s", code, out, errOut)
		}
	})
	t.Run("--catalog-dsn overrides the upstream", func(t *testing.T) {
		broken := strings.Replace(string(examples.Config), `address = "127.0.0.1:5432"`, `address = "127.0.0.1:1"`, 1)
		bad := writeFile(t, "unreachable.toml", broken)
		code, out, errOut := pgmask("", "explain", "--config", bad, "--role", "support", "SELECT ssn FROM clinic.patients")
		if code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
			t.Errorf("an unreachable upstream: exit code %d:\n%s%s", code, out, errOut)
		}
		code, out, errOut = pgmask("", "explain", "--config", bad, "--role", "support", "--catalog-dsn", cluster.DSN("clinic"), "SELECT ssn FROM clinic.patients")
		if code != 0 || !strings.Contains(out, "masked:last4") {
			t.Errorf("with --catalog-dsn: exit code %d:\n%s%s", code, out, errOut)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"explain", "--config", path, "--role", "support"},
			{"explain", "--config", path, "--role", "support", "SELECT 1", "SELECT 2"},
			{"explain", "--config", path, "SELECT 1"},
		} {
			if code, _, errOut := pgmask("", args...); code != 2 || !strings.Contains(errOut, "Usage: pgmask explain") {
				t.Errorf("%v: exit code %d, want 2 with the usage:\n%s", args, code, errOut)
			}
		}
		code, _, errOut := pgmask("", "explain", "--config", path, "--role", "nobody", "SELECT 1")
		if code != 1 || !strings.Contains(errOut, `role "nobody" is not defined`) || !strings.Contains(errOut, "support") {
			t.Errorf("an unknown role: exit code %d:\n%s", code, errOut)
		}
	})
	t.Run("keyed transforms never show the real key", func(t *testing.T) {
		const master = "7365637265742d6d61737465722d6b65792d6f662d7468652d706f6c69637921"
		t.Setenv(rewriter.KeyEnv, master)
		cfg := strings.Replace(string(examples.Config), `[roles.researcher]`, `[roles.hasher]
profile = "minimum_necessary"
tables = ["clinic.patients"]
transforms = { ssn = "hash", birth_date = "date_shift(30)" }

[roles.researcher]`, 1)
		keyed := writeFile(t, "keyed.toml", strings.Replace(cfg, `address = "127.0.0.1:5432"`,
			fmt.Sprintf(`address = "%s:%d"`, cluster.Host, cluster.Port), 1))
		code, out, errOut := pgmask("", "explain", "--config", keyed, "--role", "hasher", "--catalog-dsn", cluster.DSN("clinic"), "SELECT ssn, dob FROM clinic.patients")
		if code != 0 || !strings.Contains(out, "masked:hash") {
			t.Fatalf("exit code %d:\n%s%s", code, out, errOut)
		}
		key, _ := hex.DecodeString(master)
		for _, k := range [][]byte{transform.DeriveKey(key, "hasher", "clinic.patients", "ssn"), transform.DeriveSubjectKey(key, "hasher")} {
			for _, pad := range []byte{0x36, 0x5c} {
				padded := make([]byte, 64)
				copy(padded, k)
				for i := range padded {
					padded[i] ^= pad
				}
				if strings.Contains(out, hex.EncodeToString(padded)) {
					t.Errorf("pgmask explain printed a key derived from the real master key:\n%s", out)
				}
			}
		}
	})
}

func TestExplainAndCheckHaveHelp(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
	}{
		{"explain", []string{"-config", "-role", "-catalog-dsn", "exit status"}},
		{"check", []string{"-config", "-catalog-dsn", "exit status"}},
	} {
		code, out, errOut := pgmask("", c.name, "--help")
		if code != 0 {
			t.Errorf("pgmask %s --help: exit code %d", c.name, code)
		}
		for _, f := range append([]string{"Usage: pgmask " + c.name}, c.flags...) {
			if !strings.Contains(out+errOut, f) {
				t.Errorf("pgmask %s --help does not mention %s:\n%s", c.name, f, out+errOut)
			}
		}
	}
}
