package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildPgmask compiles the pgmask binary into a temporary directory.
func buildPgmask(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pgmask")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// psqlAs runs the printed psql command line through the shell with extra arguments and
// returns its trimmed output.
func psqlAs(t *testing.T, command string, args string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command+" "+args)
	cmd.Env = append(os.Environ(), "PSQLRC=/dev/null", "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", command, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestTheDemoServesThePrintedPsqlCommandAndCleansUpOnCtrlC(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatal("psql is not on PATH; the demo test needs it")
	}
	bin := buildPgmask(t)
	port := freePort(t)

	cmd := exec.Command(bin, "demo", "--patients", "300", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	gone := make(chan struct{}) // closed when the demo process has been waited for
	var printed lockedBuffer
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			printed.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		close(lines)
		exited <- cmd.Wait()
		close(gone)
	}()
	t.Cleanup(func() {
		// Never leave the demo (and its cluster) running when the test fails early.
		select {
		case <-gone:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-gone:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-gone
		}
	})

	// Wait for the psql commands printed for every demo user (erin is the last).
	commands := map[string]string{}
	timeout := time.After(2 * time.Minute)
	for commands["erin"] == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo exited before printing erin's psql command:\n%s\n%s", printed.String(), stderr.String())
			}
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "psql ") {
				for _, f := range strings.Fields(l) {
					if user, ok := strings.CutPrefix(f, "user="); ok {
						commands[user] = l
					}
				}
			}
		case <-timeout:
			t.Fatalf("no psql command for erin after 2 minutes:\n%s\n%s", printed.String(), stderr.String())
		}
	}
	command := commands["dave"]
	if !strings.Contains(command, fmt.Sprintf("port=%d", port)) {
		t.Errorf("the printed command %q does not use the --listen port %d", command, port)
	}

	if got := psqlAs(t, command, `-X -A -t -c "SELECT count(*) FROM clinic.patients"`); got != "300" {
		t.Fatalf("the printed psql command counted %q patients, want 300", got)
	}
	// carol's Safe Harbor data set: no SSN at all, birth dates reduced to their year
	// (none for people 90 or older), ZIP codes to three digits.
	if got := psqlAs(t, commands["carol"], `-X -A -t -c "SELECT count(*) FROM clinic.patients WHERE extract(doy FROM dob) <> 1 OR length(zip) <> 3"`); got != "0" {
		t.Errorf("carol (safe_harbor) sees %s patients with a full birth date or ZIP code", got)
	}
	if got := psqlAs(t, commands["carol"], `-X -A -t -c "SELECT column_name FROM information_schema.columns WHERE table_name = 'patients' AND column_name IN ('ssn', 'first_name', 'street', 'phone')"`); got != "" {
		t.Errorf("carol (safe_harbor) sees identifier columns: %q", got)
	}
	// erin's limited data set keeps full ZIP codes and birth dates, not names or SSNs.
	if got := psqlAs(t, commands["erin"], `-X -A -t -c "SELECT count(*) FROM clinic.patients WHERE length(zip) = 5 AND extract(doy FROM dob) <> 1"`); got == "0" || got == "" {
		t.Errorf("erin (limited_data_set) sees no full ZIP code or birth date: %q", got)
	}
	if got := psqlAs(t, commands["erin"], `-X -A -t -c "SELECT column_name FROM information_schema.columns WHERE table_name = 'patients' AND column_name IN ('ssn', 'first_name', 'street', 'phone', 'mrn')"`); got != "" {
		t.Errorf("erin (limited_data_set) sees direct identifiers: %q", got)
	}

	// Where the throwaway cluster lives, to check it is gone afterwards.
	dataDir := psqlAs(t, command, `-X -A -t -c "SHOW data_directory"`)
	if !filepath.IsAbs(dataDir) {
		t.Fatalf("SHOW data_directory = %q", dataDir)
	}
	upstreamPort := psqlAs(t, command, `-X -A -t -c "SELECT inet_server_port()"`)
	if _, err := os.Stat(dataDir); err != nil {
		t.Fatalf("data directory %s: %v", dataDir, err)
	}

	// The printed audit verify command checks the demo's audit log, which holds dave's
	// statements without their literals.
	psqlAs(t, command, `-X -A -t -c "SELECT count(*) FROM clinic.patients WHERE ssn = 'CANARY-DEMO-61f0'"`)
	var verify []string
	for _, line := range strings.Split(printed.String(), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "pgmask audit verify ") {
			verify = strings.Fields(l)
		}
	}
	if len(verify) != 6 {
		t.Fatalf("no pgmask audit verify command printed:\n%s", printed.String())
	}
	auditFile := verify[5]
	waitFor(t, "the demo's statements reach its audit log", func() bool {
		data, _ := os.ReadFile(auditFile)
		return strings.Contains(string(data), `WHERE ssn = ?`)
	}, printed.String)
	if out, err := exec.Command(bin, verify[1:]...).CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "OK: ") {
		t.Errorf("%s: %v\n%s", strings.Join(verify, " "), err, out)
	}
	if data, _ := os.ReadFile(auditFile); strings.Contains(string(data), "CANARY-DEMO-61f0") {
		t.Errorf("the demo's audit log holds a literal:\n%s", data)
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the demo exited with %v after SIGINT, want status 0\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the demo still runs 15 s after SIGINT")
	}
	t.Logf("the demo stopped %v after SIGINT", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(printed.String(), "removing the demo cluster") {
		t.Errorf("the demo did not say it removes its cluster:\n%s", printed.String())
	}

	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo cluster's data directory %s still exists (%v)", dataDir, err)
	}
	if _, err := os.Stat(filepath.Dir(auditFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's audit directory %s still exists (%v)", filepath.Dir(auditFile), err)
	}
	if pids := processesMentioning(dataDir); len(pids) > 0 {
		t.Errorf("processes %v still run on the demo cluster's data directory", pids)
	}
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+upstreamPort, time.Second); err == nil {
		conn.Close()
		t.Errorf("something still listens on the demo cluster's port %s", upstreamPort)
	}
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		conn.Close()
		t.Errorf("something still listens on pgmask's port %d", port)
	}
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
