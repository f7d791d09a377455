package proxy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/rewriter"
)

// Access: which role a session's statements run under, and until when.
//
// A user logs in with its role (users.X.role). Declaring a purpose of use
// (SET pgmask.purpose, or -c pgmask.purpose=... in the startup options) switches to the
// role users.X.purposes maps it to; break-glass (SET pgmask.break_glass) elevates to
// users.X.break_glass.role for at most its max, then falls back by itself. Expiry of the
// user or of a role it runs under ends the session at its next statement.
//
// A role switch happens only between statements, with nothing pending and outside a
// transaction block, and discards the session's prepared statements and cursors
// upstream (DEALLOCATE ALL, CLOSE ALL): they were checked under the previous role and
// would otherwise keep running its rewrite — raw data, after a break-glass ends.

// access is the pump's view of a session's purpose and break-glass state.
type access struct {
	baseRole    string // users.X.role
	purpose     string // the declared purpose, "" when none
	purposeRole string // the role the purpose maps to
	glassRole   string // the break-glass role while elevated
	glassUntil  time.Time
}

func (a *access) elevated() bool { return a.glassRole != "" }

// role is the role statements run under now.
func (a *access) role() string {
	switch {
	case a.elevated():
		return a.glassRole
	case a.purpose != "":
		return a.purposeRole
	}
	return a.baseRole
}

// internalReset is what pgmask sends upstream, as an internal cycle, when the session's
// role changes: statements and cursors prepared under the previous role must not run.
const internalReset = "DEALLOCATE ALL; CLOSE ALL"

// startAccess sets up the session's access after authentication: the user's role, and
// the purpose the startup options declare. Any problem refuses the login.
func (s *Session) startAccess(snap *snapshot) error {
	s.access = access{baseRole: s.role}
	if d := s.expired(snap, s.srv.now()); d != "" {
		return fatalf(codeInvalidAuthorization, d, "Ask the DBA to renew the access in pgmask.toml.")
	}
	purpose, err := startupPurpose(s.params["options"])
	if err != nil {
		return err
	}
	if purpose == "" {
		return nil
	}
	role, d := s.purposeRole(snap, purpose)
	if d != nil {
		return fatalf(d.Code, d.Message, d.Hint)
	}
	s.access.purpose, s.access.purposeRole = purpose, role
	s.role = s.access.role()
	return nil
}

// startupPurpose finds pgmask.purpose in the startup options ("-c pgmask.purpose=x" or
// "--pgmask.purpose=x", as PGOPTIONS passes them). Every other option is ignored, as
// before: pgmask never forwards options.
func startupPurpose(options string) (string, error) {
	fields := strings.Fields(options)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "-c" && i+1 < len(fields):
			i++
			f = fields[i]
		case strings.HasPrefix(f, "-c"):
			f = f[2:]
		case strings.HasPrefix(f, "--"):
			f = f[2:]
		default:
			continue
		}
		name, value, ok := strings.Cut(f, "=")
		name = strings.ToLower(strings.ReplaceAll(name, "-", "_"))
		if !strings.HasPrefix(name, "pgmask.") {
			continue
		}
		if name != "pgmask.purpose" || !ok {
			return "", fatalf(rewriter.CodeFeatureNotSupported, fmt.Sprintf("startup option %q is not supported", name),
				"Only pgmask.purpose may be set in the startup options.")
		}
		return value, nil
	}
	return "", nil
}

// purposeRole returns the role purpose gives the session's user, or why it may not.
func (s *Session) purposeRole(snap *snapshot, purpose string) (string, *rewriter.Denial) {
	user := snap.cfg.Users[s.user]
	role, ok := user.Purposes[purpose]
	if !ok {
		allowed := "none"
		if len(user.Purposes) > 0 {
			allowed = strings.Join(sortedPurposes(user.Purposes), ", ")
		}
		return "", &rewriter.Denial{Code: rewriter.CodeInsufficientPrivilege,
			Message: fmt.Sprintf("purpose %q is not allowed for user %q", purpose, s.user),
			Hint:    fmt.Sprintf("Purposes allowed for this user: %s. Ask the DBA to add it to users.%s.purposes in pgmask.toml.", allowed, s.user)}
	}
	if !snap.policy.HasRole(role) {
		return "", &rewriter.Denial{Code: rewriter.CodeInsufficientPrivilege,
			Message: fmt.Sprintf("purpose %q maps to role %q, which the pgmask policy does not define", purpose, role),
			Hint:    "Ask the DBA to check pgmask.toml."}
	}
	return role, nil
}

func sortedPurposes(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for p := range m {
		names = append(names, p)
	}
	slices.Sort(names)
	return names
}

// expired says why the session's access has ended at now, or "" when it has not: the
// user's expiry, or that of a role it runs under (its own, or the purpose or
// break-glass role, whose data use agreement may end first).
func (s *Session) expired(snap *snapshot, now time.Time) string {
	if at, ok := snap.cfg.Users[s.user].ExpiresAt(); ok && !now.Before(at) {
		return fmt.Sprintf("access for user %q expired at %s", s.user, formatTime(at))
	}
	for _, role := range []string{s.access.baseRole, s.role} {
		r := snap.cfg.Roles[role]
		if at, ok := r.ExpiresAt(); ok && !now.Before(at) {
			msg := fmt.Sprintf("access of role %q expired at %s", role, formatTime(at))
			if r.DataUseAgreement != "" {
				msg += fmt.Sprintf(" (end of data use agreement %s)", r.DataUseAgreement)
			}
			return msg
		}
	}
	return ""
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// checkAccess runs before every statement-bearing message (Query, Parse, Bind,
// Execute, FunctionCall). It ends the session when a reload changed its role or user,
// or when its access expired; and it ends a break-glass elevation whose time is up.
// unsynced is true inside an extended-protocol batch.
func (s *Session) checkAccess(unsynced bool) error {
	if err := s.samePolicy(); err != nil {
		return err
	}
	snap := s.snap
	now := s.srv.now()
	if why := s.expired(snap, now); why != "" {
		s.auditExpiry(why)
		return fatalf(codeInvalidAuthorization, why, "The session can only disconnect. Ask the DBA to renew the access in pgmask.toml.")
	}
	if s.access.elevated() && !now.Before(s.access.glassUntil) {
		if unsynced || !s.idle() {
			// The role cannot change in the middle of a batch or pipeline (its
			// statements were checked under the elevated role).
			return fatalf(codeAdminShutdown, fmt.Sprintf("break-glass access ended at %s", formatTime(s.access.glassUntil)),
				"The session was in the middle of a batch; reconnect.")
		}
		until := s.access.glassUntil
		s.endBreakGlass("expired")
		s.inband.push(inbandItem{cycle: s.cycles.Load() + 1, notice: notice(
			fmt.Sprintf("break-glass access ended at %s; back to role %q", formatTime(until), s.role),
			"Statements and cursors prepared during the elevation were discarded.")})
	}
	return nil
}

// idle reports whether the upstream has answered everything and is not in a failed
// transaction, so pgmask can run an internal statement before the next one.
func (s *Session) idle() bool {
	st := byte(s.txStatus.Load())
	return s.cycles.Load() == s.readies.Load() && st != 'E'
}

// idleOutsideTransaction is idle, outside a transaction block.
func (s *Session) idleOutsideTransaction() bool {
	st := byte(s.txStatus.Load())
	return s.cycles.Load() == s.readies.Load() && (st == 'I' || st == 0)
}

// switchRole makes role the session's role. What was prepared under the previous role
// must not run under the new one, so pgmask, in internal cycles sent ahead of whatever
// comes next, discards every prepared statement and cursor upstream and prepares the
// protocol-level named statements it saw again, rewritten for the new role: drivers
// with statement caches (pgx, pgjdbc) keep working and get the new role's view. A
// statement the new role may not run is not prepared again; its next use fails, and
// the driver's Parse of it gets the new role's refusal.
func (s *Session) switchRole(role string) {
	if role == s.role {
		return
	}
	s.role = role
	s.roleChanged()
	cycle := s.cycles.Add(1)
	s.inband.push(inbandItem{cycle: cycle, internal: true})
	if s.aud != nil {
		s.aud.push(op{kind: opQuery, cycle: cycle})
	}
	s.writeQuery(internalReset)
	if len(s.prepared) > 0 {
		s.prepareAgain()
	}
}

// preparedStatement is a protocol-level named statement as the client sent it.
type preparedStatement struct {
	sql        string
	paramTypes []byte // the parameter type part of the Parse message
}

// maxRememberedStatements bounds the named statements a session remembers; beyond it
// pgmask forgets them all, and a role switch then only discards them.
const maxRememberedStatements = 4096

// track remembers a named statement the client prepared.
func (s *Session) track(name, sql, paramTypes []byte) {
	if len(name) == 0 {
		return
	}
	if s.prepared == nil || len(s.prepared) >= maxRememberedStatements {
		s.prepared = make(map[string]preparedStatement)
	}
	s.prepared[string(name)] = preparedStatement{sql: string(sql), paramTypes: append([]byte(nil), paramTypes...)}
}

// untrack forgets the statement a Close message of n bytes, not yet read, closes.
func (s *Session) untrack(n int) {
	if len(s.prepared) == 0 || n > readBufferSize {
		return
	}
	b, err := s.clientR.Peek(n)
	if err != nil || len(b) < 2 || b[0] != 'S' {
		return
	}
	if name, _, ok := cstring(b[1:]); ok {
		delete(s.prepared, string(name))
	}
}

// prepareAgain sends Parse for every tracked statement, rewritten for the session's
// role, and a Sync, as one internal cycle.
func (s *Session) prepareAgain() {
	snap, now := s.snap, s.srv.now()
	s.inband.push(inbandItem{cycle: s.cycles.Load() + 1, internal: true})
	for name, p := range s.prepared {
		res := s.rewrite(snap, p.sql, now)
		if res.Denial != nil {
			delete(s.prepared, name)
			continue
		}
		if s.aud != nil {
			res = s.auditParse(snap, []byte(name), p.sql)
		}
		sql := p.sql
		if !res.Unchanged {
			sql = res.SQL
		}
		writeHeader(s.upstreamW, 'P', len(name)+1+len(sql)+1+len(p.paramTypes))
		s.upstreamW.WriteString(name)
		s.upstreamW.WriteByte(0)
		s.upstreamW.WriteString(sql)
		s.upstreamW.WriteByte(0)
		s.upstreamW.Write(p.paramTypes)
	}
	writeHeader(s.upstreamW, 'S', 0)
	s.cycles.Add(1)
}

// endBreakGlass ends an elevation and returns the session to its purpose's or own role.
func (s *Session) endBreakGlass(reason string) {
	s.auditBreakGlassEnd(reason)
	s.access.glassRole, s.access.glassUntil = "", time.Time{}
	s.srv.metrics.breakGlass.Dec()
	s.switchRole(s.access.role())
}

// sessionQuery carries out a session command sent in a simple Query (a denial when the
// rewriter refused it). Its reply comes from the upstream like any other: a SET (or
// RESET) of the same placeholder setting, which PostgreSQL answers with "SET" in the
// right transaction state, or a SELECT of the value for SHOW.
func (s *Session) sessionQuery(cmd *rewriter.SessionCommand, d *rewriter.Denial) {
	var upstream string
	if d == nil {
		upstream, d = s.sessionCommand(cmd)
	}
	cycle := s.cycles.Add(1)
	if s.aud != nil {
		s.aud.push(op{kind: opQuery, cycle: cycle})
	}
	if d != nil {
		s.auditSessionDenial(cmd, d)
		upstream = s.srv.denialStatement(s.denials.add(d, cycle))
	}
	s.writeQuery(upstream)
}

// sessionCommand applies cmd and returns the statement to send upstream in its place.
func (s *Session) sessionCommand(cmd *rewriter.SessionCommand) (string, *rewriter.Denial) {
	if cmd.Verb == rewriter.SessionShow {
		return showStatement(cmd.Name(), s.show(cmd.Setting)), nil
	}
	if !s.idleOutsideTransaction() {
		return "", &rewriter.Denial{Code: rewriter.CodeActiveSQLTransaction,
			Message: fmt.Sprintf("%s cannot be changed inside a transaction block", cmd.Name()),
			Hint:    "Change it between transactions: it changes the role every later statement runs under."}
	}
	snap := s.snap
	switch {
	case cmd.Setting == rewriter.SettingPurpose && cmd.Verb == rewriter.SessionSet:
		role, d := s.purposeRole(snap, cmd.Value)
		if d != nil {
			return "", d
		}
		previous := s.access.purpose
		s.access.purpose, s.access.purposeRole = cmd.Value, role
		s.switchRole(s.access.role())
		s.auditPurposeChange(previous)
		return "SET pgmask.purpose = " + quoteLiteral(cmd.Value), nil
	case cmd.Setting == rewriter.SettingPurpose:
		previous := s.access.purpose
		s.access.purpose, s.access.purposeRole = "", ""
		s.switchRole(s.access.role())
		if previous != "" {
			s.auditPurposeChange(previous)
		}
		return "RESET pgmask.purpose", nil
	case cmd.Verb == rewriter.SessionSet:
		return s.breakGlass(snap, cmd.Value)
	default:
		if s.access.elevated() {
			s.endBreakGlass("ended by user")
		}
		return "RESET pgmask.break_glass", nil
	}
}

// breakGlass starts an emergency elevation with the user's justification.
func (s *Session) breakGlass(snap *snapshot, justification string) (string, *rewriter.Denial) {
	bg := snap.cfg.Users[s.user].BreakGlass
	switch {
	case bg == nil:
		return "", &rewriter.Denial{Code: rewriter.CodeInsufficientPrivilege,
			Message: fmt.Sprintf("user %q may not use break-glass access", s.user),
			Hint:    fmt.Sprintf("Ask the DBA to set users.%s.break_glass in pgmask.toml.", s.user)}
	case s.access.elevated():
		return "", &rewriter.Denial{Code: rewriter.CodeInsufficientPrivilege,
			Message: fmt.Sprintf("break-glass access is already active until %s", formatTime(s.access.glassUntil)),
			Hint:    "RESET pgmask.break_glass ends it; a new elevation needs a new justification."}
	case len([]rune(strings.TrimSpace(justification))) < config.MinJustification:
		return "", &rewriter.Denial{Code: rewriter.CodeInvalidParameter,
			Message: fmt.Sprintf("break-glass access needs a justification of at least %d characters", config.MinJustification),
			Hint:    "Say why in words a reviewer will understand, without patient identifiers: SET pgmask.break_glass = 'why'."}
	case !snap.policy.HasRole(bg.Role):
		return "", &rewriter.Denial{Code: rewriter.CodeInsufficientPrivilege,
			Message: fmt.Sprintf("break-glass role %q is not defined in the pgmask policy", bg.Role),
			Hint:    "Ask the DBA to check pgmask.toml."}
	}
	until := s.srv.now().Add(bg.Max.Duration)
	s.access.glassRole, s.access.glassUntil = bg.Role, until
	s.srv.metrics.breakGlass.Inc()
	s.switchRole(s.access.role())
	s.auditBreakGlassStart(strings.TrimSpace(justification), until)
	s.inband.push(inbandItem{cycle: s.cycles.Load() + 1, notice: notice(
		fmt.Sprintf("break-glass access as role %q until %s", bg.Role, formatTime(until)),
		"Every statement is audited with your justification. RESET pgmask.break_glass ends it early.")})
	return "SET pgmask.break_glass = 'on'", nil
}

// show is the value of a pgmask setting, as SHOW reports it.
func (s *Session) show(setting string) string {
	switch setting {
	case rewriter.SettingRole:
		return s.role
	case rewriter.SettingPurpose:
		if s.access.purpose == "" {
			return "none"
		}
		return s.access.purpose
	}
	if s.access.elevated() {
		return "on until " + formatTime(s.access.glassUntil)
	}
	return "off"
}

// showStatement answers SHOW name with value: a one-row, one-column text result named
// like PostgreSQL's SHOW result.
func showStatement(name, value string) string {
	return "SELECT " + quoteLiteral(value) + "::text AS " + quoteIdent(name)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func quoteIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// userChanged reports whether a reload changed anything of the user's own entry
// (purposes, break-glass, expiry, role), which decides what the session may become.
func userChanged(a, b *config.Config, user string) bool {
	return !reflect.DeepEqual(a.Users[user], b.Users[user])
}
