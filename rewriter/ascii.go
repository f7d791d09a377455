package rewriter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// Statements a restricted role sends upstream are pure ASCII.
//
// pgmask parses the client's bytes as UTF-8, but PostgreSQL first decodes them in the
// session's client_encoding, which the client picks in its startup message. In the
// client-only encodings (SJIS, BIG5, GBK, UHC, GB18030, JOHAB, SHIFT_JIS_2004) an
// ASCII byte can be the second byte of a multibyte character, so the two parsers can
// disagree on where a string constant ends:
//
//	SELECT E'Á\' ; SELECT ssn FROM clinic.patients -- '
//
// is one string constant to pgmask and, in SJIS (where the last byte of "Á" and the
// backslash are one character), two statements to PostgreSQL, the second reading the
// raw table. Every encoding PostgreSQL supports reads ASCII bytes as ASCII, so a
// statement with a non-ASCII byte is never forwarded as the client wrote it: it is
// rebuilt, and the non-ASCII characters of its string constants and quoted identifiers
// are written as Unicode escapes (U&'caf\00E9', U&"\00FC"), which PostgreSQL reads the
// same in every encoding (they need standard_conforming_strings, which the proxy pins
// on). The result is parsed again and must give the same tree, or the statement is
// refused.

// isASCII reports whether s has no byte of 0x80 or more.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiOnly rewrites sql, deparsed by pgmask, with every non-ASCII character of its
// string constants and identifiers escaped.
func (rw *rewrite) asciiOnly(sql string) (string, *Denial) {
	fail := func() (string, *Denial) {
		return "", unsupported("non-ASCII text in this form", rw.role.name)
	}
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return fail()
	}
	var b strings.Builder
	last := 0
	for _, tok := range scan.Tokens {
		start, end := int(tok.Start), int(tok.End)
		if start < last || start > end || end > len(sql) {
			return fail()
		}
		text := sql[start:end]
		if isASCII(text) {
			continue
		}
		var esc string
		var ok bool
		switch tok.Token {
		case pg_query.Token_SCONST:
			esc, ok = unicodeString(text)
		case pg_query.Token_IDENT:
			esc, ok = unicodeIdent(text)
		}
		if !ok {
			return fail()
		}
		b.WriteString(sql[last:start])
		b.WriteString(esc)
		last = end
	}
	b.WriteString(sql[last:])
	out := b.String()
	if !isASCII(out) || !sameTree(sql, out) {
		return fail()
	}
	return out, nil
}

// unicodeString turns a string constant as pgmask's deparser writes it ('…' with ”
// for a quote, or E'…' with \\ and \' escapes) into a U&'…' constant of the same
// value. Other forms are not expected here and are refused.
func unicodeString(lit string) (string, bool) {
	var body string
	escapes := false
	switch {
	case len(lit) >= 3 && (lit[0] == 'E' || lit[0] == 'e') && lit[1] == '\'' && lit[len(lit)-1] == '\'':
		body, escapes = lit[2:len(lit)-1], true
	case len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'':
		body = lit[1 : len(lit)-1]
	default:
		return "", false
	}
	var v strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\'':
			if i+1 >= len(body) || body[i+1] != '\'' {
				return "", false
			}
			v.WriteByte('\'')
			i++
		case c == '\\' && escapes:
			if i+1 >= len(body) || body[i+1] != '\\' && body[i+1] != '\'' {
				return "", false
			}
			v.WriteByte(body[i+1])
			i++
		default:
			v.WriteByte(c)
		}
	}
	return unicodeEscaped("U&'", v.String(), '\'')
}

// unicodeIdent turns an identifier ("…" with "" for a quote, or unquoted, which
// PostgreSQL folds to lower case in ASCII only) into a U&"…" identifier.
func unicodeIdent(ident string) (string, bool) {
	if len(ident) >= 2 && ident[0] == '"' && ident[len(ident)-1] == '"' {
		return unicodeEscaped(`U&"`, strings.ReplaceAll(ident[1:len(ident)-1], `""`, `"`), '"')
	}
	return unicodeEscaped(`U&"`, strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, ident), '"')
}

// unicodeEscaped writes value after open, with the quote doubled, backslashes doubled
// and every non-ASCII character as \XXXX or \+XXXXXX, then the closing quote.
func unicodeEscaped(open, value string, quote byte) (string, bool) {
	if !utf8.ValidString(value) || strings.IndexByte(value, 0) >= 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString(open)
	for _, r := range value {
		switch {
		case r == rune(quote):
			b.WriteByte(quote)
			b.WriteByte(quote)
		case r == '\\':
			b.WriteString(`\\`)
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\%04X`, r)
		default:
			fmt.Fprintf(&b, `\+%06X`, r)
		}
	}
	b.WriteByte(quote)
	return b.String(), true
}

// sameTree reports whether a and b parse into the same tree, positions aside.
func sameTree(a, b string) bool {
	ta, err := pg_query.Parse(a)
	if err != nil {
		return false
	}
	tb, err := pg_query.Parse(b)
	if err != nil {
		return false
	}
	clearLocations(ta.ProtoReflect())
	clearLocations(tb.ProtoReflect())
	return proto.Equal(ta, tb)
}
