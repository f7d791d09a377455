package proxy

import (
	"fmt"
	"reflect"

	"github.com/pgmask/pgmask/config"
)

// samePolicy ends the session when a reload changed what its role may see, or what
// its user may become (purposes, break-glass, expiry).
//
// Statements the session prepared — protocol-level named statements (every driver's
// statement cache), SQL PREPARE, cursors WITH HOLD — live upstream as rewrites made
// under the old policy, and the client can execute them again without pgmask seeing
// any SQL. Re-checking them is not possible, so the only fail-closed answer is to end
// the session at its next statement; the client reconnects under the new policy.
// Sessions whose role did not change keep going on the new snapshot.
func (s *Session) samePolicy() error {
	cur := s.srv.snapshot.Load()
	if cur == s.snap {
		return nil
	}
	if !roleChanged(s.snap.cfg, cur.cfg, s.role) && !userChanged(s.snap.cfg, cur.cfg, s.user) {
		s.snap = cur
		return nil
	}
	return fatalf(codeAdminShutdown,
		fmt.Sprintf("terminating connection because the pgmask policy of role %q changed", s.role),
		"Reconnect: statements prepared under the previous policy cannot be reused.")
}

// roleChanged reports whether role sees anything differently under b than under a:
// its own section, the classification of any table it is granted in either, the
// masking settings, or the pinned search_path.
func roleChanged(a, b *config.Config, role string) bool {
	ra, rb := a.Roles[role], b.Roles[role]
	if !reflect.DeepEqual(ra, rb) || !reflect.DeepEqual(a.Masking, b.Masking) ||
		a.Upstream.SearchPath != b.Upstream.SearchPath {
		return true
	}
	for _, tables := range [][]string{ra.Tables, rb.Tables} {
		for _, t := range tables {
			if !reflect.DeepEqual(a.Tables[t], b.Tables[t]) {
				return true
			}
		}
	}
	return false
}
