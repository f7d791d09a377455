package config

import (
	"strconv"
	"strings"
)

// The TOML decoder does not tell where a key was written, but a DBA fixing a policy
// needs "pgmask.toml:14", not just "roles.support.profile". So Parse indexes the source
// text once with the small scanner below, which understands just enough TOML to follow
// key paths: table headers (quoted keys included), dotted keys, inline tables, arrays
// and multi-line strings. It runs only on text the decoder has already accepted, so it
// is lenient: anything it does not understand costs a line number, never an error.

// Where returns "file:line" for the key path, or just the file name when the line is
// unknown (and "" for a Config that was not loaded from a file). A path that was not
// written itself (a missing required key) is placed at the nearest enclosing key that
// was, so an error about a missing roles.support.profile points at [roles.support].
// An array element is addressed by its index in brackets after the key, e.g.
// Where("roles", "support", "tables", "[2]").
//
// The rewriter uses Where (through Errorf) to report the errors it finds when it
// compiles the policy in the same format as this package.
func (c *Config) Where(path ...string) string {
	line, _ := c.line(path)
	return c.at(line)
}

// line returns the line of path or of its nearest written ancestor.
func (c *Config) line(path []string) (int, bool) {
	for n := len(path); n > 0; n-- {
		if l, ok := c.lines[lineKey(path[:n])]; ok {
			return l, true
		}
	}
	return 0, false
}

// lineIndex maps a key path (see lineKey) to the line where it is first written.
type lineIndex map[string]int

// lineKey joins path with a byte that cannot appear in a TOML key.
func lineKey(path []string) string { return strings.Join(path, "\x00") }

// elem is the path component that addresses element i of an array.
func elem(i int) string { return "[" + strconv.Itoa(i) + "]" }

// indexLines scans TOML source and records the line of every key path in it.
func indexLines(src string) lineIndex {
	s := &scanner{src: src, line: 1, idx: lineIndex{}}
	for {
		s.skipSpace(true)
		if s.eof() {
			return s.idx
		}
		if s.src[s.pos] == '[' {
			s.header()
		} else {
			s.keyValue(s.table)
		}
		s.skipLine()
	}
}

type scanner struct {
	src   string
	pos   int
	line  int
	table []string // path of the current [table] header
	idx   lineIndex
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

// skip moves n bytes on, never past the end.
func (s *scanner) skip(n int) { s.pos = min(s.pos+n, len(s.src)) }

// record sets the line of path and of every ancestor not seen before.
func (s *scanner) record(path []string) {
	for n := 1; n <= len(path); n++ {
		k := lineKey(path[:n])
		if _, ok := s.idx[k]; !ok {
			s.idx[k] = s.line
		}
	}
}

// skipSpace skips blanks and, when newlines is set, also line ends and comments.
func (s *scanner) skipSpace(newlines bool) {
	for !s.eof() {
		switch s.src[s.pos] {
		case ' ', '\t', '\r':
			s.pos++
		case '\n':
			if !newlines {
				return
			}
			s.line++
			s.pos++
		case '#':
			if !newlines {
				return
			}
			for !s.eof() && s.src[s.pos] != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

// skipLine moves past the end of the current line.
func (s *scanner) skipLine() {
	for !s.eof() {
		c := s.src[s.pos]
		s.pos++
		if c == '\n' {
			s.line++
			return
		}
	}
}

// header reads "[a.b]" or "[[a.b]]" and makes it the current table.
func (s *scanner) header() {
	s.pos++
	if !s.eof() && s.src[s.pos] == '[' {
		s.pos++
	}
	keys, ok := s.key()
	if !ok {
		return
	}
	s.table = keys
	s.record(keys)
}

// keyValue reads "key = value" below base.
func (s *scanner) keyValue(base []string) {
	keys, ok := s.key()
	if !ok {
		return
	}
	path := append(append([]string(nil), base...), keys...)
	s.record(path)
	s.skipSpace(false)
	if s.eof() || s.src[s.pos] != '=' {
		return
	}
	s.pos++
	s.skipSpace(false)
	s.value(path)
}

// key reads a dotted key such as a."b.c".'d'.
func (s *scanner) key() ([]string, bool) {
	var keys []string
	for {
		s.skipSpace(false)
		k, ok := s.simpleKey()
		if !ok {
			return nil, false
		}
		keys = append(keys, k)
		s.skipSpace(false)
		if s.eof() || s.src[s.pos] != '.' {
			return keys, true
		}
		s.pos++
	}
}

func (s *scanner) simpleKey() (string, bool) {
	if s.eof() {
		return "", false
	}
	start := s.pos
	switch s.src[s.pos] {
	case '"':
		s.basicString()
		raw := s.src[start:s.pos]
		if k, err := strconv.Unquote(raw); err == nil {
			return k, true
		}
		return strings.Trim(raw, `"`), true
	case '\'':
		s.literalString()
		return strings.Trim(s.src[start:s.pos], "'"), true
	}
	for !s.eof() && isBare(s.src[s.pos]) {
		s.pos++
	}
	return s.src[start:s.pos], s.pos > start
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value, recording the keys of inline tables and the elements of
// arrays under path.
func (s *scanner) value(path []string) {
	if s.eof() {
		return
	}
	rest := s.src[s.pos:]
	switch {
	case strings.HasPrefix(rest, `"""`):
		s.multiline(`"""`)
	case strings.HasPrefix(rest, `'''`):
		s.multiline(`'''`)
	case rest[0] == '"':
		s.basicString()
	case rest[0] == '\'':
		s.literalString()
	case rest[0] == '[':
		s.array(path)
	case rest[0] == '{':
		s.inlineTable(path)
	default: // number, boolean or date: ends at a delimiter
		for !s.eof() && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.pos])) {
			s.pos++
		}
	}
}

func (s *scanner) array(path []string) {
	s.pos++
	for i := 0; ; i++ {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		if s.src[s.pos] == ']' {
			s.pos++
			return
		}
		p := append(append([]string(nil), path...), elem(i))
		s.record(p)
		s.value(p)
		s.skipSpace(true)
		if s.eof() || s.src[s.pos] != ',' {
			if !s.eof() && s.src[s.pos] == ']' {
				s.pos++
			}
			return
		}
		s.pos++
	}
}

func (s *scanner) inlineTable(path []string) {
	s.pos++
	for {
		s.skipSpace(true) // TOML 1.1 allows newlines in inline tables
		if s.eof() {
			return
		}
		if s.src[s.pos] == '}' {
			s.pos++
			return
		}
		before := s.pos
		s.keyValue(path)
		s.skipSpace(true)
		if s.eof() || s.pos == before || s.src[s.pos] != ',' {
			if !s.eof() && s.src[s.pos] == '}' {
				s.pos++
			}
			return
		}
		s.pos++
	}
}

// basicString skips "..." with backslash escapes.
func (s *scanner) basicString() {
	s.pos++
	for !s.eof() {
		switch s.src[s.pos] {
		case '\\':
			s.skip(2)
		case '"':
			s.pos++
			return
		case '\n': // unterminated; leave the line end to the caller
			return
		default:
			s.pos++
		}
	}
}

// literalString skips '...', which has no escapes.
func (s *scanner) literalString() {
	s.pos++
	for !s.eof() {
		switch s.src[s.pos] {
		case '\'':
			s.pos++
			return
		case '\n':
			return
		default:
			s.pos++
		}
	}
}

// multiline skips a """...""" or ”'...”' string, counting its lines. Up to two
// quotes right before the closing delimiter belong to the content.
func (s *scanner) multiline(delim string) {
	s.pos += len(delim)
	for !s.eof() {
		c := s.src[s.pos]
		switch {
		case c == '\\' && delim == `"""`:
			s.pos++
			if !s.eof() && s.src[s.pos] == '\n' {
				s.line++
			}
			s.skip(1)
		case strings.HasPrefix(s.src[s.pos:], delim):
			s.pos += len(delim)
			for i := 0; i < 2 && !s.eof() && s.src[s.pos] == delim[0]; i++ {
				s.pos++
			}
			return
		default:
			if c == '\n' {
				s.line++
			}
			s.pos++
		}
	}
}
