package rewriter

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Settings and transaction control. pgmask pins the settings its checks depend on
// (search_path above all: name resolution must stay what pgmask resolved against),
// and the proxy pins read-only mode for read-only roles. So SET and RESET are allowed
// only for a fixed list of harmless settings — fail closed: a setting pgmask does not
// know is refused. SET ROLE, SET SESSION AUTHORIZATION and SET search_path are
// refused because they are not on the list.
//
// RESET ALL and DISCARD ALL return every setting to its session default. That keeps
// the pins only if the proxy pins them as session defaults (startup parameters), not
// with SET; the proxy does so.

// harmlessSettings may be changed by restricted roles. The values of the ones mapped
// to true are checked further by checkSettingValue.
var harmlessSettings = map[string]bool{
	"application_name": false, "client_encoding": true, "datestyle": false,
	"timezone": false, "intervalstyle": false, "extra_float_digits": false,
	"statement_timeout": false, "lock_timeout": false,
	"idle_in_transaction_session_timeout": false, "idle_session_timeout": false,
	"client_min_messages": true, "bytea_output": false, "work_mem": false,
	"transaction_isolation": false, "transaction_deferrable": false,
	"standard_conforming_strings": true, "transaction_read_only": true,
}

func (rw *rewrite) setStmt(v *pg_query.VariableSetStmt) *Denial {
	switch v.Kind {
	case pg_query.VariableSetKind_VAR_RESET_ALL:
		return nil
	case pg_query.VariableSetKind_VAR_SET_MULTI:
		// SET TRANSACTION ... and SET SESSION CHARACTERISTICS AS TRANSACTION ...
		if v.Name != "TRANSACTION" && v.Name != "SESSION CHARACTERISTICS" {
			return settingRefused(strings.ToLower(v.Name), rw.role.name)
		}
		return rw.transactionOptions(v.Args)
	case pg_query.VariableSetKind_VAR_SET_VALUE, pg_query.VariableSetKind_VAR_SET_DEFAULT,
		pg_query.VariableSetKind_VAR_SET_CURRENT, pg_query.VariableSetKind_VAR_RESET:
		name := strings.ToLower(v.Name)
		checked, ok := harmlessSettings[name]
		if !ok {
			return settingRefused(name, rw.role.name)
		}
		if checked && v.Kind == pg_query.VariableSetKind_VAR_SET_VALUE && !rw.settingValueOK(name, v.Args) {
			return settingRefused(name, rw.role.name)
		}
		return nil
	}
	return unsupported("this kind of SET", rw.role.name)
}

// settingValueOK: standard_conforming_strings only on (off would change how pgmask's
// and PostgreSQL's scanners read string literals); transaction_read_only only on for
// read-only roles; client_encoding only an ASCII-safe encoding (see asciiSafeEncoding);
// client_min_messages no lower than notice, because LOG and DEBUG messages can quote
// the statement PostgreSQL runs (log_statement, log_min_duration_statement), which is
// pgmask's rewrite with the role's row filters and the keys of its keyed transforms.
func (rw *rewrite) settingValueOK(name string, args []*pg_query.Node) bool {
	rw.readValue = true
	on := len(args) == 1 && truthy(args[0])
	switch name {
	case "standard_conforming_strings":
		return on
	case "transaction_read_only":
		return on || !rw.role.readOnly
	case "client_encoding":
		v, ok := settingWord(args)
		return ok && asciiSafeEncoding(v)
	case "client_min_messages":
		v, ok := settingWord(args)
		switch strings.ToLower(v) {
		case "notice", "warning", "error":
			return ok
		}
	}
	return false
}

// settingWord is the value of a one-word SET, written as a name or a string.
func settingWord(args []*pg_query.Node) (string, bool) {
	if len(args) != 1 {
		return "", false
	}
	if s := args[0].GetAConst().GetSval(); s != nil {
		return s.Sval, true
	}
	return "", false
}

// asciiSafeEncoding reports whether a client_encoding value names an encoding in which
// every byte below 0x80 is the ASCII character it looks like: UTF8 and the encodings
// PostgreSQL allows as server encodings. In the client-only ones (SJIS, BIG5, GBK, UHC,
// GB18030, JOHAB, SHIFT_JIS_2004) an ASCII byte such as a backslash can be the second
// byte of a multibyte character, so PostgreSQL would split a statement into tokens
// differently than pgmask's parser did: E'<0x81>\' ; SELECT ssn FROM … is one string
// constant to pgmask and two statements to PostgreSQL. Names are matched the way
// PostgreSQL matches them (case and punctuation ignored); unknown names are refused.
func asciiSafeEncoding(name string) bool {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	switch n := b.String(); n {
	case "utf8", "unicode", "sqlascii", "euccn", "eucjp", "euckr", "euctw", "eucjis2004",
		"muleinternal", "koi8", "koi8r", "koi8u", "alt", "win", "abc", "tcvn", "tcvn5712", "vscii",
		"win866", "win874", "windows866", "windows874":
		return true
	default:
		for _, family := range []string{"latin", "iso8859", "win125", "windows125"} {
			if rest, ok := strings.CutPrefix(n, family); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}

// truthy reports whether a constant is one of PostgreSQL's spellings of true.
func truthy(n *pg_query.Node) bool {
	c := n.GetAConst()
	if c == nil {
		return false
	}
	switch {
	case c.GetBoolval() != nil:
		return c.GetBoolval().Boolval
	case c.GetIval() != nil:
		return c.GetIval().Ival != 0
	case c.GetSval() != nil:
		switch strings.ToLower(c.GetSval().Sval) {
		case "on", "true", "yes", "1", "t", "y":
			return true
		}
	}
	return false
}

// transactionOptions checks BEGIN/START TRANSACTION/SET TRANSACTION options: READ
// WRITE is refused for read-only roles; SNAPSHOT is refused (it imports another
// session's snapshot).
func (rw *rewrite) transactionOptions(opts []*pg_query.Node) *Denial {
	for _, o := range opts {
		de := o.GetDefElem()
		if de == nil {
			return unsupported("this transaction option", rw.role.name)
		}
		switch de.Defname {
		case "transaction_isolation", "transaction_deferrable":
		case "transaction_read_only":
			if rw.role.readOnly && !truthy(de.Arg) {
				return readOnlyRefused("READ WRITE", rw.role.name)
			}
		default:
			return settingRefused(de.Defname, rw.role.name)
		}
	}
	return nil
}

func (rw *rewrite) transactionStmt(t *pg_query.TransactionStmt) *Denial {
	switch t.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		return rw.transactionOptions(t.Options)
	case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE, pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED,
		pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return neverAllowed("two-phase commit", rw.role.name)
	}
	return nil
}
