package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Helpers shared by the end-to-end tests of the proxy (proxy_*_test.go): direct
// connections for comparison, raw protocol clients, psql, and polling.

// connectDirect opens a pgx connection straight to the shared cluster's clinic database
// as the superuser, the reference every proxied result is compared with.
func connectDirect(t testing.TB, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	return connectDSN(t, clinicDSN(), opts...)
}

// connectDSN opens a pgx connection to dsn, configured by opts in order, and closes it
// when the test ends. It fails the test unless the connection is up within ten seconds.
func connectDSN(t testing.TB, dsn string, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect as %s to %s:%d: %v", cfg.User, cfg.Host, cfg.Port, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// execMode is a connection option that sets pgx's default query exec mode.
func execMode(mode pgx.QueryExecMode) func(*pgx.ConnConfig) {
	return func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode }
}

// appName is a connection option that sets application_name, which pgmask forwards
// upstream, so the session's backend can be found in pg_stat_activity.
func appName(name string) func(*pgx.ConnConfig) {
	return func(c *pgx.ConnConfig) { c.RuntimeParams["application_name"] = name }
}

// cancelOnContext makes a cancelled context send a CancelRequest (as psql's Ctrl-C
// does) instead of pgx's default of breaking the connection with a deadline.
func cancelOnContext(c *pgx.ConnConfig) {
	c.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
}

// execModes are all of pgx's query exec modes, by name.
var execModes = []struct {
	name string
	mode pgx.QueryExecMode
}{
	{"cache_statement", pgx.QueryExecModeCacheStatement},
	{"cache_describe", pgx.QueryExecModeCacheDescribe},
	{"describe_exec", pgx.QueryExecModeDescribeExec},
	{"exec", pgx.QueryExecModeExec},
	{"simple_protocol", pgx.QueryExecModeSimpleProtocol},
}

// uniqueName returns prefix followed by random hex, for application names and channels
// that must not collide with another test's.
func uniqueName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// sqlState returns the SQLSTATE of a PostgreSQL error, or "" if err is not one.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// pgError returns err as a *pgconn.PgError or fails the test.
func pgError(t testing.TB, err error) *pgconn.PgError {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("want a PostgreSQL error, got %v", err)
	}
	return pgErr
}

// eventually polls cond every 50 ms until it holds or timeout passes, and then fails
// the test with the message.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// backendPIDs lists the upstream backends whose application_name is name.
func backendPIDs(t testing.TB, direct *pgx.Conn, name string) []int32 {
	t.Helper()
	rows, err := direct.Query(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid", name)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// backendsLike counts the upstream backends whose application_name starts with prefix.
func backendsLike(t testing.TB, direct *pgx.Conn, prefix string) int {
	t.Helper()
	var n int
	err := direct.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_stat_activity WHERE starts_with(application_name, $1)", prefix).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitActive waits until the backend with application_name name runs a statement that
// contains fragment, so a test acts while the statement is in flight.
func waitActive(t testing.TB, direct *pgx.Conn, name, fragment string) {
	t.Helper()
	eventually(t, 5*time.Second, func() bool {
		var n int
		err := direct.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity
			 WHERE application_name = $1 AND state = 'active' AND strpos(query, $2) > 0`, name, fragment).Scan(&n)
		return err == nil && n > 0
	}, "no backend of %q runs %q", name, fragment)
}

// rawClient is a connection to pgmask that completed startup and authentication and
// then was taken over, so a test can send and read protocol messages one by one.
type rawClient struct {
	conn net.Conn
	fe   *pgproto3.Frontend
}

// rawConnect authenticates as user with pgconn and hijacks the connection.
func (p *testProxy) rawConnect(t testing.TB, user string, params map[string]string) *rawClient {
	t.Helper()
	return rawConnectDSN(t, p.dsn(user), params)
}

// rawConnectDSN authenticates to dsn with pgconn, with params as extra startup
// parameters, and hijacks the connection, which is closed when the test ends.
func rawConnectDSN(t testing.TB, dsn string, params map[string]string) *rawClient {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect as %s to %s:%d: %v", cfg.User, cfg.Host, cfg.Port, err)
	}
	h, err := pc.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Conn.Close() })
	return &rawClient{conn: h.Conn, fe: h.Frontend}
}

// send writes msgs and flushes them in one write.
func (c *rawClient) send(t testing.TB, msgs ...pgproto3.FrontendMessage) {
	t.Helper()
	for _, m := range msgs {
		c.fe.Send(m)
	}
	if err := c.fe.Flush(); err != nil {
		t.Fatalf("send %T: %v", msgs[0], err)
	}
}

// receive reads the next message, waiting at most five seconds.
func (c *rawClient) receive(t testing.TB) pgproto3.BackendMessage {
	t.Helper()
	m, err := c.tryReceive(5 * time.Second)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

func (c *rawClient) tryReceive(timeout time.Duration) (pgproto3.BackendMessage, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer c.conn.SetReadDeadline(time.Time{})
	return c.fe.Receive()
}

// untilReady reads messages up to and including ReadyForQuery and returns them, each
// copied (pgproto3 reuses message values).
func (c *rawClient) untilReady(t testing.TB) []pgproto3.BackendMessage {
	t.Helper()
	var msgs []pgproto3.BackendMessage
	for {
		m := c.receive(t)
		msgs = append(msgs, copyMessage(t, m))
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			return msgs
		}
	}
}

// copyMessage detaches a received message from the Frontend's buffers.
func copyMessage(t testing.TB, m pgproto3.BackendMessage) pgproto3.BackendMessage {
	t.Helper()
	switch m := m.(type) {
	case *pgproto3.ErrorResponse:
		c := *m
		return &c
	case *pgproto3.ReadyForQuery:
		c := *m
		return &c
	case *pgproto3.CommandComplete:
		return &pgproto3.CommandComplete{CommandTag: bytes.Clone(m.CommandTag)}
	case *pgproto3.FunctionCallResponse:
		return &pgproto3.FunctionCallResponse{Result: bytes.Clone(m.Result)}
	case *pgproto3.DataRow:
		vals := make([][]byte, len(m.Values))
		for i, v := range m.Values {
			vals[i] = bytes.Clone(v)
		}
		return &pgproto3.DataRow{Values: vals}
	}
	return m
}

// expectClosed reads until the server closes the connection and returns the
// ErrorResponses it sent on the way, failing if that takes longer than timeout.
func (c *rawClient) expectClosed(t testing.TB, timeout time.Duration) []*pgproto3.ErrorResponse {
	t.Helper()
	return readUntilClosed(t, c.conn, c.fe, timeout)
}

// readUntilClosed decodes backend messages from conn with fe (nil for a new Frontend)
// until EOF (or a reset) and returns the ErrorResponses among them. It fails the test
// if conn stays open for timeout.
func readUntilClosed(t testing.TB, conn net.Conn, fe *pgproto3.Frontend, timeout time.Duration) []*pgproto3.ErrorResponse {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(timeout))
	if fe == nil {
		fe = pgproto3.NewFrontend(conn, io.Discard)
	}
	var errs []*pgproto3.ErrorResponse
	for {
		m, err := fe.Receive()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v", timeout)
			}
			return errs
		}
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			c := *e
			errs = append(errs, &c)
		}
	}
}

// fatalCodes lists the SQLSTATEs of FATAL errors among errs.
func fatalCodes(errs []*pgproto3.ErrorResponse) []string {
	var codes []string
	for _, e := range errs {
		if e.Severity == "FATAL" {
			codes = append(codes, e.Code)
		}
	}
	return codes
}

// directConnString is a libpq keyword/value string for the shared cluster's clinic
// database as the superuser, for psql.
func directConnString() string {
	return fmt.Sprintf("host=%s port=%d dbname=clinic user=%s password=%s sslmode=disable",
		cluster.Host, cluster.Port, cluster.User, cluster.Password)
}

// psqlResult is what one psql run printed.
type psqlResult struct {
	stdout, stderr string
	err            error // from exec; psql exits 1 on a failed -c command
}

// runPsql runs psql without any psqlrc against connString with args, stdin as its
// standard input, and a 30-second limit.
func runPsql(t testing.TB, connString, stdin string, args ...string) psqlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := psqlCommand(ctx, connString, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return psqlResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// psqlCommand prepares psql with a clean environment: no psqlrc, no pager, C locale.
func psqlCommand(ctx context.Context, connString string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "psql", append([]string{"-X", "-P", "pager=off", "-d", connString}, args...)...)
	env := []string{"LC_ALL=C", "PGCONNECT_TIMEOUT=10", "PGAPPNAME=pgmask-test-psql"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// sendCancelRequest sends pgmask a CancelRequest for the given process id and secret
// and waits until pgmask has handled it and closed the connection.
func sendCancelRequest(t testing.TB, p *testProxy, pid, secret uint32) {
	t.Helper()
	conn := p.dial(t)
	buf, err := (&pgproto3.CancelRequest{ProcessID: pid, SecretKey: binary.BigEndian.AppendUint32(nil, secret)}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	if errs := readUntilClosed(t, conn, nil, 5*time.Second); len(errs) != 0 {
		t.Errorf("pgmask answered a CancelRequest with %v; PostgreSQL answers nothing", errs)
	}
}

// rawDirect connects straight to the shared cluster as the superuser and hijacks the
// connection, the reference for message-level comparisons.
func rawDirect(t testing.TB) *rawClient {
	t.Helper()
	return rawConnectDSN(t, clinicDSN(), nil)
}

// messageShape describes backend messages by type, with the SQLSTATE of errors and the
// status of ReadyForQuery: "E:42501 Z:I".
func messageShape(msgs []pgproto3.BackendMessage) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			parts[i] = "E:" + m.Code
		case *pgproto3.ReadyForQuery:
			parts[i] = "Z:" + string(m.TxStatus)
		default:
			parts[i] = strings.TrimPrefix(fmt.Sprintf("%T", m), "*pgproto3.")
		}
	}
	return strings.Join(parts, " ")
}

// untilReadyN reads messages up to and including the n-th ReadyForQuery.
func (c *rawClient) untilReadyN(t testing.TB, n int) []pgproto3.BackendMessage {
	t.Helper()
	var msgs []pgproto3.BackendMessage
	for range n {
		msgs = append(msgs, c.untilReady(t)...)
	}
	return msgs
}

// asPgError returns err as a *pgconn.PgError, or nil if it is not one.
func asPgError(err error) *pgconn.PgError {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	return nil
}
