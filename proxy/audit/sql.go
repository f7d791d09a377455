package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SQL is statement text fit for the audit log: every literal replaced by "?", every
// comment dropped, whitespace collapsed. Only Normalize makes one, so a caller cannot
// hand a record raw SQL by mistake: the type system stands between PHI typed into a
// WHERE clause and the log.
//
// Making an SQL costs one pass over the text; sessions may compute it once per cached
// statement (e.g. at Parse) and reuse it.
type SQL struct {
	text, fingerprint string
}

// maxSQLBytes caps the normalized text in a record. The fingerprint is computed on the
// whole text, so truncated statements still group correctly.
const maxSQLBytes = 16 << 10

// Normalize returns the audit form of sql, a statement string as a client sent it.
//
// It is a lexical scrub, not a parse, and errs towards removing too much: quoted
// strings of every kind ('x', E'x', B'x', X'x', N'x', U&'x', $$x$$), numbers
// and comments are replaced, and text after an unterminated quote or comment is
// dropped. It follows PostgreSQL's lexer with standard_conforming_strings on, which the
// proxy pins on every upstream session. Identifiers, keywords, operators and
// parameter symbols ($1) are kept. Quoted identifiers are kept too: they are schema
// names, not data (a client that types PHI as a column alias puts it there itself).
func Normalize(sql string) SQL {
	text := scrub(sql)
	sum := sha256.Sum256([]byte(strings.ToLower(text)))
	return SQL{text: capText(text, maxSQLBytes), fingerprint: hex.EncodeToString(sum[:8])}
}

// String returns the normalized text.
func (q SQL) String() string { return q.text }

// Fingerprint identifies statements of the same shape: 16 hex digits of the SHA-256 of
// the normalized text, case folded. Statements that differ only in literals, comments,
// whitespace or keyword case share it.
func (q SQL) Fingerprint() string { return q.fingerprint }

// scrub is the lexer behind Normalize. It is deliberately not rewriter/normalize, whose
// lexer refuses whatever it cannot read exactly (the rewrite cache then takes the slow
// path): the audit log must get a record for every statement, so this one never
// refuses and drops what it cannot read instead.
func scrub(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // whitespace or a comment was skipped since the last token
	emit := func(tok string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(tok)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
			i++
		case c == '-' && at(s, i+1) == '-':
			i = lineCommentEnd(s, i)
			space = true
		case c == '/' && at(s, i+1) == '*':
			i = blockCommentEnd(s, i)
			space = true
		case c == '\'':
			i = quotedEnd(s, i, false)
			emit("?")
		case c == '"':
			j := identEnd(s, i)
			emit(s[i:j])
			i = j
		case c == '$':
			j, literal := dollarEnd(s, i)
			if literal {
				emit("?")
			} else {
				emit(s[i:j])
			}
			i = j
		case c == '.' && at(s, i+1) == '.': // the ".." token, never a number
			emit("..")
			i += 2
		case isDigit(c) || c == '.' && isDigit(at(s, i+1)):
			i = numberEnd(s, i)
			emit("?")
		case isIdentStart(c):
			j := wordEnd(s, i)
			word := s[i:j]
			switch {
			case at(s, j) == '\'' && isStringPrefix(word):
				// E'...' takes backslash escapes; B'', X'', N'' do not. PostgreSQL
				// reads N'...' as the keyword NCHAR and a string: keep the N.
				i = quotedEnd(s, j, word == "e" || word == "E")
				if word == "n" || word == "N" {
					emit(word)
				}
				emit("?")
			case (word == "u" || word == "U") && at(s, j) == '&' && at(s, j+1) == '\'':
				i = quotedEnd(s, j+1, false)
				emit("?")
			case (word == "u" || word == "U") && at(s, j) == '&' && at(s, j+1) == '"':
				k := identEnd(s, j+1)
				emit(s[i:k])
				i = k
			default:
				emit(word)
				i = j
			}
		default:
			emit(s[i : i+1])
			i++
		}
	}
	return b.String()
}

// at returns s[i], or 0 past the end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentStart follows PostgreSQL's ident_start: letters, _, and any non-ASCII byte.
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

func isStringPrefix(w string) bool {
	switch w {
	case "e", "E", "b", "B", "x", "X", "n", "N":
		return true
	}
	return false
}

func wordEnd(s string, i int) int {
	for i++; i < len(s) && isIdentCont(s[i]); i++ {
	}
	return i
}

// quotedEnd returns the index after the string literal starting with the quote at i.
// A doubled quote stands for one quote; with backslash, \x escapes the next byte.
// An unterminated literal runs to the end of s.
func quotedEnd(s string, i int, backslash bool) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if backslash {
				i++
			}
		case '\'':
			if at(s, i+1) != '\'' {
				return i + 1
			}
			i++
		}
	}
	return len(s)
}

// identEnd returns the index after the quoted identifier starting at i.
func identEnd(s string, i int) int {
	for i++; i < len(s); i++ {
		if s[i] == '"' {
			if at(s, i+1) != '"' {
				return i + 1
			}
			i++
		}
	}
	return len(s)
}

// dollarEnd handles a '$' at i: a parameter symbol ($1, kept), a dollar-quoted string
// ($tag$...$tag$, a literal) or a lone '$' (kept).
func dollarEnd(s string, i int) (end int, literal bool) {
	j := i + 1
	if isDigit(at(s, j)) {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j, false
	}
	// A tag is an identifier without '$'.
	for j < len(s) && (isIdentStart(s[j]) || j > i+1 && isDigit(s[j])) {
		j++
	}
	if at(s, j) != '$' {
		return i + 1, false
	}
	tag := s[i : j+1]
	if k := strings.Index(s[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag), true
	}
	return len(s), true
}

// numberEnd returns the index after the numeric literal starting at i, as
// PostgreSQL 16 reads one: decimal integers with _ separators, 0x/0o/0b integers,
// decimals (1.5, 1., .5) and exponents (1e-3).
func numberEnd(s string, i int) int {
	if s[i] == '0' && strings.IndexByte("xXoObB", at(s, i+1)) >= 0 && i+2 < len(s) {
		j := i + 2
		for j < len(s) && (isHexDigit(s[j]) || s[j] == '_') {
			j++
		}
		return j
	}
	j := digitsEnd(s, i)
	if at(s, j) == '.' && at(s, j+1) != '.' { // "1..2" is 1 and the operator ".."
		j = digitsEnd(s, j+1)
	}
	if c := at(s, j); c == 'e' || c == 'E' {
		k := j + 1
		if c := at(s, k); c == '+' || c == '-' {
			k++
		}
		if isDigit(at(s, k)) {
			j = digitsEnd(s, k)
		}
	}
	return j
}

// digitsEnd skips decimal digits with single _ separators between them.
func digitsEnd(s string, i int) int {
	for i < len(s) && (isDigit(s[i]) || s[i] == '_' && isDigit(at(s, i+1)) && i > 0 && isDigit(s[i-1])) {
		i++
	}
	return i
}

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// lineCommentEnd skips a -- comment, which ends at a newline or carriage return.
func lineCommentEnd(s string, i int) int {
	if k := strings.IndexAny(s[i:], "\n\r"); k >= 0 {
		return i + k + 1
	}
	return len(s)
}

// blockCommentEnd skips a /* */ comment; PostgreSQL's nest.
func blockCommentEnd(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch {
		case s[i] == '/' && at(s, i+1) == '*':
			depth++
			i += 2
		case s[i] == '*' && at(s, i+1) == '/':
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(s)
}
