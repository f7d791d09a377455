package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// shutdown runs p.srv.Shutdown with the given drain time in the background.
func shutdown(p *testProxy, drain time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		done <- p.srv.Shutdown(ctx)
	}()
	return done
}

// refusesNewClients asserts that p no longer accepts connections.
func refusesNewClients(t *testing.T, p *testProxy) {
	t.Helper()
	eventually(t, 2*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", p.addr.String(), time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	}, "pgmask still accepts connections during shutdown")
}

func TestShutdownSendsAnIdleSessionFATAL57P01WhenTheDrainTimeIsOver(t *testing.T) {
	p := startProxy(t, nil)
	raw := p.rawConnect(t, "dana", nil)

	start := time.Now()
	done := shutdown(p, 200*time.Millisecond)
	errs := raw.expectClosed(t, 5*time.Second)
	if codes := fatalCodes(errs); !slices.Equal(codes, []string{"57P01"}) {
		t.Errorf("the idle session got %+v, want one FATAL 57P01", errs)
	}
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("the session was closed after %v, before the 200 ms drain time", elapsed)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown returned %v, want context.DeadlineExceeded (sessions had to be closed)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown has not returned 5 s after its drain time")
	}
	if n := p.srv.ActiveSessions(); n != 0 {
		t.Errorf("%d sessions after Shutdown, want 0", n)
	}
	refusesNewClients(t, p)
}

func TestShutdownWaitsForARunningStatementToFinishNormally(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	app := uniqueName("pgmask-drain-")
	conn := p.connect(t, "dana", appName(app))
	direct := connectDirect(t)

	result := make(chan error, 1)
	go func() {
		var s string
		result <- conn.QueryRow(ctx, "SELECT pg_sleep(1)::text").Scan(&s)
	}()
	waitActive(t, direct, app, "pg_sleep(1)")
	done := shutdown(p, 10*time.Second)
	refusesNewClients(t, p)

	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("the statement running during the drain failed: %v", err)
		}
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a statement was running", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the one-second statement has not finished after 5 s")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while the client was still connected", err)
	case <-time.After(100 * time.Millisecond):
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT 7").Scan(&n); err != nil || n != 7 {
		t.Errorf("a draining session refused a statement: %d, %v", n, err)
	}

	conn.Close(ctx)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown returned %v after every client left, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown has not returned 5 s after the last client left")
	}
}

func TestShutdownCutsAStatementThatOutlastsTheDrainTimeAndItsBackend(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	app := uniqueName("pgmask-cut-")
	conn := p.connect(t, "dana", appName(app))
	direct := connectDirect(t)

	result := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		result <- err
	}()
	waitActive(t, direct, app, "pg_sleep(30)")
	done := shutdown(p, 300*time.Millisecond)

	select {
	case err := <-result:
		if code := sqlState(err); code != "57P01" {
			t.Errorf("the statement cut by Shutdown failed with %v, want SQLSTATE 57P01", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the statement still runs 5 s after Shutdown")
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want context.DeadlineExceeded", err)
	}
	eventually(t, 5*time.Second, func() bool { return len(backendPIDs(t, direct, app)) == 0 },
		"the upstream backend still runs the statement of a session pgmask closed")
}

func TestShutdownSendsATLSSessionFATAL57P01OverTLS(t *testing.T) {
	p, _ := startTLSProxy(t)
	raw := rawConnectDSN(t, tlsDSN(p, "dana", "require"), nil)
	if _, ok := raw.conn.(*tls.Conn); !ok {
		t.Fatalf("the connection is a %T, want *tls.Conn", raw.conn)
	}

	done := shutdown(p, 200*time.Millisecond)
	errs := raw.expectClosed(t, 5*time.Second)
	if codes := fatalCodes(errs); !slices.Equal(codes, []string{"57P01"}) {
		t.Errorf("the TLS session got %+v, want one FATAL 57P01", errs)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want context.DeadlineExceeded", err)
	}
}

func TestShutdownClosesAConnectionThatNeverStartedUp(t *testing.T) {
	p := startProxy(t, nil)
	conn := p.dial(t)
	eventually(t, 2*time.Second, func() bool { return p.srv.ActiveSessions() == 1 }, "the connection is not counted")

	start := time.Now()
	done := shutdown(p, 200*time.Millisecond)
	errs := readUntilClosed(t, conn, nil, 5*time.Second)
	if codes := fatalCodes(errs); !slices.Equal(codes, []string{"57P01"}) {
		t.Errorf("a client in startup got %+v at shutdown, want one FATAL 57P01", errs)
	}
	<-done
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Shutdown took %v with a client that never started up", elapsed)
	}
}
