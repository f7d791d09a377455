package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// initdb creates the data directory with the superuser's password, trust
// over the socket and SCRAM over TCP.
func (c *Cluster) initdb(ctx context.Context) error {
	if err := os.Mkdir(c.SocketDir(), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := c.owner.chown(c.SocketDir()); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	pwfile := filepath.Join(c.Dir, "pwfile")
	if err := c.writeFile(pwfile, c.Password+"\n", 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	return c.run(ctx, "initdb",
		"-D", c.dataDir(),
		"-U", superuser,
		"--pwfile="+pwfile,
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"-E", "UTF8",
		"--locale=C",
		"--no-sync",
	)
}

// confFile is pgtest's own settings file, included from postgresql.conf and
// rewritten on every start attempt with that attempt's port.
const confFile = "pgtest.conf"

func (c *Cluster) includeConf() error {
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Added by pgtest.\ninclude '%s'\n", confFile)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// writeConf writes pgtest.conf: pgtest's settings, then the caller's.
func (c *Cluster) writeConf(port int, settings map[string]string) error {
	var b strings.Builder
	line := func(name, value string) {
		fmt.Fprintf(&b, "%s = '%s'\n", name, strings.ReplaceAll(value, "'", "''"))
	}
	line("listen_addresses", c.Host)
	line("port", strconv.Itoa(port))
	line("unix_socket_directories", c.SocketDir())
	line("password_encryption", "scram-sha-256")
	line("fsync", "off")
	line("synchronous_commit", "off")
	line("full_page_writes", "off")
	line("max_connections", "200")
	line("shared_buffers", "128MB")
	line("timezone", "UTC")
	line("log_timezone", "UTC")
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		line(name, settings[name])
	}
	return c.writeFile(filepath.Join(c.dataDir(), confFile), b.String(), 0o600)
}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// reservedSettings are chosen by pgtest; letting a caller change them would
// make Cluster's fields lie.
var reservedSettings = []string{"listen_addresses", "port", "unix_socket_directories"}

func checkSettings(settings map[string]string) error {
	for name := range settings {
		if !settingName.MatchString(name) {
			return fmt.Errorf("pgtest: invalid setting name %q", name)
		}
		if slices.Contains(reservedSettings, strings.ToLower(name)) {
			return fmt.Errorf("pgtest: setting %q is managed by pgtest", name)
		}
	}
	return nil
}

// startAttempts bounds retries when another process takes the chosen port
// between pickPort and the server's bind.
const startAttempts = 5

// pickPort returns a TCP port of 127.0.0.1 that was free a moment ago.
// A variable so tests can simulate a collision.
var pickPort = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) start(ctx context.Context, settings map[string]string) error {
	var err error
	for range startAttempts {
		port, perr := pickPort()
		if perr != nil {
			return perr
		}
		c.Port = port
		if err := c.writeConf(port, settings); err != nil {
			return err
		}
		before := fileSize(c.logFile())
		err = c.pgctl(ctx, "-l", c.logFile(), "-w", "-t", "60", "start")
		if err == nil {
			return nil
		}
		serverLog := readFrom(c.logFile(), before)
		if !portTaken(serverLog) || ctx.Err() != nil {
			return fmt.Errorf("%w\nserver log:\n%s", err, tail(serverLog))
		}
	}
	return fmt.Errorf("pgtest: every port tried was taken (%d attempts): %w", startAttempts, err)
}

// portTaken recognizes the postmaster's bind failure (messages are in
// English: the cluster's lc_messages is C).
func portTaken(serverLog []byte) bool {
	return bytes.Contains(serverLog, []byte("could not bind")) &&
		bytes.Contains(serverLog, []byte("Address already in use"))
}

// waitReady returns once the superuser can log in over TCP with the
// password, which pg_ctl -w (it probes the socket) does not prove.
func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(attempt, c.DSN("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("pgtest: server started but does not accept connections: %w\nserver log:\n%s",
				err, fileTail(c.logFile()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	return c.run(ctx, "pg_ctl", append([]string{"-D", c.dataDir()}, args...)...)
}

// run runs one of the server programs as the cluster's owner, in Dir.
// Its output goes to Options.Log, and its tail into the error.
func (c *Cluster) run(ctx context.Context, tool string, args ...string) error {
	var out bytes.Buffer
	var w io.Writer = &out
	if c.log != nil {
		w = io.MultiWriter(&out, c.log)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, tool), args...)
	cmd.Dir = c.Dir
	cmd.Env = toolEnv()
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = c.owner.sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := fmt.Sprintf("pgtest: %s %s", tool, strings.Join(args, " "))
		if out.Len() > 0 {
			return fmt.Errorf("%s: %w\n%s", msg, err, tail(out.Bytes()))
		}
		return fmt.Errorf("%s: %w", msg, err)
	}
	return nil
}

// toolEnv is the environment of the server programs: the caller's without
// libpq variables (PGDATA, PGPORT, … would redirect pg_ctl) and with the C
// locale, so messages are in English and nothing depends on the machine.
func toolEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PG") || strings.HasPrefix(name, "LC_") || name == "LANG" || name == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// writeFile writes a file the cluster's owner can read.
func (c *Cluster) writeFile(path, content string, perm os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := c.owner.chown(path); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}
