package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Buffer sizes: large enough that a result set is relayed in few, large writes.
const (
	readBufferSize  = 32 * 1024
	writeBufferSize = 32 * 1024
)

// Session is one client connection and the upstream connection pgmask opened for it.
//
// The goroutine that runs a session owns it: it reads the client (pump) and starts one
// relay goroutine that reads the upstream. Only the pump writes upstream and only the
// relay writes to the client, except after the relay has ended, when the owner may send
// the client a final error. Both connections are closed by the owner before run returns.
type Session struct {
	srv *Server
	log *slog.Logger

	client  net.Conn
	clientR *bufio.Reader
	clientW *bufio.Writer

	upstream  net.Conn
	upstreamR *bufio.Reader
	upstreamW *bufio.Writer

	user, role string
	params     map[string]string
	// upstreamUser and searchPath are the session user and search_path pinned on the
	// upstream session; the rewriter resolves names against exactly these.
	upstreamUser, searchPath string
	key                      cancelKey
	// snap is the policy snapshot the session started under (see policy.go).
	snap *snapshot

	// cycles counts the messages sent upstream that each end in one ReadyForQuery
	// (Query, Sync, FunctionCall); readies counts the ReadyForQuery messages relayed.
	// When they are equal the session is idle.
	cycles  atomic.Uint64
	readies atomic.Uint64
	denials denialQueue
	// txStatus is the transaction status byte of the last ReadyForQuery ('I', 'T',
	// 'E'); inband is what the pump asked the relay to do to coming replies.
	txStatus atomic.Uint32
	inband   inband
	// access is the session's purpose of use and break-glass state (access.go);
	// only the pump goroutine touches it.
	access access
	// prepared are the protocol-level named statements the client prepared, which a
	// role switch prepares again (access.go); only the pump touches it.
	prepared map[string]preparedStatement
	// counters are the metrics of the session's role (see Session.stats).
	counters *roleMetrics

	// id and clientAddr name the session in the audit log; aud is its side of the
	// log, nil when the audit log is off (see pending.go).
	id, clientAddr string
	aud            *sessionAudit

	terminating  atomic.Bool // set by Server.Shutdown when the drain time is over
	upstreamDone atomic.Bool // set by the relay when the upstream stopped
	closeOnce    sync.Once
}

func newSession(srv *Server, conn net.Conn) *Session {
	addr := conn.RemoteAddr().String()
	s := &Session{
		srv:        srv,
		log:        srv.log.With("client", addr),
		client:     conn,
		clientR:    bufio.NewReaderSize(conn, readBufferSize),
		clientW:    bufio.NewWriterSize(conn, writeBufferSize),
		clientAddr: addr,
	}
	s.denials.counted = s.countDenial
	return s
}

func (s *Session) run() {
	defer s.closeAll()
	ok, err := s.handshake()
	if err != nil && s.terminating.Load() {
		err = errShuttingDown // not the read deadline that interrupted the handshake
	}
	if err != nil {
		s.log.Info("connection refused", "user", s.user, "reason", err.Error())
		s.srv.metrics.refusedConnection(err)
		s.sendFatal(err)
		return
	}
	if !ok { // a cancel request, already handled
		return
	}
	defer s.srv.cancels.remove(s.key)
	s.log.Info("session started", "user", s.user, "role", s.role)
	s.stats().sessions.Inc()
	start := time.Now()
	s.startAudit()

	relayDone := make(chan error, 1)
	go func() { relayDone <- s.relay() }()
	err = s.pump()
	upstreamAlive := !s.upstreamDone.Load()
	s.upstream.Close() // ends the relay if it is still running
	relayErr := <-relayDone
	if s.access.elevated() {
		s.auditBreakGlassEnd("session ended")
		s.srv.metrics.breakGlass.Dec()
	}
	s.endAudit(time.Since(start), err, upstreamAlive)
	s.srv.metrics.sessionEnded(err, upstreamAlive)
	if err != nil && upstreamAlive {
		// After the relay has ended, so the client never sees the cancel's error.
		s.cancelUpstream()
	}
	switch {
	case err != nil && !isDisconnect(err):
		s.sendFatal(err)
	case relayErr != nil && !isDisconnect(relayErr):
		s.log.Warn("upstream relay failed", "err", relayErr.Error())
	}
	s.log.Info("session ended", "user", s.user, "duration", time.Since(start).Round(time.Millisecond).String())
}

// errShuttingDown is what sessions still open when the shutdown drain time is over are
// told, as PostgreSQL tells them on a fast shutdown.
var errShuttingDown = fatalf(codeAdminShutdown, "terminating connection due to administrator command", "pgmask is shutting down.")

// terminate asks a running session to end now (used after the shutdown drain time).
func (s *Session) terminate() {
	s.terminating.Store(true)
	s.client.SetReadDeadline(time.Now())
}

// sendFatal tells the client why its session ends. Only called when no relay is running.
func (s *Session) sendFatal(err error) {
	buf, encErr := fatalResponse(err).Encode(nil)
	if encErr != nil {
		return
	}
	s.client.SetWriteDeadline(time.Now().Add(time.Second))
	s.clientW.Write(buf)
	s.clientW.Flush()
	var pe *protocolError
	if errors.As(err, &pe) {
		s.drainClient()
	}
}

// Bounds of drainClient.
const (
	drainTime  = time.Second
	drainBytes = 256 << 20
)

// drainClient half-closes the client connection and discards what the client still
// sends, for a short while. After a protocol error (an oversized message above all) the
// client may be in the middle of writing; closing a socket with unread input makes TCP
// send a reset, which can destroy the error message before the client has read it.
func (s *Session) drainClient() {
	if cw, ok := s.client.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	s.client.SetReadDeadline(time.Now().Add(drainTime))
	io.CopyN(io.Discard, s.client, drainBytes)
}

// cancelUpstream sends the upstream a CancelRequest for the session's backend. A client
// that leaves without Terminate may do so in the middle of a statement, and PostgreSQL
// does not notice a closed connection until it next writes to it
// (client_connection_check_interval is off by default): without the cancel, a long
// statement would run on for nobody, holding its connection slot and its locks. A cancel
// that reaches an idle backend is ignored.
func (s *Session) cancelUpstream() {
	t, ok := s.srv.cancels.lookup(s.key)
	if !ok {
		return
	}
	ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	if err := t.send(ctx); err != nil {
		s.log.Warn("cancelling the upstream statement of a departed client failed", "err", err.Error())
	}
}

func (s *Session) closeAll() {
	s.closeOnce.Do(func() {
		s.client.Close()
		if s.upstream != nil {
			s.upstream.Close()
		}
	})
}

// isDisconnect reports errors that only mean a peer went away or was closed by us.
func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) ||
		errors.Is(err, os.ErrDeadlineExceeded) || isConnReset(err)
}

func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && (oe.Op == "read" || oe.Op == "write")
}
