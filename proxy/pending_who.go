package proxy

import "github.com/pgmask/pgmask/proxy/audit"

// setWho changes who later records of the session name (after a role switch). Role
// switches happen only while the session is idle, so no record is being built.
func (a *sessionAudit) setWho(w audit.Session) { a.who = w }
