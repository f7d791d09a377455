package audit

import (
	"strings"
	"unicode/utf8"
)

// Caps on free text in a record, in bytes. Names are capped like PostgreSQL's own
// identifiers (NAMEDATALEN-1); the rest is long enough to be useful and short enough
// that no client can fill the log through one field.
const (
	maxNameBytes          = 63
	maxClientBytes        = 128
	maxReasonBytes        = 512
	maxJustificationBytes = 1024
)

// capText truncates s to at most n bytes at a rune boundary, marking the cut with "…".
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// sanitizeMessage makes a message pgmask did not fully write itself (a denial reason
// may quote the client's SQL: `syntax error at or near "'123-45-6789'"`) fit for the
// log: single-quoted text and numbers become "?", and a double-quoted token is kept
// only if it looks like an identifier (column "ssn"), otherwise it becomes "?". A
// bare word the client typed where SQL expected a literal can still come through
// quoted; that is the price of keeping column and relation names in denial reasons.
func sanitizeMessage(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			i = quotedEnd(s, i, false)
			b.WriteString("'?'")
		case c == '"':
			j := identEnd(s, i)
			if tok := s[i:j]; isIdentifierToken(tok) {
				b.WriteString(tok)
			} else {
				b.WriteString(`"?"`)
			}
			i = j
		case isDigit(c) && (i == 0 || !isIdentCont(s[i-1])):
			j := i
			for j < len(s) && (isIdentCont(s[j]) || s[j] == '.' || s[j] == '-') {
				j++
			}
			b.WriteByte('?')
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return capText(b.String(), maxReasonBytes)
}

// isIdentifierToken reports whether tok, a double-quoted token including its quotes,
// holds a plausible dotted SQL name: letters, digits, _ and $, not starting with a digit.
func isIdentifierToken(tok string) bool {
	if len(tok) < 3 || tok[len(tok)-1] != '"' || len(tok) > 2+3*maxNameBytes {
		return false
	}
	name := tok[1 : len(tok)-1]
	start := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if start {
				return false
			}
			start = true
		case start && !isIdentStart(c):
			return false
		case !isIdentCont(c):
			return false
		default:
			start = false
		}
	}
	return !start
}

// name caps a name-like field (user, role, application_name...).
func name(s string) string { return capText(s, maxNameBytes) }
