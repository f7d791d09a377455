package proxy

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// cancelKey is the BackendKeyData pgmask hands a client: its own process id and secret,
// never the upstream's, so a client can only cancel its own session through pgmask.
type cancelKey struct{ pid, secret uint32 }

// cancelTarget is where a client's CancelRequest goes: the upstream backend serving
// that client's session.
type cancelTarget struct {
	network, address string
	pid, secret      uint32
}

type cancelRegistry struct {
	mu      sync.Mutex
	targets map[cancelKey]cancelTarget
}

func (r *cancelRegistry) add(k cancelKey, t cancelTarget) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.targets == nil {
		r.targets = make(map[cancelKey]cancelTarget)
	}
	if _, dup := r.targets[k]; dup {
		return false
	}
	r.targets[k] = t
	return true
}

func (r *cancelRegistry) remove(k cancelKey) {
	r.mu.Lock()
	delete(r.targets, k)
	r.mu.Unlock()
}

func (r *cancelRegistry) lookup(k cancelKey) (cancelTarget, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.targets[k]
	return t, ok
}

// send delivers a CancelRequest to the upstream backend. PostgreSQL handles cancel
// requests before authentication and TLS negotiation is optional for them, so a plain
// connection is enough ("Canceling Requests in Progress", protocol docs §55.2.8).
func (t cancelTarget) send(ctx context.Context) error {
	ctx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	var d net.Dialer
	conn, err := d.DialContext(ctx, t.network, t.address)
	if err != nil {
		return err
	}
	defer conn.Close()
	var msg [16]byte
	binary.BigEndian.PutUint32(msg[0:], 16)
	binary.BigEndian.PutUint32(msg[4:], 80877102) // cancel request code
	binary.BigEndian.PutUint32(msg[8:], t.pid)
	binary.BigEndian.PutUint32(msg[12:], t.secret)
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if _, err := conn.Write(msg[:]); err != nil {
		return err
	}
	// The server closes the connection when it has processed the request; waiting for
	// that keeps the cancel ordered before whatever the client does next.
	var b [1]byte
	conn.Read(b[:])
	return nil
}
