package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/integration/pgtest"
	"github.com/pgmask/pgmask/proxy/scram"
)

// serveConfig is a pgmask.toml for `pgmask serve` in front of cluster, where the
// support role is granted the tables listed, with its audit log in dir and its metrics
// on metricsPort.
func serveConfig(t *testing.T, cluster *pgtest.Cluster, port, metricsPort int, verifier string, tables string, dir string) string {
	return fmt.Sprintf(`[server]
listen = "127.0.0.1:%d"
metrics_listen = "127.0.0.1:%d"
shutdown_timeout = "2s"

[upstream]
address = "%s:%d"
database = "clinic"
user = "%s"
password = "%s"
sslmode = "disable"

[tables."clinic.patients"]
subject_key = "id"
columns = { id = "none", ssn = "ssn", state = "state" }

[roles.support]
profile = "minimum_necessary"
tables = [%s]
transforms = { ssn = "last4" }

[users.sam]
password = "%s"
role = "support"

[audit]
path = "%s/audit.jsonl"
key_file = "%s/audit.key"
`, port, metricsPort, cluster.Host, cluster.Port, cluster.User, cluster.Password, tables, verifier, dir, dir)
}

func TestServeReloadsOnSIGHUPAndKeepsThePolicyWhenTheFileIsInvalid(t *testing.T) {
	ctx := context.Background()
	cluster := clinicCluster(t)

	password := rand.Text()
	salt := make([]byte, 16)
	rand.Read(salt)
	v, err := scram.NewVerifier(password, salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	port, metricsPort := freePort(t), freePort(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "pgmask.toml")
	write := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.key"), []byte(rand.Text()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(serveConfig(t, cluster, port, metricsPort, v.String(), `"clinic.patients"`, dir))

	bin := buildPgmask(t)
	var log lockedBuffer
	cmd := exec.Command(bin, "serve", "--config", path)
	cmd.Stderr = &log
	cmd.Stdout = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=clinic user=sam password=%s sslmode=disable", port, password)
	query := func() (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return "", err
		}
		defer c.Close(ctx)
		var ssn string
		err = c.QueryRow(ctx, "SELECT ssn FROM clinic.patients ORDER BY id LIMIT 1").Scan(&ssn)
		return ssn, err
	}
	waitFor(t, "pgmask serve answers", func() bool { _, err := query(); return err == nil }, log.String)
	if ssn, _ := query(); !strings.HasPrefix(ssn, "XXX-XX-") {
		t.Fatalf("ssn = %q, want it masked", ssn)
	}
	// The metrics listener runs beside it.
	metrics := fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	if code, body := httpGet(t, metrics+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if _, body := httpGet(t, metrics+"/metrics"); !strings.Contains(body, `pgmask_statements_total{decision="rewritten",role="support"} `) {
		t.Errorf("/metrics does not count the statements of sam:\n%s", body)
	}

	// Revoke the table and reload: new statements are refused.
	write(serveConfig(t, cluster, port, metricsPort, v.String(), "", dir))
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload revokes the table", func() bool {
		_, err := query()
		return err != nil && strings.Contains(err.Error(), "42501")
	}, log.String)

	// An invalid file keeps the running policy and the log says exactly why.
	write(serveConfig(t, cluster, port, metricsPort, v.String(), `"clinic.nosuch"`, dir))
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the failed reload is logged", func() bool {
		return strings.Contains(log.String(), "reload failed") && strings.Contains(log.String(), `clinic.nosuch`)
	}, log.String)
	if _, err := query(); err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("after an invalid reload the previous policy (table revoked) should still apply, got %v", err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("pgmask serve exited with %v after SIGTERM\n%s", err, log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("pgmask serve did not stop within 15s of SIGTERM\n%s", log.String())
	}

	// The audit log verifies, and it recorded both reloads, the refused one with why.
	out, err := exec.Command(bin, "audit", "verify", "--key-file", filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.jsonl")).CombinedOutput()
	if err != nil {
		t.Fatalf("pgmask audit verify: %v\n%s", err, out)
	}
	records, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var reloads []string
	for _, line := range strings.Split(string(records), "\n") {
		if strings.Contains(line, `"kind":"reload"`) {
			reloads = append(reloads, line)
		}
	}
	if len(reloads) != 2 || !strings.Contains(reloads[0], `"decision":"allowed"`) ||
		!strings.Contains(reloads[1], `"decision":"denied"`) || !strings.Contains(reloads[1], "clinic.nosuch") {
		t.Errorf("want an applied and a refused reload in the audit log, got:\n%s", strings.Join(reloads, "\n"))
	}
}

func TestServeRefusesToStartWithoutItsAuditKey(t *testing.T) {
	path := writeFile(t, "pgmask.toml", `[upstream]
database = "clinic"
user = "pgmask"

[audit]
path = "audit.jsonl"
key_env = "PGMASK_TEST_UNSET_AUDIT_KEY"
`)
	dir := filepath.Dir(path)
	cmd := exec.Command(buildPgmask(t), "serve", "--config", path)
	cmd.Env = append(os.Environ(), "PGMASK_TEST_UNSET_AUDIT_KEY=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("pgmask serve started without an audit key:\n%s", out)
	}
	if !strings.Contains(string(out), "audit") || !strings.Contains(string(out), "PGMASK_TEST_UNSET_AUDIT_KEY") {
		t.Errorf("the error does not say the audit key is missing:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.jsonl")); err == nil {
		t.Errorf("an audit file was started although the key is missing")
	}
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool, log func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s\n%s", what, log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpGet returns the status and body of a GET of url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
