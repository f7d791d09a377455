package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pgmask/pgmask/rewriter"
)

// pump reads the client's messages and forwards them upstream until the client leaves
// or breaks the protocol. Query and Parse go through the rewriter; FunctionCall is
// checked by role; the other frontend messages carry no SQL and are streamed unchanged.
func (s *Session) pump() error {
	snap := s.srv.snapshot.Load()
	fr := newFrameReader(s.clientR, snap.cfg.Server.MaxMessageBytes)
	idle := snap.cfg.Server.IdleTimeout.Duration
	// unsynced is true while extended-protocol messages have been sent since the last
	// Sync: the client may be waiting for their results (pipeline mode sends Execute and
	// Flush, and Syncs later), so it is not idle even when every cycle is answered.
	unsynced := false
	for {
		if idle > 0 {
			s.client.SetReadDeadline(time.Now().Add(idle))
		}
		typ, n, err := fr.header()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if err := s.interrupted(idle, unsynced); err != nil {
					return err
				}
				continue
			}
			return err
		}
		switch typ {
		case 'Q', 'P', 'B', 'E', 'F':
			if err := s.checkAccess(unsynced); err != nil {
				return err
			}
		}
		switch typ {
		case 'Q':
			err = s.forwardQuery(fr, n)
		case 'P':
			unsynced = true
			err = s.forwardParse(fr, n)
		case 'F':
			err = s.forwardFunctionCall(fr, n)
		case 'S':
			unsynced = false
			s.cycles.Add(1)
			err = copyFrame(s.upstreamW, s.clientR, typ, n)
		case 'B', 'E', 'D', 'C':
			if typ == 'C' {
				s.untrack(n)
			}
			// Bind, Execute, Describe, Close: the audit log follows them (pending.go).
			unsynced = true
			if s.aud != nil {
				err = s.forwardAudited(fr, typ, n)
			} else {
				err = copyFrame(s.upstreamW, s.clientR, typ, n)
			}
		case 'H':
			// Flush.
			unsynced = true
			err = copyFrame(s.upstreamW, s.clientR, typ, n)
		case 'd', 'c', 'f':
			// CopyData, CopyDone, CopyFail.
			err = copyFrame(s.upstreamW, s.clientR, typ, n)
		case 'X':
			if err := copyFrame(s.upstreamW, s.clientR, typ, n); err != nil {
				return err
			}
			s.upstreamW.Flush()
			return nil
		default:
			return &protocolError{fmt.Sprintf("invalid frontend message type %q", typ)}
		}
		if err != nil {
			return err
		}
		// Flush when the client has nothing more buffered: one write per pipeline.
		if s.clientR.Buffered() == 0 {
			if err := s.upstreamW.Flush(); err != nil {
				return err
			}
		}
	}
}

// interrupted decides what a read deadline on the client means: shutdown, upstream
// gone, idle timeout, or nothing (a statement is still running, keep waiting). As in
// PostgreSQL, a session is idle only after ReadyForQuery.
func (s *Session) interrupted(idle time.Duration, unsynced bool) error {
	switch {
	case s.terminating.Load():
		return errShuttingDown
	case s.upstreamDone.Load():
		return errUpstreamGone
	case idle > 0 && !unsynced && s.cycles.Load() == s.readies.Load():
		return fatalf(codeIdleSessionTimeout, "terminating connection due to idle-session timeout", "")
	}
	return nil
}

var errUpstreamGone = errors.New("upstream connection closed")

// rewrite asks the rewriter what to send for sql; now is the statement's time.
func (s *Session) rewrite(snap *snapshot, sql string, now time.Time) rewriter.Result {
	start := time.Now()
	return s.counted(s.srv.cache.Rewrite(sql, s.context(snap, now), snap.policy, s.srv.catalog.Load()), start)
}

// context is what the rewriter knows of the session for a statement at now.
func (s *Session) context(snap *snapshot, now time.Time) rewriter.Context {
	return rewriter.Context{
		Role:       s.role,
		SearchPath: s.searchPath,
		User:       s.upstreamUser,
		Database:   snap.cfg.Upstream.Database,
		Now:        now,
	}
}

// forwardQuery handles a simple-protocol Query: every statement in the string is
// checked by the rewriter and the result is sent once.
func (s *Session) forwardQuery(fr *frameReader, n int) error {
	body, err := fr.body(n)
	if err != nil {
		return err
	}
	sql, rest, ok := cstring(body)
	if !ok || len(rest) != 0 {
		return &protocolError{"malformed Query message"}
	}
	if rewriter.MayBeSessionCommand(sql) {
		if cmd, d, ok := rewriter.SessionCommandOf(string(sql)); ok {
			s.sessionQuery(cmd, d)
			return nil
		}
	}
	cycle := s.cycles.Add(1)
	if s.aud != nil {
		return s.forwardQueryAudited(body, string(sql), n, cycle)
	}
	res := s.rewrite(s.srv.snapshot.Load(), string(sql), s.srv.now())
	switch {
	case res.Denial != nil:
		s.writeQuery(withBefore(res.Before, s.srv.denialStatement(s.denials.add(res.Denial, cycle))))
	case res.Unchanged:
		writeHeader(s.upstreamW, 'Q', n)
		s.upstreamW.Write(body)
	default:
		s.writeQuery(res.SQL)
	}
	return nil
}

// withBefore is the Query text for a refusal: the statements of the string that come
// before the refused one (Result.Before), then the denial in its place, so PostgreSQL
// runs what it would have run and fails where it would have failed.
func withBefore(before, denial string) string {
	if before == "" {
		return denial
	}
	return before + "; " + denial
}

func isSessionCommand(sql []byte) bool {
	if !rewriter.MayBeSessionCommand(sql) {
		return false
	}
	_, _, ok := rewriter.SessionCommandOf(string(sql))
	return ok
}

func (s *Session) writeQuery(sql string) {
	writeHeader(s.upstreamW, 'Q', len(sql)+1)
	s.upstreamW.WriteString(sql)
	s.upstreamW.WriteByte(0)
}

// forwardParse handles Parse: the statement is rewritten once here, so every later
// Bind/Execute of it runs the rewritten SQL.
func (s *Session) forwardParse(fr *frameReader, n int) error {
	body, err := fr.body(n)
	if err != nil {
		return err
	}
	name, rest, ok := cstring(body)
	if !ok {
		return &protocolError{"malformed Parse message"}
	}
	sql, paramTypes, ok := cstring(rest)
	if !ok || len(paramTypes) < 2 || len(paramTypes) != 2+4*int(binary.BigEndian.Uint16(paramTypes)) {
		return &protocolError{"malformed Parse message"}
	}
	snap := s.srv.snapshot.Load()
	var res rewriter.Result
	switch {
	case isSessionCommand(sql):
		// Its effect would depend on when (and whether) the statement is executed.
		res.Denial = &rewriter.Denial{Code: rewriter.CodeFeatureNotSupported,
			Message: "pgmask session commands (SET pgmask.purpose, ...) cannot be prepared",
			Hint:    "Send them with the simple query protocol, or set pgmask.purpose in the startup options."}
		s.auditSessionDenial(nil, res.Denial)
		if s.aud != nil {
			s.aud.push(op{kind: opParse, cycle: s.cycles.Load() + 1, name: s.aud.intern(name)})
		}
	case s.aud != nil:
		res = s.auditParse(snap, name, string(sql))
	default:
		res = s.rewrite(snap, string(sql), s.srv.now())
	}
	var out string
	switch {
	case res.Denial != nil:
		// The cycle is the one the next Sync closes.
		out = s.srv.denialStatement(s.denials.add(res.Denial, s.cycles.Load()+1))
	case res.Unchanged:
		s.track(name, sql, paramTypes)
		writeHeader(s.upstreamW, 'P', n)
		s.upstreamW.Write(body)
		return nil
	default:
		s.track(name, sql, paramTypes)
		out = res.SQL
	}
	writeHeader(s.upstreamW, 'P', len(name)+1+len(out)+1+len(paramTypes))
	s.upstreamW.Write(name)
	s.upstreamW.WriteByte(0)
	s.upstreamW.WriteString(out)
	s.upstreamW.WriteByte(0)
	s.upstreamW.Write(paramTypes)
	return nil
}

// forwardFunctionCall handles the fast-path FunctionCall. It calls a function by OID
// with no SQL to check, so only roles that see everything may use it; for everyone
// else it is refused like a statement (an ErrorResponse, then ReadyForQuery).
func (s *Session) forwardFunctionCall(fr *frameReader, n int) error {
	cycle := s.cycles.Add(1)
	snap := s.srv.snapshot.Load()
	var d *rewriter.Denial
	if s.aud != nil {
		d = s.auditFunctionCall(snap, cycle)
	} else if !snap.policy.Unrestricted(s.role) {
		d = functionCallDenial(s.role)
	}
	if d == nil {
		s.stats().allowed.Inc()
		return copyFrame(s.upstreamW, s.clientR, 'F', n)
	}
	if _, err := fr.r.Discard(n); err != nil {
		return err
	}
	s.writeQuery(s.srv.denialStatement(s.denials.add(d, cycle)))
	return nil
}

func functionCallDenial(role string) *rewriter.Denial {
	return &rewriter.Denial{
		Code:    rewriter.CodeInsufficientPrivilege,
		Message: fmt.Sprintf("the fast-path function call interface is not available to role %q", role),
		Hint:    "Call the function in a SQL statement instead.",
	}
}
