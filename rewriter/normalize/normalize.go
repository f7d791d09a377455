package normalize

import "strings"

// Statement is a statement string with its literal constants lifted out.
type Statement struct {
	// Text is the SQL with each literal replaced by $N, N continuing after the
	// highest $n parameter already in the input: "SELECT * FROM t WHERE id = $1".
	// Comments and whitespace are kept, so Bind can reproduce the input exactly.
	Text string
	// Literals are the literal tokens exactly as written, in order: "42", "'abc'",
	// "E'x\\'y'", "$$body$$", "B'101'", "X'1F'", "1.5e3", "'a'\n'b'" (one continued
	// string), "U&'d!0061t' UESCAPE '!'", "N'abc'". They may contain PHI: never log them.
	Literals []string
	// ParamBase is the highest $n already present in the input; placeholders start
	// at ParamBase+1. The cache key is (Text, ParamBase).
	ParamBase int

	at []int32 // offset of each placeholder in Text
}

// Normalize lifts the literals out of sql. It reports false when the text cannot be
// normalized safely (see the package comment); the caller must then take the slow
// path, and must not log sql.
func Normalize(sql string) (Statement, bool) {
	sc := newScanner(sql, false)
	if !sc.scan() {
		return Statement{}, false
	}
	st := Statement{Text: sql, ParamBase: sc.maxParam}
	n := sc.spans.len()
	if n == 0 {
		return st, true
	}
	st.Literals = make([]string, n)
	st.at = make([]int32, n)
	size := len(sql)
	for i := range n {
		sp := sc.spans.at(i)
		size += placeholderLen(sc.maxParam+i+1) - (sp.end - sp.start)
	}
	var b strings.Builder
	b.Grow(size)
	prev := 0
	for i := range n {
		sp := sc.spans.at(i)
		b.WriteString(sql[prev:sp.start])
		st.at[i] = int32(b.Len())
		writePlaceholder(&b, sc.maxParam+i+1)
		st.Literals[i] = sql[sp.start:sp.end]
		prev = sp.end
	}
	b.WriteString(sql[prev:])
	st.Text = b.String()
	return st, true
}

// Bind re-inserts the literals in place of the placeholders: for s from Normalize(x),
// s.Bind() == x byte for byte. Literals must be tokens produced by Normalize for a
// statement with the same Text (Template.Instantiate enforces this; Bind cannot). A
// Statement not produced by this package binds to its Text unchanged.
func (s Statement) Bind() string {
	if len(s.Literals) == 0 || len(s.at) != len(s.Literals) {
		return s.Text
	}
	size := len(s.Text)
	for i, l := range s.Literals {
		size += len(l) - placeholderLen(s.ParamBase+i+1)
	}
	var b strings.Builder
	b.Grow(size)
	prev := 0
	for i, l := range s.Literals {
		at := int(s.at[i])
		b.WriteString(s.Text[prev:at])
		b.WriteString(l)
		prev = at + placeholderLen(s.ParamBase+i+1)
	}
	b.WriteString(s.Text[prev:])
	return b.String()
}

// Audit returns the text to record in the audit log: the normalized text with
// comments removed (they may contain PHI) and each run of whitespace and comments
// collapsed to one space. Placeholders are numbered as in Normalize. It reports false
// exactly when Normalize does; the caller must then record no statement text.
//
// Audit removes literal values and comments only. An identifier is kept verbatim, so a
// user who writes WHERE name = "Smith" (double quotes: an identifier, and an error)
// puts Smith in the log.
func Audit(sql string) (string, bool) {
	sc := newScanner(sql, true)
	if !sc.scan() {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(sql) + 8)
	prev, lit := 0, 0
	for i := range sc.spans.len() {
		sp := sc.spans.at(i)
		b.WriteString(sql[prev:sp.start])
		prev = sp.end
		if sp.kind != kindGap {
			lit++
			writePlaceholder(&b, sc.maxParam+lit)
			continue
		}
		if sp.start > 0 && sp.end < len(sql) {
			b.WriteByte(' ')
		}
	}
	b.WriteString(sql[prev:])
	return b.String(), true
}

// Fingerprint is the 64-bit FNV-1a hash of a normalized text, for the audit log: the
// same statement shape always has the same fingerprint, in any process and any
// version, and anyone can recompute it. Fingerprint the Audit text, so that comments
// and layout do not split one statement shape into many.
func Fingerprint(text string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(text); i++ {
		h ^= uint64(text[i])
		h *= prime
	}
	return h
}

func writePlaceholder(b *strings.Builder, n int) {
	var d [21]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			break
		}
	}
	i--
	d[i] = '$'
	b.Write(d[i:])
}

func placeholderLen(n int) int {
	l := 2
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}

// kindOf classifies a literal token produced by the scanner.
func kindOf(lit string) kind {
	if lit == "" {
		return kindNone
	}
	switch c := lit[0]; {
	case isDigit(c) || c == '.':
		for i := 0; i < len(lit); i++ {
			if !isDigit(lit[i]) {
				return kindNumeric
			}
		}
		if fitsInt32(lit) {
			return kindInteger
		}
		return kindNumeric
	case c == '\'' || c == '$' || c|0x20 == 'e':
		return kindString
	case c|0x20 == 'u':
		return kindUnicode
	case c|0x20 == 'n':
		return kindNational
	case c|0x20 == 'b':
		return kindBit
	case c|0x20 == 'x':
		return kindHex
	}
	return kindNone
}
