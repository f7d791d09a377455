package normalize

import "strings"

// This file scans the quoted tokens: string literals with their continuations and
// UESCAPE clauses, quoted identifiers, and comments.

// quoted scans a quoted literal whose token starts at start and whose opening quote is
// at q, including SQL-standard continuations, and records it.
func (s *scanner) quoted(start, q int, k kind) (int, bool) {
	src := s.src
	i := q + 1
	for {
		var ok bool
		switch {
		case k == kindBit || k == kindHex:
			// B'…' and X'…' have no '' escape: the first quote ends the body.
			j := strings.IndexByte(src[i:], '\'')
			i, ok = i+j+1, j >= 0
		case k == kindString && src[start]|0x20 == 'e':
			i, ok = escapeBodyEnd(src, i)
		default:
			i, ok = plainBodyEnd(src, i)
		}
		if !ok {
			return 0, false
		}
		// Docs: two string constants separated only by whitespace with at least one
		// newline are concatenated; the continuation keeps the literal's escape rules.
		j, found, comment := continuation(src, i)
		if !found {
			break
		}
		if comment {
			// PostgreSQL continues across -- comments, pg_query's scanner (our fuzz
			// oracle and the rewriter's parser) does not: refuse.
			return 0, false
		}
		i = j
	}
	if k == kindUnicode {
		var ok bool
		if i, ok = s.uescape(i); !ok {
			return 0, false
		}
	}
	if !s.afterString(i) {
		return 0, false
	}
	return i, s.literal(start, i, k)
}

// uescape extends a U&'…' literal ending at i with its UESCAPE '…' clause, if any, so
// that the escape character travels with the string it applies to.
func (s *scanner) uescape(i int) (int, bool) {
	src := s.src
	k, comment := skipGaps(src, i)
	if !isWord(src, k, "uescape") {
		return i, true
	}
	k, comment2 := skipGaps(src, k+len("uescape"))
	if comment || comment2 || k >= len(src) || src[k] != '\'' {
		return 0, false // comments inside the clause, or not followed by '…'
	}
	end, ok := plainBodyEnd(src, k+1)
	if !ok {
		return 0, false
	}
	if _, found, _ := continuation(src, end); found {
		return 0, false
	}
	// A second UESCAPE would attach to a spliced-in U&'…' that has none.
	if k, _ := skipGaps(src, end); isWord(src, k, "uescape") {
		return 0, false
	}
	return end, true
}

// afterString checks what follows a string literal ending at i. Across whitespace
// with a newline, a '…' continues the literal before it. So whenever the next token
// there is a string that does not continue this one — $$…$$ or E'…' after any string,
// or '…' after $$…$$ — splicing a plain '…' string into either slot would merge two
// literals into one: refuse.
func (s *scanner) afterString(i int) bool {
	src := s.src
	j, newline := i, false
	for j < len(src) {
		c := src[j]
		if c == '\n' || c == '\r' {
			newline = true
		} else if c == '-' && j+1 < len(src) && src[j+1] == '-' {
			j = lineEnd(src, j+2)
			continue
		} else if !isSpace(c) {
			break
		}
		j++
	}
	if !newline || j >= len(src) {
		return true
	}
	switch src[j] {
	case '\'':
		return false
	case 'e', 'E':
		return !(j+1 < len(src) && src[j+1] == '\'')
	case '$':
		return j+1 < len(src) && isDigit(src[j+1]) // $n is fine, $$ or $tag$ is not
	}
	return true
}

// plainBodyEnd returns the offset after the closing quote of a '…' body starting at i
// (a doubled quote is an escaped quote; backslashes are ordinary characters).
func plainBodyEnd(src string, i int) (int, bool) {
	for {
		j := strings.IndexByte(src[i:], '\'')
		if j < 0 {
			return 0, false
		}
		i += j + 1
		if i < len(src) && src[i] == '\'' {
			i++
			continue
		}
		return i, true
	}
}

// escapeBodyEnd returns the offset after the closing quote of an E'…' body starting
// at i. Escapes that PostgreSQL 15 rejects or that need encoding checks it cannot see
// here (\0, \x80-\xff, incomplete or out-of-range \u and \U, surrogates) are refused.
func escapeBodyEnd(src string, i int) (int, bool) {
	n := len(src)
	for i < n {
		switch src[i] {
		case '\'':
			if i+1 < n && src[i+1] == '\'' {
				i += 2
				continue
			}
			return i + 1, true
		case '\\':
			if i+1 >= n {
				return 0, false
			}
			d := src[i+1]
			switch {
			case '0' <= d && d <= '7':
				v, j := 0, i+1
				for j < n && j < i+4 && '0' <= src[j] && src[j] <= '7' {
					v = v*8 + int(src[j]-'0')
					j++
				}
				if v&0xff == 0 || v&0xff >= 0x80 {
					return 0, false
				}
				i = j
			case d == 'x' && i+2 < n && isHex(src[i+2]):
				v, j := 0, i+2
				for j < n && j < i+4 && isHex(src[j]) {
					v = v*16 + hexVal(src[j])
					j++
				}
				if v == 0 || v >= 0x80 {
					return 0, false
				}
				i = j
			case d == 'u' || d == 'U':
				digits := 4
				if d == 'U' {
					digits = 8
				}
				if i+2+digits > n {
					return 0, false
				}
				v := 0
				for _, h := range []byte(src[i+2 : i+2+digits]) {
					if !isHex(h) {
						return 0, false
					}
					v = v*16 + hexVal(h)
				}
				if v == 0 || v > 0x10ffff || 0xd800 <= v && v <= 0xdfff {
					return 0, false
				}
				i += 2 + digits
			default:
				i += 2 // \n, \', \\ and any other character taken literally
			}
		default:
			i++
		}
	}
	return 0, false
}

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// continuation looks for a continuation after a closing quote at i: whitespace and --
// comments containing at least one newline, then a quote. It returns the offset after
// that quote and whether a comment was crossed.
func continuation(src string, i int) (next int, found, comment bool) {
	newline := false
	for i < len(src) {
		switch c := src[i]; {
		case c == '\n' || c == '\r':
			newline = true
			i++
		case c == ' ' || c == '\t' || c == '\f':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			comment = true
			i = lineEnd(src, i+2)
		case c == '\'' && newline:
			return i + 1, true, comment
		default:
			return 0, false, false
		}
	}
	return 0, false, false
}

// lineEnd returns the offset of the newline ending a -- comment, or len(src).
func lineEnd(src string, i int) int {
	for i < len(src) && src[i] != '\n' && src[i] != '\r' {
		i++
	}
	return i
}

// blockCommentEnd returns the offset after a /* … */ comment starting at i. Block
// comments nest.
func blockCommentEnd(src string, i int) (int, bool) {
	depth := 0
	for i+1 < len(src) {
		switch {
		case src[i] == '/' && src[i+1] == '*':
			depth++
			i += 2
		case src[i] == '*' && src[i+1] == '/':
			i += 2
			if depth--; depth == 0 {
				return i, true
			}
		default:
			i++
		}
	}
	return 0, false
}

// quotedIdentEnd returns the offset after a "…" identifier whose body starts at i.
// PostgreSQL rejects the zero-length identifier "".
func quotedIdentEnd(src string, i int) (int, bool) {
	start := i
	for {
		j := strings.IndexByte(src[i:], '"')
		if j < 0 {
			return 0, false
		}
		i += j + 1
		if i < len(src) && src[i] == '"' {
			i++
			continue
		}
		return i, i-start > 1
	}
}

// skipGaps skips whitespace and comments from i. An unterminated block comment stops
// the skip; the main scan refuses it later.
func skipGaps(src string, i int) (int, bool) {
	comment := false
	for i < len(src) {
		switch {
		case isSpace(src[i]):
			i++
		case strings.HasPrefix(src[i:], "--"):
			comment = true
			i = lineEnd(src, i+2)
		case strings.HasPrefix(src[i:], "/*"):
			j, ok := blockCommentEnd(src, i)
			if !ok {
				return i, comment
			}
			comment = true
			i = j
		default:
			return i, comment
		}
	}
	return i, comment
}

// isWord reports whether the identifier at i is word (lower case), case-insensitively.
func isWord(src string, i int, word string) bool {
	if i+len(word) > len(src) || !strings.EqualFold(src[i:i+len(word)], word) {
		return false
	}
	return i+len(word) == len(src) || !identCont[src[i+len(word)]]
}
