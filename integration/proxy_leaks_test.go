package integration

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// goroutineSlack is how many goroutines above the baseline count as "back to it":
// the runtime and the test framework start a few of their own now and then.
const goroutineSlack = 4

func TestSessionsThatEndInAnyStateLeaveNoUpstreamBackendsOrGoroutines(t *testing.T) {
	p := startProxy(t, nil)
	direct := connectDirect(t)
	prefix := uniqueName("pgmask-leak-")
	runtime.GC()
	baseline := runtime.NumGoroutine()

	vanish := []struct {
		name string
		act  func(t *testing.T, c *rawClient, app string)
	}{
		{"while idle", func(t *testing.T, c *rawClient, app string) {}},
		{"after saying goodbye with Terminate", func(t *testing.T, c *rawClient, app string) {
			c.send(t, &pgproto3.Terminate{})
		}},
		{"in the middle of a statement", func(t *testing.T, c *rawClient, app string) {
			c.send(t, &pgproto3.Query{String: "SELECT pg_sleep(60)"})
			waitActive(t, direct, app, "pg_sleep(60)")
		}},
		{"in the middle of a large result", func(t *testing.T, c *rawClient, app string) {
			c.send(t, &pgproto3.Query{String: "SELECT g, repeat('x', 1000) FROM generate_series(1, 10000000) AS g"})
			for range 100 {
				if _, ok := c.receive(t).(*pgproto3.ErrorResponse); ok {
					t.Fatal("the large result failed")
				}
			}
		}},
		{"in the middle of an extended-protocol pipeline", func(t *testing.T, c *rawClient, app string) {
			c.send(t,
				&pgproto3.Parse{Query: "SELECT pg_sleep($1)"},
				&pgproto3.Bind{Parameters: [][]byte{[]byte("60")}},
				&pgproto3.Execute{},
			) // no Sync: the statement runs, the client never asks for ReadyForQuery
			waitActive(t, direct, app, "pg_sleep($1)")
		}},
		{"inside a transaction block", func(t *testing.T, c *rawClient, app string) {
			c.send(t, &pgproto3.Query{String: "BEGIN; CREATE TEMP TABLE leak (n int); LOCK TABLE leak"})
			c.untilReady(t)
		}},
	}

	const rounds = 3
	for round := range rounds {
		for i, v := range vanish {
			app := fmt.Sprintf("%s%d-%d", prefix, round, i)
			c := p.rawConnect(t, "dana", map[string]string{"application_name": app})
			if n := len(backendPIDs(t, direct, app)); n != 1 {
				t.Fatalf("%s: %d upstream backends named %s, want 1", v.name, n, app)
			}
			v.act(t, c, app)
			c.conn.Close()
		}
	}

	eventually(t, 5*time.Second, func() bool { return backendsLike(t, direct, prefix) == 0 },
		"%d upstream backends of vanished clients are still there", backendsLike(t, direct, prefix))
	eventually(t, 5*time.Second, func() bool { return p.srv.ActiveSessions() == 0 },
		"pgmask still counts %d sessions", p.srv.ActiveSessions())
	eventually(t, 5*time.Second, func() bool {
		runtime.GC()
		return runtime.NumGoroutine() <= baseline+goroutineSlack
	}, "%d goroutines, %d before the sessions", runtime.NumGoroutine(), baseline)
}

func TestTerminatingTheUpstreamBackendEndsAnIdleSession(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	direct := connectDirect(t)
	app := uniqueName("pgmask-terminate-")
	conn := p.connect(t, "dana", appName(app))
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	terminateBackends(t, direct, app)
	eventually(t, 5*time.Second, func() bool { return p.srv.ActiveSessions() == 0 },
		"the session outlives its upstream backend")
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a statement succeeded on a session whose upstream backend was terminated")
	}
	eventually(t, time.Second, conn.IsClosed, "the client connection is still open")
}

func TestTerminatingTheUpstreamBackendFailsTheRunningStatementWith57P01(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	direct := connectDirect(t)
	app := uniqueName("pgmask-terminate-")
	conn := p.connect(t, "dana", appName(app))

	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		done <- err
	}()
	waitActive(t, direct, app, "pg_sleep(30)")
	terminateBackends(t, direct, app)

	select {
	case err := <-done:
		if code := sqlState(err); code != "57P01" {
			t.Errorf("the running statement failed with %v, want SQLSTATE 57P01 from PostgreSQL", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the statement still runs 5 s after its backend was terminated")
	}
	eventually(t, 5*time.Second, func() bool { return p.srv.ActiveSessions() == 0 },
		"the session outlives its upstream backend")
}

// terminateBackends ends the upstream backend named app, as a DBA would.
func terminateBackends(t *testing.T, direct *pgx.Conn, app string) {
	t.Helper()
	rows, err := direct.Query(context.Background(),
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		t.Fatal(err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil || len(done) != 1 || !done[0] {
		t.Fatalf("terminating the backend named %s: %v, %v; want one terminated backend", app, done, err)
	}
}
