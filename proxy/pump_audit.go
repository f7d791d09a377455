package proxy

import (
	"strconv"
	"time"

	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/rewriter"
)

// The pump's side of the audit log: what each frontend message pushes onto the FIFO
// of pending.go, and the refusals while the log cannot be written. Every op is pushed
// before its message is written upstream. Only sessions with an audit log come here.

// forwardQueryAudited is forwardQuery with the audit log: the statement is refused
// while the log is unavailable, and recorded as a denial or, when ReadyForQuery ends
// it, as a statement.
func (s *Session) forwardQueryAudited(body []byte, sql string, n int, cycle uint64) error {
	snap := s.srv.snapshot.Load()
	now := s.srv.now()
	res, st := s.auditedRewrite(snap, sql, now)
	if res.Denial != nil {
		// st is set when statements before the refused one run (Result.Before).
		s.aud.push(op{kind: opQuery, cycle: cycle, stmt: st, start: now})
		s.writeQuery(withBefore(res.Before, s.srv.denialStatement(s.denials.add(res.Denial, cycle))))
		return nil
	}
	s.aud.push(op{kind: opQuery, cycle: cycle, stmt: st, start: now})
	if res.Unchanged {
		writeHeader(s.upstreamW, 'Q', n)
		s.upstreamW.Write(body)
	} else {
		s.writeQuery(res.SQL)
	}
	return nil
}

// auditParse is the rewrite of a Parse with the audit log. The statement name is bound
// to what it runs only when PostgreSQL confirms the Parse.
func (s *Session) auditParse(snap *snapshot, name []byte, sql string) rewriter.Result {
	res, st := s.auditedRewrite(snap, sql, s.srv.now())
	s.aud.push(op{kind: opParse, cycle: s.cycles.Load() + 1, name: s.aud.intern(name), stmt: st})
	return res
}

// auditedRewrite rewrites sql, unless the audit log is unavailable, and returns the
// statement as the log records it; a refusal is recorded as a denial (and st is nil,
// unless statements before the refused one run).
func (s *Session) auditedRewrite(snap *snapshot, sql string, now time.Time) (res rewriter.Result, st *auditedStatement) {
	if why := s.auditUnavailable(); why != nil {
		return rewriter.Result{Denial: s.refuseUnaudited(deniedQuery(sql, snap), why)}, nil
	}
	res = s.rewrite(snap, sql, now)
	if d := res.Denial; d != nil {
		s.aud.log.Log(audit.Denial(s.aud.whom(), deniedQuery(sql, snap), d.Message, d.Code))
		if res.Before != "" { // what runs before the refusal discloses like any statement
			return res, s.aud.statement(sql, res, snap.policy.Version)
		}
		return res, nil
	}
	if res.Unchanged && res.Disclosures == nil && snap.policy.Unrestricted(s.role) {
		// A full role's statement is forwarded unparsed; the record still says what
		// it read when pgmask can tell (rewriter.Observe).
		if ds, ok := s.srv.cache.Observe(sql, s.context(snap, now), snap.policy, s.srv.catalog.Load()); ok {
			res.Disclosures = ds
		}
	}
	return res, s.aud.statement(sql, res, snap.policy.Version)
}

// deniedQuery is a refused statement as the log records it: it touched nothing.
func deniedQuery(sql string, snap *snapshot) audit.Query {
	norm := audit.Normalize(sql)
	return audit.Query{SQL: norm, Kind: statementKind(norm.String()), PolicyVersion: snap.policy.Version}
}

// auditFunctionCall decides a FunctionCall with the audit log; nil means forward it.
func (s *Session) auditFunctionCall(snap *snapshot, cycle uint64) *rewriter.Denial {
	q := functionCall
	q.PolicyVersion = snap.policy.Version
	var d *rewriter.Denial
	if why := s.auditUnavailable(); why != nil {
		d = s.refuseUnaudited(q, why)
	} else if !snap.policy.Unrestricted(s.role) {
		d = functionCallDenial(s.role)
		s.aud.log.Log(audit.Denial(s.aud.whom(), q, d.Message, d.Code))
	}
	if d != nil {
		s.aud.push(op{kind: opQuery, cycle: cycle})
		return d
	}
	st := &auditedStatement{query: q, decision: audit.Allowed}
	s.aud.push(op{kind: opQuery, cycle: cycle, stmt: st, start: s.aud.now()})
	return nil
}

// maxPeekedBind is how much of a Bind is peeked at for its portal and statement
// names, which come first; its parameter values (up to server.max_message_bytes) are
// streamed, not read into the session's buffer.
const maxPeekedBind = 4096

// forwardAudited forwards Bind, Execute, Describe or Close, pushing its op. Bind,
// Execute and Close are read for the names they carry; Describe is streamed. An
// Execute is refused while the audit log is unavailable: a statement prepared earlier
// would otherwise run unrecorded.
func (s *Session) forwardAudited(fr *frameReader, typ byte, n int) error {
	cycle := s.cycles.Load() + 1 // the cycle the next Sync closes
	switch typ {
	case 'D':
		s.aud.push(op{kind: opDescribe, cycle: cycle})
		return copyFrame(s.upstreamW, s.clientR, typ, n)
	case 'B':
		head, err := s.clientR.Peek(min(n, maxPeekedBind))
		if err != nil {
			return err
		}
		portal, rest, ok := cstring(head)
		name, _, ok2 := cstring(rest)
		if ok && ok2 {
			s.aud.push(op{kind: opBind, cycle: cycle, portal: s.aud.intern(portal), name: s.aud.intern(name)})
			return copyFrame(s.upstreamW, s.clientR, typ, n)
		}
		// Names longer than the peek (or a malformed Bind): read it whole.
	}
	body, err := fr.body(n)
	if err != nil {
		return err
	}
	switch typ {
	case 'B':
		portal, rest, ok := cstring(body)
		name, _, ok2 := cstring(rest)
		if !ok || !ok2 {
			return &protocolError{"malformed Bind message"}
		}
		s.aud.push(op{kind: opBind, cycle: cycle, portal: s.aud.intern(portal), name: s.aud.intern(name)})
	case 'E':
		portal, rest, ok := cstring(body)
		if !ok || len(rest) != 4 {
			return &protocolError{"malformed Execute message"}
		}
		if why := s.auditUnavailable(); why != nil {
			s.aud.push(op{kind: opExecute, cycle: cycle, refused: true})
			s.writeRefusedExecute(s.refuseUnaudited(unknownStatement.query, why), cycle)
			return nil
		}
		s.aud.push(op{kind: opExecute, cycle: cycle, name: s.aud.intern(portal), start: s.aud.now()})
	case 'C':
		if len(body) < 1 || body[0] != 'S' && body[0] != 'P' {
			return &protocolError{"malformed Close message"}
		}
		name, _, ok := cstring(body[1:])
		if !ok {
			return &protocolError{"malformed Close message"}
		}
		s.aud.push(op{kind: opClose, cycle: cycle, name: s.aud.intern(name), closePortal: body[0] == 'P'})
	}
	writeHeader(s.upstreamW, typ, n)
	s.upstreamW.Write(body)
	return nil
}

// writeRefusedExecute sends, in place of a refused Execute, a Parse of the denial
// statement (deny.go) under a statement name nobody uses: PostgreSQL fails it where
// it would have run the Execute, and the session's statements and portals stay as
// they were.
func (s *Session) writeRefusedExecute(d *rewriter.Denial, cycle uint64) {
	id := s.denials.add(d, cycle)
	sql := s.srv.denialStatement(id)
	name := s.srv.denyMarker + strconv.FormatUint(id, 10)
	writeHeader(s.upstreamW, 'P', len(name)+1+len(sql)+1+2)
	s.upstreamW.WriteString(name)
	s.upstreamW.WriteByte(0)
	s.upstreamW.WriteString(sql)
	s.upstreamW.WriteByte(0)
	s.upstreamW.Write([]byte{0, 0}) // no parameter types
}
