package integration

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgmask/pgmask/config"
)

// startupBytes encodes a StartupMessage for dana.
func startupBytes(t *testing.T) []byte {
	t.Helper()
	b, err := (&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": "dana", "database": "clinic"},
	}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func frame(typ byte, body []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)+4))
	return append(b, body...)
}

func TestMalformedInputClosesOnlyThatConnection(t *testing.T) {
	p := startProxy(t, nil)
	bystander := p.connect(t, "dana")
	ctx := context.Background()

	beforeStartup := []struct {
		name  string
		bytes []byte
	}{
		{"a 2 GB startup length", append([]byte{0x7f, 0xff, 0xff, 0xff}, randomBytes(64)...)},
		{"a negative startup length", []byte{0xff, 0xff, 0xff, 0xf0, 0, 3, 0, 0}},
		{"a startup length shorter than its header", []byte{0, 0, 0, 4}},
		{"protocol version 2", binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, 2<<16)},
		{"random bytes", randomBytes(4096)},
		{"plaintext pipelined behind SSLRequest", append([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}, startupBytes(t)...)},
		{"a valid startup followed by a 2 GB message", append(startupBytes(t), append([]byte{'p', 0x7f, 0xff, 0xff, 0xff}, randomBytes(512)...)...)},
		{"a valid startup followed by a message of the wrong type", append(startupBytes(t), frame('Q', []byte("SELECT 1\x00"))...)},
	}
	for _, c := range beforeStartup {
		t.Run(c.name, func(t *testing.T) {
			conn := p.dial(t)
			if _, err := conn.Write(c.bytes); err != nil {
				t.Fatal(err)
			}
			errs := readUntilClosed(t, conn, nil, 5*time.Second)
			for _, e := range errs {
				if e.Severity != "FATAL" || (e.Code != "08P01" && e.Code != "28P01") {
					t.Errorf("pgmask answered %s %s %q, want nothing or FATAL 08P01", e.Severity, e.Code, e.Message)
				}
			}
		})
	}

	afterStartup := []struct {
		name  string
		bytes []byte
	}{
		{"an unknown message type", frame('z', []byte("whatever"))},
		{"a message length shorter than its header", []byte{'Q', 0, 0, 0, 2}},
		{"a Query without its terminating NUL", frame('Q', []byte("SELECT 1"))},
		{"a Query with bytes after its NUL", frame('Q', []byte("SELECT 1\x00junk"))},
		{"a Parse whose parameter count is wrong", frame('P', []byte("\x00SELECT $1\x00\x00\x05\x00\x00\x00\x17"))},
		{"a startup message after startup", startupBytes(t)},
		{"random bytes", append([]byte{'z'}, randomBytes(4096)...)},
	}
	for _, c := range afterStartup {
		t.Run("after authentication, "+c.name, func(t *testing.T) {
			raw := p.rawConnect(t, "dana", nil)
			if _, err := raw.conn.Write(c.bytes); err != nil {
				t.Fatal(err)
			}
			errs := raw.expectClosed(t, 5*time.Second)
			if codes := fatalCodes(errs); !slices.Equal(codes, []string{"08P01"}) {
				t.Errorf("pgmask answered %+v, want one FATAL 08P01 before closing", errs)
			}
		})
	}

	var n int
	if err := bystander.QueryRow(ctx, "SELECT count(*) FROM clinic.patients").Scan(&n); err != nil {
		t.Fatalf("the session that was open all along failed: %v", err)
	}
	if err := p.connect(t, "dana").QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Fatalf("a new session failed: %v", err)
	}
	eventually(t, 5*time.Second, func() bool { return p.srv.ActiveSessions() == 2 },
		"%d sessions open, want the 2 good ones", p.srv.ActiveSessions())
}

func TestAMessageOverMaxMessageBytesEndsOnlyThatSessionWith08P01(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, func(c *config.Config) { c.Server.MaxMessageBytes = 1 << 20 })
	bystander := p.connect(t, "dana")

	conn := p.connect(t, "dana")
	var n int
	if err := conn.QueryRow(ctx, "SELECT length($1::text)", strings.Repeat("x", 900<<10)).Scan(&n); err != nil || n != 900<<10 {
		t.Fatalf("a 900 KiB parameter under the 1 MiB limit: %d, %v", n, err)
	}

	_, err := conn.PgConn().Exec(ctx, "SELECT '"+strings.Repeat("x", 2<<20)+"'").ReadAll()
	if code := sqlState(err); code != "08P01" {
		t.Errorf("a 2 MiB Query: %v, want SQLSTATE 08P01", err)
	}
	eventually(t, 5*time.Second, func() bool { return conn.IsClosed() || conn.Ping(ctx) != nil },
		"the session that sent the oversized message is still usable")

	if err := bystander.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Fatalf("another session failed: %v", err)
	}
	eventually(t, 5*time.Second, func() bool { return p.srv.ActiveSessions() == 1 },
		"%d sessions open, want only the bystander", p.srv.ActiveSessions())
}

func TestTheStartupTimeoutClosesClientsThatStallBeforeTheSessionStarts(t *testing.T) {
	p := startProxy(t, func(c *config.Config) { c.Server.StartupTimeout = config.Duration{Duration: 300 * time.Millisecond} })
	stalls := []struct {
		name string
		send []byte
	}{
		{"before the startup message", nil},
		{"in the middle of the startup message", startupBytes(t)[:10]},
		{"during authentication", startupBytes(t)},
	}
	for _, s := range stalls {
		t.Run(s.name, func(t *testing.T) {
			conn := p.dial(t)
			if _, err := conn.Write(s.send); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for _, e := range readUntilClosed(t, conn, nil, 5*time.Second) {
				if e.Severity != "FATAL" {
					t.Errorf("got %s %s %q, want only FATAL errors", e.Severity, e.Code, e.Message)
				}
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("closed after %v, want about the 300 ms startup timeout", elapsed)
			}
		})
	}
	eventually(t, 2*time.Second, func() bool { return p.srv.ActiveSessions() == 0 }, "stalled sessions are still counted")
}
