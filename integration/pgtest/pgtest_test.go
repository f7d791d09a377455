package pgtest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// syncBuffer is a log writer the test can read while the follower writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func show(t *testing.T, conn *pgx.Conn, setting string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(context.Background(), "SHOW "+setting).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", setting, err)
	}
	return v
}

func TestClusterAcceptsThePasswordOverTCPWithSCRAMAndStopRemovesEverything(t *testing.T) {
	t.Parallel()
	log := &syncBuffer{}
	c := startCluster(t, Options{Log: log})

	if c.Host != "127.0.0.1" || c.User != "postgres" || c.Port == 0 || c.Password == "" {
		t.Fatalf("cluster fields: host %q user %q port %d password set %v", c.Host, c.User, c.Port, c.Password != "")
	}
	conn := connect(t, c.DSN("postgres"))
	if got := show(t, conn, "password_encryption"); got != "scram-sha-256" {
		t.Errorf("password_encryption = %q, want scram-sha-256", got)
	}
	var superuser bool
	if err := conn.QueryRow(context.Background(),
		"SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&superuser); err != nil || !superuser {
		t.Errorf("current user is superuser = %v (err %v)", superuser, err)
	}
	var stored string
	if err := conn.QueryRow(context.Background(),
		"SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "SCRAM-SHA-256$") {
		t.Errorf("superuser password stored as %.14q…, want a SCRAM verifier", stored)
	}
	conn.Close(context.Background())

	if !strings.Contains(log.String(), "database system is ready to accept connections") {
		t.Errorf("Options.Log lacks the server log; got:\n%s", log.String())
	}

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dir %s after Stop: %v, want it gone", c.Dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, c.DSN("postgres")); err == nil {
		conn.Close(ctx)
		t.Error("connected after Stop")
	}
}

func TestWrongPasswordIsRejected(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Options{})
	dsn := strings.Replace(c.DSN("postgres"), c.Password, c.Password+"x", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("error = %v, want SQLSTATE 28P01 (invalid_password)", err)
	}
}

func TestSettingsReachTheServer(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Options{Settings: map[string]string{
		"work_mem":         "7MB",
		"application_name": "it's quoted",
	}})
	conn := connect(t, c.DSN("postgres"))
	for setting, want := range map[string]string{
		"work_mem":           "7MB",
		"application_name":   "it's quoted",
		"fsync":              "off",
		"max_connections":    "200",
		"shared_buffers":     "128MB",
		"TimeZone":           "UTC",
		"listen_addresses":   "127.0.0.1",
		"server_encoding":    "UTF8",
		"lc_collate":         "C",
		"synchronous_commit": "off",
	} {
		if got := show(t, conn, setting); got != want {
			t.Errorf("SHOW %s = %q, want %q", setting, got, want)
		}
	}
	if got, want := show(t, conn, "unix_socket_directories"), filepath.Join(c.Dir, "socket"); got != want {
		t.Errorf("unix_socket_directories = %q, want %q", got, want)
	}
}

func TestReservedOrMalformedSettingsAreRefused(t *testing.T) {
	for _, name := range []string{"port", "Listen_Addresses", "unix_socket_directories", "work_mem = 1; x", ""} {
		_, err := Start(context.Background(), Options{Settings: map[string]string{name: "1"}})
		if err == nil {
			t.Errorf("setting %q: Start succeeded, want an error", name)
		}
	}
}

func TestCreateDatabaseAndExec(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Options{})
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, "Mixed Case"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "Mixed Case", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, c.DSN("Mixed Case"))
	var n int
	if err := conn.QueryRow(ctx, "SELECT sum(x) FROM t").Scan(&n); err != nil || n != 3 {
		t.Errorf("sum = %d, %v; want 3", n, err)
	}
	err := c.Exec(ctx, "Mixed Case", "SELECT * FROM missing")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Errorf("Exec of a bad statement = %v, want SQLSTATE 42P01 wrapped", err)
	}
}

// Not parallel: it sets TMPDIR.
func TestStartFailureQuotesTheServerLogAndLeavesNothingBehind(t *testing.T) {
	base, err := os.MkdirTemp("", "pgtest-failure-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", base)

	_, err = Start(context.Background(), Options{Settings: map[string]string{"shared_buffers": "lots"}})
	if err == nil {
		t.Fatal("Start with shared_buffers = lots succeeded")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), `invalid value for parameter "shared_buffers"`) {
		t.Errorf("error does not quote the server log:\n%v", err)
	}
	left, _ := os.ReadDir(base)
	if len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
}

// Not parallel: it replaces pickPort.
func TestStartRetriesWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	free := pickPort
	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return takenPort, nil
		}
		return free()
	}
	t.Cleanup(func() { pickPort = free })

	c := startCluster(t, Options{})
	if calls < 2 || c.Port == takenPort {
		t.Errorf("port pick calls = %d, port = %d (taken %d); want a retry on another port", calls, c.Port, takenPort)
	}
	connect(t, c.DSN("postgres"))
}

func TestMissingServerProgramsAreAnErrorNotASkip(t *testing.T) {
	t.Setenv(BinDirEnv, t.TempDir())
	if _, err := Start(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "initdb") {
		t.Errorf("Start with $%s empty = %v, want an error naming initdb", BinDirEnv, err)
	}
	os.Unsetenv(BinDirEnv)

	t.Setenv("PATH", t.TempDir())
	_, err := findBinDir(filepath.Join(t.TempDir(), "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "initdb") {
		t.Errorf("findBinDir with nothing installed = %v, want an error naming initdb", err)
	}
}

func TestBinDirFindsTheServerPrograms(t *testing.T) {
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			t.Errorf("%s: %v", tool, err)
		}
	}
}

func TestBinDirPrefersTheHighestVersion(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	root := t.TempDir()
	for _, v := range []string{"9.6", "13", "16", "notaversion"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, tool), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 17 lacks postgres: not usable.
	incomplete := filepath.Join(root, "17", "bin")
	if err := os.MkdirAll(incomplete, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if err := os.WriteFile(filepath.Join(incomplete, tool), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := findBinDir(filepath.Join(root, "*", "bin"))
	if want := filepath.Join(root, "16", "bin"); err != nil || got != want {
		t.Errorf("findBinDir = %q, %v; want %q", got, err, want)
	}
}

func BenchmarkStartStop(b *testing.B) {
	for b.Loop() {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}
