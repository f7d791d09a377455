package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgmask/pgmask/config"
)

// startIdleProxy starts pgmask with a short server.idle_timeout.
func startIdleProxy(t *testing.T, idle time.Duration) *testProxy {
	t.Helper()
	return startProxy(t, func(c *config.Config) { c.Server.IdleTimeout = config.Duration{Duration: idle} })
}

func TestAnIdleSessionIsClosedWith57P05AfterTheIdleTimeout(t *testing.T) {
	p := startIdleProxy(t, 300*time.Millisecond)
	raw := p.rawConnect(t, "dana", nil)
	start := time.Now()
	errs := raw.expectClosed(t, 5*time.Second)
	if codes := fatalCodes(errs); !slices.Equal(codes, []string{"57P05"}) {
		t.Errorf("the idle session got %+v, want one FATAL 57P05", errs)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", elapsed)
	}
}

func TestTheIdleTimeoutNeverCutsARunningStatement(t *testing.T) {
	p := startIdleProxy(t, 300*time.Millisecond)
	statements := []struct {
		name string
		send []pgproto3.FrontendMessage
		want string
	}{
		{"simple query", []pgproto3.FrontendMessage{&pgproto3.Query{String: "SELECT pg_sleep(1)"}},
			"RowDescription DataRow CommandComplete Z:I"},
		{"extended query", []pgproto3.FrontendMessage{
			&pgproto3.Parse{Query: "SELECT pg_sleep(1)"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{},
		}, "ParseComplete BindComplete DataRow CommandComplete Z:I"},
	}
	for _, s := range statements {
		t.Run(s.name, func(t *testing.T) {
			raw := p.rawConnect(t, "dana", nil)
			raw.send(t, s.send...)
			if got := messageShape(raw.untilReady(t)); got != s.want {
				t.Errorf("a one-second statement under a 300 ms idle timeout: %s, want %s", got, s.want)
			}
		})
	}
}

func TestTheIdleTimeoutWaitsForAPipelineThatAwaitsItsResultsBeforeSync(t *testing.T) {
	// pgconn's pipeline mode sends Execute and Flush, reads the results, and only then
	// Syncs. While the statement runs the client is waiting for the server, not idle:
	// PostgreSQL's own idle_session_timeout only starts after ReadyForQuery.
	p := startIdleProxy(t, 300*time.Millisecond)
	raw := p.rawConnect(t, "dana", nil)
	raw.send(t, &pgproto3.Parse{Query: "SELECT pg_sleep(1)"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Flush{})
	var got []pgproto3.BackendMessage
	for len(got) < 4 {
		m, err := raw.tryReceive(5 * time.Second)
		if err != nil {
			t.Fatalf("after %s: %v", messageShape(got), err)
		}
		got = append(got, copyMessage(t, m))
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			t.Fatalf("the session was closed while its statement ran: %s %s %q", e.Severity, e.Code, e.Message)
		}
	}
	raw.send(t, &pgproto3.Sync{})
	got = append(got, raw.untilReady(t)...)
	if shape, want := messageShape(got), "ParseComplete BindComplete DataRow CommandComplete Z:I"; shape != want {
		t.Errorf("got %s, want %s", shape, want)
	}
}
