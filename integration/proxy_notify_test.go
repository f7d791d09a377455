package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestNotificationsReachAListeningPgmaskSessionInOrder(t *testing.T) {
	p := startProxy(t, nil)
	listener := p.connect(t, "dana")
	notifier := p.connect(t, "dana")
	channel := uniqueName("pgmask_test_")

	if _, err := listener.Exec(context.Background(), "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}

	// The listener is idle while these arrive: pgmask must relay a message the client
	// did not ask for, without waiting for the client to send something.
	const count = 100
	notified := make(chan error, 1)
	go func() {
		for i := range count {
			if _, err := notifier.Exec(context.Background(), "SELECT pg_notify($1, $2)", channel, fmt.Sprintf("payload %d ☃", i)); err != nil {
				notified <- fmt.Errorf("notify %d: %w", i, err)
				return
			}
		}
		notified <- nil
	}()

	for i := range count {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := listener.WaitForNotification(ctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for notification %d: %v", i, err)
		}
		if want := fmt.Sprintf("payload %d ☃", i); n.Channel != channel || n.Payload != want {
			t.Fatalf("notification %d: channel %q payload %q, want %q %q", i, n.Channel, n.Payload, channel, want)
		}
	}

	if err := <-notified; err != nil {
		t.Fatal(err)
	}

	// A notification sent inside a transaction arrives only at COMMIT.
	tx, err := notifier.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), "SELECT pg_notify($1, 'committed')", channel); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	if n, err := listener.WaitForNotification(ctx); err == nil {
		t.Fatalf("a notification arrived before COMMIT: %+v", n)
	}
	cancel()
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(ctx)
	if err != nil || n.Payload != "committed" {
		t.Fatalf("after COMMIT: %+v, %v; want the payload \"committed\"", n, err)
	}
}
