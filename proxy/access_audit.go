package proxy

import (
	"time"

	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/rewriter"
)

// The audit records of access changes (access.go). Each is written when the change is
// made, before the statement that caused it is answered.

// who is the session as the audit log names it now: identity() plus the purpose,
// break-glass state and data use agreement of the role it runs under.
func (s *Session) who() audit.Session {
	id := s.identity()
	id.Role = s.role
	id.Purpose = s.access.purpose
	id.BreakGlass = s.access.elevated()
	if s.snap != nil {
		id.DataUseAgreement = s.snap.cfg.Roles[s.role].DataUseAgreement
	}
	return id
}

func (s *Session) auditLog(r audit.Record) {
	if s.aud != nil {
		s.aud.log.Log(r)
	}
}

func (s *Session) auditPurposeChange(previous string) {
	s.auditLog(audit.PurposeChange(s.who(), previous))
}

func (s *Session) auditBreakGlassStart(justification string, until time.Time) {
	s.auditLog(audit.BreakGlassStart(s.who(), justification, until))
}

// auditBreakGlassEnd is called before the elevation ends, so the record names the
// elevated role.
func (s *Session) auditBreakGlassEnd(reason string) {
	s.auditLog(audit.BreakGlassEnd(s.who(), reason))
}

func (s *Session) auditExpiry(reason string) {
	s.auditLog(audit.Expiry(s.who(), reason))
}

// auditSessionDenial records a refused session command like any refused statement.
func (s *Session) auditSessionDenial(cmd *rewriter.SessionCommand, d *rewriter.Denial) {
	if s.aud == nil {
		return
	}
	name := "pgmask"
	if cmd != nil {
		name = cmd.Name()
	}
	q := audit.Query{SQL: audit.Normalize("SET " + name + " = ''"), Kind: "SET", PolicyVersion: s.snap.policy.Version}
	s.aud.log.Log(audit.Denial(s.who(), q, d.Message, d.Code))
}

// roleChanged makes the records of later statements name the session's new role.
func (s *Session) roleChanged() {
	if s.aud != nil {
		s.aud.setWho(s.who())
	}
}
