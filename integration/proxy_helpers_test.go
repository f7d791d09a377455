package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy"
	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/proxy/scram"
)

// Test users of every proxy started by startProxy, with their roles and passwords.
var testUsers = map[string]string{
	"dana":  "clinician", // profile full
	"sam":   "support",   // profile minimum_necessary
	"eve":   "clinician", // expired (see baseConfig)
	"frank": "support",
}

var (
	verifiersOnce sync.Once
	verifiers     map[string]string
)

// password is the login password of a test user.
func password(user string) string { return user + "-test-password" }

func testVerifiers() map[string]string {
	verifiersOnce.Do(func() {
		verifiers = map[string]string{}
		for user := range testUsers {
			verifiers[user] = scramVerifier(password(user))
		}
	})
	return verifiers
}

// scramVerifier returns a SCRAM-SHA-256 verifier of password with a random salt, as
// `pgmask passwd` prints it.
func scramVerifier(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	v, err := scram.NewVerifier(password, salt, 4096)
	if err != nil {
		panic(err) // only for arguments out of range, and these are fixed
	}
	return v.String()
}

// baseConfig is a pgmask configuration in front of the shared cluster's clinic database.
func baseConfig() *config.Config {
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := &config.Config{
		Server: config.Server{Listen: "127.0.0.1:0"},
		Upstream: config.Upstream{
			Address:  net.JoinHostPort(cluster.Host, strconv.Itoa(cluster.Port)),
			Database: "clinic",
			User:     cluster.User,
			Password: cluster.Password,
			SSLMode:  "disable",
		},
		Tables: map[string]config.Table{},
		Roles: map[string]config.Role{
			"clinician": {Profile: "full"},
			"support":   {Profile: "minimum_necessary"},
		},
		Users: map[string]config.User{},
	}
	for user, role := range testUsers {
		u := config.User{Password: testVerifiers()[user], Role: role}
		if user == "eve" {
			u.Expires = &past
		}
		cfg.Users[user] = u
	}
	return cfg
}

// testProxy is a pgmask server running inside the test process.
type testProxy struct {
	srv  *proxy.Server
	addr *net.TCPAddr
	cfg  *config.Config
	// audit is the file audit log pgmask writes, when the test made it with
	// newTestAuditLog: startProxy does unless the test configured [audit] itself.
	audit *testAuditLog
	// stop shuts the server down (once; the test's cleanup calls it too).
	stop func()
}

// startProxy starts pgmask with baseConfig, changed by edit if not nil, and stops it
// when the test ends. Unless edit configures [audit] itself, pgmask keeps its audit log
// in a file of the test's temporary directory, and the test fails if that log does not
// verify once pgmask has stopped: every proxy test also exercises the audit log.
func startProxy(t testing.TB, edit func(*config.Config)) *testProxy {
	t.Helper()
	return startProxyWith(t, proxy.Options{}, edit)
}

// startProxyWith is startProxy with more of pgmask's options (a clock, say); their
// Config and Logger are startProxy's.
func startProxyWith(t testing.TB, opts proxy.Options, edit func(*config.Config)) *testProxy {
	t.Helper()
	cfg := baseConfig()
	if edit != nil {
		edit(cfg)
	}
	var log *testAuditLog
	if cfg.Audit == (config.Audit{}) {
		log = newTestAuditLog(t)
		cfg.Audit = log.config()
	}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	opts.Config, opts.Logger = cfg, testLogger(t)
	p := serveProxy(t, opts, func() {
		if log != nil {
			log.verify(t)
		}
	})
	p.audit = log
	return p
}

// serveProxy runs a pgmask server made from opts until the test ends, then stops it
// and calls afterStop, if not nil.
func serveProxy(t testing.TB, opts proxy.Options, afterStop func()) *testProxy {
	t.Helper()
	srv, err := proxy.NewServer(opts)
	if err != nil {
		t.Fatalf("proxy.NewServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var once sync.Once
	p := &testProxy{srv: srv, addr: ln.Addr().(*net.TCPAddr), cfg: opts.Config}
	p.stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			<-done
			if afterStop != nil {
				afterStop()
			}
		})
	}
	t.Cleanup(p.stop)
	return p
}

// testAuditLog is a file audit sink in a test's temporary directory, with its key.
type testAuditLog struct {
	dir string
	key []byte
}

func newTestAuditLog(t testing.TB) *testAuditLog {
	t.Helper()
	l := &testAuditLog{dir: t.TempDir(), key: []byte(rand.Text())}
	if err := os.WriteFile(l.keyFile(), l.key, 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *testAuditLog) keyFile() string { return filepath.Join(l.dir, "audit.key") }
func (l *testAuditLog) path() string    { return filepath.Join(l.dir, "audit.jsonl") }

// config is the [audit] section of a file sink that writes promptly.
func (l *testAuditLog) config() config.Audit {
	return config.Audit{
		Sink:          config.AuditSinkFile,
		Path:          l.path(),
		KeyFile:       l.keyFile(),
		FlushInterval: config.Duration{Duration: 5 * time.Millisecond},
	}
}

// files are the audit files written so far, rotated ones included.
func (l *testAuditLog) files(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(l.dir, "audit*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// verify checks the chain as `pgmask audit verify` does, and that pgmask ended it with
// a clean stop.
func (l *testAuditLog) verify(t testing.TB) audit.Summary {
	t.Helper()
	sum, err := audit.VerifyFiles(l.key, l.files(t), audit.VerifyOptions{})
	if err != nil {
		t.Errorf("the audit log does not verify: %v", err)
	} else if !sum.Genesis || !sum.Stopped {
		t.Errorf("the audit log does not run from its first record to a clean stop:\n%s", sum)
	}
	return sum
}

// decodeRecords parses every record of the audit files written so far as a T (an
// audit.Record, or a map to see the fields as written), file by file.
func decodeRecords[T any](t testing.TB, l *testAuditLog) []T {
	t.Helper()
	var out []T
	for _, f := range l.files(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, r)
		}
	}
	return out
}

// dsn is a libpq connection string to the proxy for user.
func (p *testProxy) dsn(user string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d dbname=clinic user=%s password=%s sslmode=disable",
		p.addr.Port, user, password(user))
}

// connect opens a pgx connection to the proxy as user and closes it when the test ends.
func (p *testProxy) connect(t testing.TB, user string, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	return connectDSN(t, p.dsn(user), opts...)
}

// dial opens a plain TCP connection to the proxy, for a test that speaks the protocol
// byte by byte, and closes it when the test ends.
func (p *testProxy) dial(t testing.TB) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", p.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
