package integration

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestACancelledContextCancelsTheStatementAndTheSessionStaysUsable(t *testing.T) {
	p := startProxy(t, nil)
	conn := p.connect(t, "dana", cancelOnContext)
	other := p.connect(t, "dana", cancelOnContext) // must not be cancelled with it

	otherDone := make(chan error, 1)
	go func() {
		_, err := other.Exec(context.Background(), "SELECT pg_sleep(1.5)")
		otherDone <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Exec(ctx, "SELECT pg_sleep(10)")
	elapsed := time.Since(start)
	if code := sqlState(err); code != "57014" {
		t.Fatalf("pg_sleep(10) with a 300 ms context: %v, want SQLSTATE 57014 (query_canceled)", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("the cancelled statement returned after %v, want about 300 ms", elapsed)
	}

	var n int
	if err := conn.QueryRow(context.Background(), "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("after the cancel: got %d, %v; want 42", n, err)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'I' {
		t.Errorf("transaction status after the cancel is %q, want I", tx)
	}
	if err := <-otherDone; err != nil {
		t.Errorf("another session's statement was disturbed by the cancel: %v", err)
	}
}

func TestACancelRequestWithAWrongSecretCancelsNothing(t *testing.T) {
	p := startProxy(t, nil)
	conn := p.connect(t, "dana")
	victim := conn.PgConn()

	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), "SELECT pg_sleep(1)")
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)

	// A forged CancelRequest: the session's process id with a wrong secret, and the
	// upstream backend's real process id, which pgmask never hands out.
	direct := connectDirect(t)
	var upstreamPID uint32
	if err := direct.QueryRow(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(1)' AND state = 'active'").Scan(&upstreamPID); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []uint32{victim.PID(), upstreamPID} {
		sendCancelRequest(t, p, pid, 12345)
	}
	if err := <-done; err != nil {
		t.Fatalf("a forged cancel request cancelled the statement: %v", err)
	}
	if victim.PID() == upstreamPID {
		t.Errorf("pgmask handed the client the upstream backend's process id %d", upstreamPID)
	}
}

func TestCtrlCInPsqlCancelsTheRunningStatement(t *testing.T) {
	p := startProxy(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := psqlCommand(ctx, p.dsn("dana"), "-c", "SELECT pg_sleep(10)")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	direct := connectDirect(t)
	waitActive(t, direct, "pgmask-test-psql", "pg_sleep(10)")
	time.Sleep(time.Second - 100*time.Millisecond)

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("psql exited %v after SIGINT, want within 3 s", elapsed)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("psql exit: %v, want exit status 1 (the statement failed)", err)
	}
	if !strings.Contains(stderr.String(), "canceling statement due to user request") {
		t.Errorf("psql printed %q on stderr, want the cancel message", stderr.String())
	}
}
