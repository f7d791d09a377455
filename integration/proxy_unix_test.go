package integration

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pgmask/pgmask/config"
)

// A pgmask next to its database may reach it over the Unix socket, which costs less
// than loopback TCP; sessions, rewriting and cancel work the same.
func TestPgmaskReachesPostgreSQLOverAUnixSocket(t *testing.T) {
	p := startProxy(t, func(c *config.Config) {
		c.Upstream.Address = cluster.SocketDir() + ":" + strconv.Itoa(cluster.Port)
	})
	conn := p.connect(t, "dana", cancelOnContext)

	// inet_server_addr() is NULL exactly when the session came over a Unix socket.
	var overSocket bool
	if err := conn.QueryRow(context.Background(), "SELECT inet_server_addr() IS NULL").Scan(&overSocket); err != nil {
		t.Fatal(err)
	}
	if !overSocket {
		t.Fatal("the upstream session is not on the Unix socket")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Exec(ctx, "SELECT pg_sleep(10)")
	if code := sqlState(err); code != "57014" {
		t.Fatalf("pg_sleep(10) with a 300 ms context: %v, want SQLSTATE 57014 (query_canceled)", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("the cancelled statement returned after %v, want about 300 ms", elapsed)
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("after the cancel: got %d, %v; want 42", n, err)
	}
}
