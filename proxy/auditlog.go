package proxy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/rewriter"
)

// The audit log (docs/audit.md) from the server's side: opening and closing it, the
// session events (connect, failed login, disconnect, reload), and the refusal a client
// gets while the log cannot be written. Statements are matched to their outcomes in
// pending.go.

// auditConfig is the [audit] section as the audit package takes it.
func auditConfig(c config.Audit) audit.Config {
	return audit.Config{
		Sink:              c.Sink,
		Path:              c.Path,
		MaxBytes:          c.MaxBytes,
		MaxAge:            c.MaxAge.Duration,
		DSNEnv:            c.DSNEnv,
		DSNFile:           c.DSNFile,
		Chain:             c.Chain,
		KeyEnv:            c.KeyEnv,
		KeyFile:           c.KeyFile,
		RotateKeyEvery:    c.RotateKeyEvery,
		RotateKeyInterval: c.RotateKeyInterval.Duration,
		QueueLimit:        c.QueueLimit,
		BatchSize:         c.BatchSize,
		FlushInterval:     c.FlushInterval.Duration,
	}
}

// auditOpenTimeout bounds opening the sink at startup (connecting to the PostgreSQL
// sink, finding where its chain stopped, writing the first record).
const auditOpenTimeout = 30 * time.Second

// openAudit starts the audit log the configuration names, unless its sink is "off".
// A log that cannot be written stops the server from starting: pgmask must not
// disclose what it cannot record.
func (s *Server) openAudit(cfg config.Audit, sink audit.Sink) error {
	ac := auditConfig(cfg)
	if err := ac.CheckAndSetDefaults(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	s.auditCfg = cfg
	if !ac.Enabled() {
		s.log.Warn("the audit log is off ([audit] sink = \"off\"): pgmask keeps no record of what it discloses")
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditOpenTimeout)
	defer cancel()
	l, err := audit.NewLogger(ctx, ac, audit.Options{Sink: sink, Now: s.now, Log: s.log})
	if err != nil {
		return fmt.Errorf("starting the audit log: %w", err)
	}
	s.auditLog = l
	return nil
}

// closeAudit writes what is queued and ends the chain, once. Called by Shutdown after
// the sessions have ended, so their last records are in.
func (s *Server) closeAudit() error {
	s.auditClose.Do(func() {
		if s.auditLog != nil {
			s.auditErr = s.auditLog.Close()
		}
	})
	return s.auditErr
}

// AuditHealth returns the audit log's counters and nil, or why statements are being
// refused; ok is false when the audit log is off. For metrics and readiness.
func (s *Server) AuditHealth() (stats audit.Stats, healthy error, ok bool) {
	if s.auditLog == nil {
		return audit.Stats{}, nil, false
	}
	return s.auditLog.Stats(), s.auditLog.Healthy(), true
}

// recordReload logs a reload: applied (err nil, with the new policy's version) or
// refused. The initial policy, compiled before the log is open, is not recorded: the
// log's "start" checkpoint stands for it.
func (s *Server) recordReload(version uint64, err error) {
	if s.auditLog != nil {
		s.auditLog.Log(audit.Reload(version, err))
	}
}

// ReloadFailed records a reload that failed before a configuration could be handed to
// Reload (the file did not load), so the audit log shows every attempt.
func (s *Server) ReloadFailed(err error) { s.recordReload(0, err) }

// errAuditUnavailable is what a client is told while the audit log cannot be written;
// auditRefusal adds why.
var errAuditUnavailable = &rewriter.Denial{
	Code:    "58000", // system_error: the fault is pgmask's, not the statement's
	Message: "pgmask cannot write its audit log",
	Hint:    "pgmask refuses statements while it cannot record them",
}

// auditRefusal is errAuditUnavailable with why the log refuses, in the words of
// audit.UnavailableError.Reason: the sink failed, or how many records it is behind
// and the queue_limit. The sink's own error (a file name, a host, a database message)
// stays in the operator's log: the client learns that pgmask is at fault, not where.
func auditRefusal(why error) *rewriter.Denial {
	d := *errAuditUnavailable
	var ue *audit.UnavailableError
	switch {
	case errors.As(why, &ue):
		d.Message += ": " + ue.Reason()
	case errors.Is(why, audit.ErrClosed):
		d.Message += ": pgmask is shutting down"
	}
	return &d
}

// identity is the session as the audit log names it.
func (s *Session) identity() audit.Session {
	if s.id == "" {
		var b [8]byte
		if _, err := io.ReadFull(s.srv.random, b[:]); err == nil {
			s.id = hex.EncodeToString(b[:])
		}
	}
	return audit.Session{
		ID:              s.id,
		User:            s.user,
		Role:            s.role,
		Client:          s.clientAddr,
		ApplicationName: s.params["application_name"],
		Database:        s.params["database"],
	}
}

// auditLoginFailure records a login refused after the client named a user. Only
// pgmask's own message is kept, never anything the client sent during authentication.
// A client that hangs up (psql does, to prompt for a password) has not failed.
func (s *Session) auditLoginFailure(err error) {
	if s.srv.auditLog == nil {
		return
	}
	var reason string
	var se *sessionError
	var pe *protocolError
	switch {
	case errors.As(err, &se):
		reason = se.msg
	case errors.As(err, &pe):
		reason = "malformed authentication exchange"
	default:
		return
	}
	s.srv.auditLog.Log(audit.AuthFailure(s.identity(), reason))
}

// startAudit gives an authenticated session its side of the audit log and records the
// connection, under the session's identity at login (its purpose from the startup
// options, the data use agreement of its role).
func (s *Session) startAudit() {
	if s.srv.auditLog == nil {
		return
	}
	s.aud = newSessionAudit(s.srv.auditLog, s.who(), s.srv.now)
	s.aud.log.Log(audit.Connect(s.aud.whom()))
}

// endAudit records what the session left unfinished and its end. The relay has ended.
func (s *Session) endAudit(length time.Duration, err error, upstreamAlive bool) {
	if s.aud == nil {
		return
	}
	s.aud.abandon()
	s.aud.log.Log(audit.Disconnect(s.aud.whom(), length, disconnectReason(err, upstreamAlive)))
}

// disconnectReason says why a session ended, from the pump's error.
func disconnectReason(err error, upstreamAlive bool) string {
	var se *sessionError
	var pe *protocolError
	switch {
	case err == nil:
		return "client closed"
	case errors.As(err, &se) && se.code == codeIdleSessionTimeout:
		return "idle timeout"
	case errors.As(err, &se) && se.code == codeAdminShutdown:
		return "server shutdown"
	case errors.As(err, &pe):
		return "protocol violation"
	case errors.Is(err, errUpstreamGone) || !upstreamAlive:
		return "upstream closed"
	case isDisconnect(err):
		return "client disconnected"
	}
	return "error"
}

// auditUnavailable returns why statements must be refused because the audit log
// cannot be written, or nil. Asked before every statement; the Logger answers without
// taking a lock.
func (s *Session) auditUnavailable() error { return s.aud.log.Healthy() }

// refuseUnaudited records the refusal of q while the audit log cannot be written, for
// the reason why (the record is still queued, unless the queue is full), and returns
// the client's denial.
func (s *Session) refuseUnaudited(q audit.Query, why error) *rewriter.Denial {
	d := auditRefusal(why)
	s.aud.log.Log(audit.Denial(s.aud.whom(), q, d.Message, d.Code))
	return d
}
