package proxy

import "github.com/pgmask/pgmask/proxy/audit"

// whom is who the session's records name now. The relay reads it when it records a
// statement, the pump changes it when the session's role changes (access.go), so it is
// an atomic pointer; role changes happen only while the session is idle, so no
// statement is recorded under the wrong identity.
func (a *sessionAudit) whom() audit.Session { return *a.who.Load() }

// setWho makes later records name w.
func (a *sessionAudit) setWho(w audit.Session) { a.who.Store(&w) }
