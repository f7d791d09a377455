package rewriter

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Session commands are the statements about the pgmask session itself, which look like
// PostgreSQL custom settings so that every client can send them:
//
//	SET pgmask.purpose = 'treatment'        RESET pgmask.purpose
//	SET pgmask.break_glass = 'justification' RESET pgmask.break_glass
//	SHOW pgmask.purpose   SHOW pgmask.role   SHOW pgmask.break_glass
//
// The proxy carries them out (it holds the session's purpose and role); the rewriter
// only recognizes them, for every role, full ones included.

// Session settings.
const (
	SettingPurpose    = "purpose"
	SettingRole       = "role"
	SettingBreakGlass = "break_glass"
)

// SessionVerb is what a session command does.
type SessionVerb int

const (
	SessionSet SessionVerb = iota + 1
	SessionReset
	SessionShow
)

// SessionCommand is one recognized session command.
type SessionCommand struct {
	Verb    SessionVerb
	Setting string // SettingPurpose, SettingRole or SettingBreakGlass
	Value   string // for SessionSet: the value as given
}

// Name is the setting as clients write it ("pgmask.purpose").
func (c *SessionCommand) Name() string { return sessionPrefix + c.Setting }

const sessionPrefix = "pgmask."

// SQLSTATE codes of session command errors, as PostgreSQL uses them for settings.
const (
	CodeUndefinedObject      = "42704" // unrecognized configuration parameter
	CodeCantChangeRuntime    = "55P02" // parameter cannot be changed now
	CodeInvalidParameter     = "22023" // invalid_parameter_value
	CodeActiveSQLTransaction = "25001"
)

// SessionCommandOf reports whether sql is, or contains, a pgmask session command. ok is
// false for every other statement string, which then goes through Rewrite as usual.
// When ok, exactly one of cmd and d is set: d refuses a command pgmask cannot carry
// out (SET LOCAL, pgmask.role, an unknown pgmask setting, a command mixed with other
// statements in one string). Strings that cannot mention pgmask are recognized
// without parsing, so the check costs next to nothing on the hot path.
func SessionCommandOf(sql string) (cmd *SessionCommand, d *Denial, ok bool) {
	if !MayBeSessionCommand(sql) {
		return nil, nil, false
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, nil, false // Rewrite reports the syntax error
	}
	found := -1
	for i, s := range tree.Stmts {
		if _, ok := sessionSetting(s.Stmt); ok {
			found = i
			break
		}
	}
	if found < 0 {
		return nil, nil, false
	}
	if len(tree.Stmts) != 1 {
		return nil, &Denial{Code: CodeFeatureNotSupported,
			Message: "pgmask session commands must be sent alone, not with other statements in one query string",
			Hint:    "Send SET, RESET or SHOW of pgmask settings as a statement of its own."}, true
	}
	cmd, d = sessionCommand(tree.Stmts[0].Stmt)
	return cmd, d, true
}

// sessionSetting returns the pgmask setting a SET, RESET or SHOW statement names.
func sessionSetting(n *pg_query.Node) (string, bool) {
	var name string
	switch {
	case n.GetVariableSetStmt() != nil:
		name = n.GetVariableSetStmt().Name
	case n.GetVariableShowStmt() != nil:
		name = n.GetVariableShowStmt().Name
	default:
		return "", false
	}
	name = strings.ToLower(name)
	if !strings.HasPrefix(name, sessionPrefix) {
		return "", false
	}
	return strings.TrimPrefix(name, sessionPrefix), true
}

func sessionCommand(n *pg_query.Node) (*SessionCommand, *Denial) {
	setting, _ := sessionSetting(n)
	switch setting {
	case SettingPurpose, SettingRole, SettingBreakGlass:
	default:
		return nil, &Denial{Code: CodeUndefinedObject,
			Message: fmt.Sprintf("unrecognized configuration parameter %q", sessionPrefix+setting),
			Hint:    "pgmask knows pgmask.purpose, pgmask.role and pgmask.break_glass."}
	}
	if n.GetVariableShowStmt() != nil {
		return &SessionCommand{Verb: SessionShow, Setting: setting}, nil
	}
	v := n.GetVariableSetStmt()
	if v.IsLocal {
		return nil, &Denial{Code: CodeFeatureNotSupported,
			Message: fmt.Sprintf("SET LOCAL %s is not supported", sessionPrefix+setting),
			Hint:    "pgmask settings last for the session: use SET, and RESET to end them."}
	}
	if setting == SettingRole {
		return nil, &Denial{Code: CodeCantChangeRuntime,
			Message: fmt.Sprintf("parameter %q cannot be changed", sessionPrefix+setting),
			Hint:    "The role follows from your user, its purpose of use (SET pgmask.purpose) and break-glass (SET pgmask.break_glass)."}
	}
	switch v.Kind {
	case pg_query.VariableSetKind_VAR_RESET, pg_query.VariableSetKind_VAR_SET_DEFAULT:
		return &SessionCommand{Verb: SessionReset, Setting: setting}, nil
	case pg_query.VariableSetKind_VAR_SET_VALUE:
		if value, ok := settingWord(v.Args); ok {
			return &SessionCommand{Verb: SessionSet, Setting: setting, Value: value}, nil
		}
	}
	return nil, &Denial{Code: CodeInvalidParameter,
		Message: fmt.Sprintf("parameter %q requires a single string value", sessionPrefix+setting),
		Hint:    fmt.Sprintf("Write it as SET %s = 'value'.", sessionPrefix+setting)}
}

// MayBeSessionCommand reports whether sql could hold a session command (it mentions
// pgmask, in any case). When it is false, SessionCommandOf is certain to say no; the
// proxy asks it of the message bytes, before making them a string.
func MayBeSessionCommand[T string | []byte](sql T) bool { return containsFold(sql, "pgmask") }

// containsFold reports whether s contains the lowercase ASCII word sub, in any case.
func containsFold[T string | []byte](s T, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 != sub[0] {
			continue
		}
		j := 1
		for j < len(sub) && s[i+j]|0x20 == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
