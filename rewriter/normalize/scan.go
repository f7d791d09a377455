package normalize

import (
	"math"
	"strings"
	"unicode/utf8"
)

// kind is the token class of a literal, mirroring PostgreSQL's scanner (see the
// package comment).
type kind uint8

const (
	kindNone     kind = iota
	kindInteger       // ICONST: decimal digits whose value fits in int32
	kindNumeric       // FCONST: 4.2, .5, 5., 1e10, or an integer too large for int32
	kindString        // SCONST: '…', E'…', $tag$…$tag$ (with continuations)
	kindUnicode       // USCONST: U&'…' with its optional UESCAPE '…' clause
	kindNational      // N'…': NCHAR followed by SCONST
	kindBit           // BCONST: B'…'
	kindHex           // XCONST: X'…'
	kindGap           // Audit only: a run of whitespace and comments
)

// newScanner returns a scanner for src. Callers keep the scanner on their stack.
func newScanner(src string, audit bool) scanner {
	// Size the overflow for one literal per 8 bytes (IN lists, VALUES), and one gap
	// per 3 bytes when auditing, so that long statements rarely regrow it.
	hint := len(src) / 8
	if audit {
		hint = len(src) / 3
	}
	return scanner{src: src, audit: audit, spans: spanList{hint: hint}}
}

// maxParam bounds $n: the extended protocol carries at most 65535 parameters, and
// PostgreSQL 15 and 16 read larger numbers differently (15 wraps around).
const maxParam = 65535

// Byte classes, from scan.l's definitions (docs: "Lexical Structure").
var (
	identStart [256]bool // ident_start: [A-Za-z\200-\377_]
	identCont  [256]bool // ident_cont: ident_start, digits and $
	dolqCont   [256]bool // dolq_cont: ident_cont without $
	opChar     [256]bool // op_chars: ~!@#^&|`?+-*/%<>=
	selfByte   [256]bool // self characters that are not op_chars: ,()[];:
)

// maxOperator is NAMEDATALEN-1: PostgreSQL rejects longer operators.
const maxOperator = 63

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		letter := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b >= 0x80
		digit := '0' <= b && b <= '9'
		identStart[c] = letter
		identCont[c] = letter || digit || b == '$'
		dolqCont[c] = letter || digit
	}
	for _, b := range []byte("~!@#^&|`?+-*/%<>=") {
		opChar[b] = true
	}
	for _, b := range []byte(",()[];:") { // and '.', handled with numbers
		selfByte[b] = true
	}
}

// commentStart reports whether a -- or /* comment starts at i.
func commentStart(src string, i int) bool {
	return i+1 < len(src) && (src[i] == '-' && src[i+1] == '-' || src[i] == '/' && src[i+1] == '*')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// scanner finds the literals of a statement. It records literal spans and, when
// auditing, the gaps (whitespace and comments) between tokens.
type scanner struct {
	src      string
	audit    bool
	spans    spanList
	maxParam int
}

// scan walks the whole statement and reports false when it cannot be normalized
// safely.
func (s *scanner) scan() bool {
	src := s.src
	n := len(src)
	// A protocol message cannot carry NUL, and C code (PostgreSQL, pg_query) would stop
	// reading there. Invalid UTF-8 is refused too: PostgreSQL checks the encoding of
	// some literals while scanning (a backslash before a non-ASCII byte in E'…'), and
	// pg_query assumes UTF8.
	if strings.IndexByte(src, 0) >= 0 || !utf8.ValidString(src) {
		return false
	}
	// Offsets are stored as int32; PostgreSQL messages are at most 1 GB anyway.
	if n >= math.MaxInt32/2 {
		return false
	}
	for i := 0; i < n; {
		c := src[i]
		switch {
		case selfByte[c]:
			i++
		case opChar[c] && !commentStart(src, i):
			// An operator runs to the next comment start.
			j := i + 1
			for j < n && opChar[src[j]] && !commentStart(src, j) {
				j++
			}
			if j-i > maxOperator {
				return false
			}
			i = j
		case isSpace(c):
			j := i + 1
			for j < n && isSpace(src[j]) {
				j++
			}
			s.gap(i, j)
			i = j
		case identStart[c]:
			j, ok := s.word(i)
			if !ok {
				return false
			}
			i = j
		case isDigit(c):
			j, ok := s.number(i)
			if !ok {
				return false
			}
			i = j
		default:
			j, ok := s.special(i)
			if !ok {
				return false
			}
			i = j
		}
	}
	return true
}

// special handles the bytes whose meaning depends on what follows them.
func (s *scanner) special(i int) (int, bool) {
	src := s.src
	n := len(src)
	c := src[i]
	var next byte
	if i+1 < n {
		next = src[i+1]
	}
	switch c {
	case '-': // scan sends - and / here only when they start a comment
		if next == '-' {
			j := lineEnd(src, i+2)
			s.gap(i, j)
			return j, true
		}
	case '/':
		if next == '*' {
			j, ok := blockCommentEnd(src, i)
			if !ok {
				return 0, false
			}
			s.gap(i, j)
			return j, true
		}
	case '.':
		if isDigit(next) {
			return s.number(i)
		}
		return i + 1, true
	case '\'':
		return s.quoted(i, i, kindString)
	case '"':
		return quotedIdentEnd(src, i+1)
	case '$':
		return s.dollar(i)
	}
	// \, {, }, control characters (including \v and NUL): PostgreSQL returns them as
	// lone tokens, which no statement can use.
	return 0, false
}

// word scans an identifier or keyword, or a literal with a letter prefix: E'…', B'…',
// X'…', N'…', U&'…' (and the identifier U&"…").
func (s *scanner) word(i int) (int, bool) {
	src := s.src
	n := len(src)
	if i+1 < n {
		switch next := src[i+1]; {
		case next == '\'':
			switch src[i] | 0x20 {
			case 'e':
				return s.quoted(i, i+1, kindString)
			case 'b':
				return s.quoted(i, i+1, kindBit)
			case 'x':
				return s.quoted(i, i+1, kindHex)
			case 'n':
				return s.quoted(i, i+1, kindNational)
			}
		case next == '&' && src[i]|0x20 == 'u' && i+2 < n:
			switch src[i+2] {
			case '\'':
				return s.quoted(i, i+2, kindUnicode)
			case '"':
				j, ok := quotedIdentEnd(src, i+3)
				if !ok {
					return 0, false
				}
				// A UESCAPE clause after U&"…" changes what the identifier means: refuse
				// rather than keep or lift its string.
				if k, _ := skipGaps(src, j); isWord(src, k, "uescape") {
					return 0, false
				}
				return j, true
			}
		}
	}
	j := i + 1
	for j < n && identCont[src[j]] {
		j++
	}
	return j, true
}

// number scans a numeric constant starting at i (a digit, or a dot before a digit).
func (s *scanner) number(i int) (int, bool) {
	src := s.src
	n := len(src)
	j := i
	for j < n && isDigit(src[j]) {
		j++
	}
	integer := true
	// "1..": PostgreSQL lexes the integer and leaves ".." (decimalfail).
	if j < n && src[j] == '.' && !(j+1 < n && src[j+1] == '.') {
		integer = false
		j++
		for j < n && isDigit(src[j]) {
			j++
		}
	}
	if j < n && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < n && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k >= n || !isDigit(src[k]) {
			return 0, false // 1e, 1e+: trailing junk in PostgreSQL 15
		}
		for k < n && isDigit(src[k]) {
			k++
		}
		integer = false
		j = k
	}
	if j < n && identStart[src[j]] {
		return 0, false // 123abc, 0x1F, 1_000: trailing junk in 15, valid or junk in 16
	}
	k := kindNumeric
	if integer && fitsInt32(src[i:j]) {
		k = kindInteger
	}
	return j, s.literal(i, j, k)
}

// fitsInt32 reports whether a string of decimal digits is at most 2147483647, the
// test PostgreSQL uses to choose between ICONST and FCONST.
func fitsInt32(digits string) bool {
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	return len(digits) < 10 || len(digits) == 10 && digits <= "2147483647"
}

// dollar scans a parameter $n or a dollar-quoted string $tag$…$tag$.
func (s *scanner) dollar(i int) (int, bool) {
	src := s.src
	n := len(src)
	j := i + 1
	if j < n && isDigit(src[j]) {
		v := 0
		for j < n && isDigit(src[j]) {
			if v = v*10 + int(src[j]-'0'); v > maxParam {
				return 0, false
			}
			j++
		}
		// $1abc is "trailing junk after parameter" in PostgreSQL 15; $1.5 and $1$2 are
		// legal but would glue onto a neighbouring literal or placeholder.
		if j < n && (identCont[src[j]] || src[j] == '.') {
			return 0, false
		}
		if v > s.maxParam {
			s.maxParam = v
		}
		return j, true
	}
	for j < n && dolqCont[src[j]] {
		j++
	}
	if j >= n || src[j] != '$' {
		return 0, false // a lone $, or $abc without a closing $
	}
	delim := src[i : j+1]
	end := strings.Index(src[j+1:], delim)
	if end < 0 {
		return 0, false
	}
	end += j + 1 + len(delim)
	// A string that follows across a newline would continue a quoted literal spliced
	// in here instead of this one (see afterString).
	if !s.afterString(end) {
		return 0, false
	}
	return end, s.literal(i, end, kindString)
}

// literal records a literal span after checking its neighbours. A literal that touches
// an identifier character, a dot, a quote, a $ or an & could merge with its neighbour
// once it is replaced by $N or once another literal of its kind is spliced in: DATE'x'
// would become the identifier DATE$1, 'a'AS the junk parameter $1AS, and U&$$a$$ with
// 'a' spliced in the Unicode string U&'a'.
func (s *scanner) literal(start, end int, k kind) bool {
	src := s.src
	if start > 0 {
		if p := src[start-1]; identCont[p] || p == '.' || p == '\'' || p == '&' {
			return false
		}
	}
	if end < len(src) {
		if c := src[end]; identCont[c] || c == '.' || c == '\'' {
			return false
		}
	}
	s.spans.add(span{start, end, k})
	return true
}

// gap records whitespace or a comment when auditing, merging neighbouring gaps.
func (s *scanner) gap(start, end int) {
	if !s.audit {
		return
	}
	if m := s.spans.len(); m > 0 {
		if last := s.spans.at(m - 1); last.kind == kindGap && last.end == start {
			s.spans.extendLast(end)
			return
		}
	}
	s.spans.add(span{start, end, kindGap})
}
