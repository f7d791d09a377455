package normalize

import (
	"strconv"
	"strings"
)

// Template is a rewritten statement with holes where the client's literals go. It is
// learnt once, on a cache miss, from a statement and its rewrite, and then produces
// the rewrite of every statement with the same normalized text and literal kinds by
// splicing that statement's literal tokens into the holes: no parse, no deparse.
//
// It is only correct when the rewrite does not depend on literal values: see
// GUIDE.md in this directory for the conditions the rewriter must guarantee. A Template
// is immutable and safe for concurrent use.
type Template struct {
	sql   string // the rewritten SQL the template was learnt from
	slots []slot // where the statement's literals sit in sql, in sql order

	// The shape of the statements the template applies to, which Instantiate checks.
	text  string
	base  int
	at    []int32
	kinds []kind
}

// slot is a literal token in the rewritten SQL that carries statement literal lit.
type slot struct {
	start, end int32
	lit        int32
}

// MakeTemplate learns a template from the rewrite of one statement by finding the
// statement's literal tokens, byte for byte and in order, among the literal tokens of
// the rewritten SQL. The rewriter may add literals of its own (masks like 'XXX-XX-')
// anywhere. It reports false when the rewritten SQL cannot be normalized, when some
// literal is missing (the rewriter re-rendered it: 042 becomes 42, E'a' becomes 'a'),
// and whenever the match is ambiguous: more than one way to find the statement's
// literals in order, as when the user's 4 meets the 4 of right(ssn, 4), or when a
// literal was copied (pushed down into a derived table).
//
// MakeTemplate trusts that every user literal is still in the rewrite, verbatim and once:
// if the rewriter dropped or altered one and added an identical literal of its own, the
// match would be unique and wrong. LearnTemplate does not need that trust.
func MakeTemplate(rewritten string, original Statement) (Template, bool) {
	if len(original.at) != len(original.Literals) {
		return Template{}, false
	}
	sc := newScanner(rewritten, false)
	if !sc.scan() {
		return Template{}, false
	}
	lits, found := original.Literals, &sc.spans
	text := func(j int) string { sp := found.at(j); return rewritten[sp.start:sp.end] }
	// The leftmost and the rightmost in-order matches bound every other match; the
	// match is unique exactly when they coincide.
	left := make([]int, len(lits))
	j := 0
	for i, l := range lits {
		for j < found.len() && text(j) != l {
			j++
		}
		if j == found.len() {
			return Template{}, false
		}
		left[i] = j
		j++
	}
	j = found.len() - 1
	for i := len(lits) - 1; i >= 0; i-- {
		for j >= 0 && text(j) != lits[i] {
			j--
		}
		if j != left[i] {
			return Template{}, false
		}
		j--
	}
	if negatedZero(original) {
		return Template{}, false
	}
	t := newTemplate(rewritten, original)
	if t.kinds == nil && len(lits) > 0 {
		return Template{}, false
	}
	t.slots = make([]slot, len(lits))
	for i, j := range left {
		sp := found.at(j)
		t.slots[i] = slot{int32(sp.start), int32(sp.end), int32(i)}
	}
	return t, true
}

// LearnTemplate learns a template from two rewrites: rewritten, of the statement
// itself, and probeRewritten, of original.Probe().Bind(). Every probe literal is a
// canary that occurs nowhere else, so each occurrence of a canary in probeRewritten
// marks exactly where that literal went — also when the rewriter copied it or moved
// it. The template is accepted only if it then reproduces rewritten exactly from the
// statement's own literals, which rejects rewriters that dropped, altered or re-rendered
// a literal, or whose output changed with the values.
func LearnTemplate(original Statement, rewritten, probeRewritten string) (Template, bool) {
	if len(original.at) != len(original.Literals) {
		return Template{}, false
	}
	probe := original.Probe()
	canary := make(map[string]int32, len(probe.Literals))
	for i, l := range probe.Literals {
		canary[l] = int32(i)
	}
	for _, l := range original.Literals {
		if _, clash := canary[l]; clash {
			return Template{}, false
		}
	}
	if len(canary) != len(probe.Literals) {
		return Template{}, false
	}
	sc := newScanner(probeRewritten, false)
	if !sc.scan() {
		return Template{}, false
	}
	t := newTemplate(probeRewritten, original)
	if t.kinds == nil && len(original.Literals) > 0 {
		return Template{}, false
	}
	seen := make([]bool, len(probe.Literals))
	for j := range sc.spans.len() {
		sp := sc.spans.at(j)
		if i, ok := canary[probeRewritten[sp.start:sp.end]]; ok {
			t.slots = append(t.slots, slot{int32(sp.start), int32(sp.end), i})
			seen[i] = true
		}
	}
	for _, ok := range seen {
		if !ok {
			return Template{}, false
		}
	}
	if out, ok := t.Instantiate(original); !ok || out != rewritten {
		return Template{}, false
	}
	return t, true
}

// negatedZero reports whether an integer literal of value zero follows a minus sign,
// possibly with parentheses between. PostgreSQL's grammar folds a unary minus into the
// constant it negates (doNegate, also through parentheses), and -0 is 0, so pg_query
// deparses SELECT -0 and SELECT -(0) as SELECT 0: the literal survives verbatim but the
// sign is gone, and splicing 7 there would turn SELECT -7 into SELECT 7. (Found by
// FuzzTemplate.)
func negatedZero(st Statement) bool {
	var gaps *spanList
	for i, l := range st.Literals {
		if kindOf(l) != kindInteger || strings.Trim(l, "0") != "" {
			continue
		}
		if gaps == nil {
			sc := newScanner(st.Text, true)
			sc.scan()
			gaps = &sc.spans
		}
		// Step back over whitespace, comments and opening parentheses.
		p := int(st.at[i])
		for p > 0 {
			if st.Text[p-1] == '(' {
				p--
				continue
			}
			g := gaps.len() - 1
			for g >= 0 && gaps.at(g).end != p {
				g--
			}
			if g < 0 || gaps.at(g).kind != kindGap {
				break
			}
			p = gaps.at(g).start
		}
		if p > 0 && st.Text[p-1] == '-' {
			return true
		}
	}
	return false
}

func newTemplate(sql string, st Statement) Template {
	t := Template{sql: sql, text: st.Text, base: st.ParamBase, at: st.at}
	if len(st.Literals) > 0 {
		t.kinds = make([]kind, len(st.Literals))
		for i, l := range st.Literals {
			if t.kinds[i] = kindOf(l); t.kinds[i] == kindNone {
				t.kinds = nil
				break
			}
		}
	}
	return t
}

// Instantiate returns the rewritten SQL for s by splicing s's literal tokens into the
// template. It reports false unless s has the template's normalized text, parameter
// base, placeholder positions and literal kinds; the caller then takes the slow path.
// Because s's literals are whole tokens of the same kinds that the template's scan
// accepted in the same places, splicing them cannot change any token boundary.
func (t Template) Instantiate(s Statement) (string, bool) {
	if s.Text != t.text || s.ParamBase != t.base || len(s.Literals) != len(t.kinds) ||
		len(s.at) != len(t.at) {
		return "", false
	}
	for i, a := range t.at {
		if s.at[i] != a {
			return "", false
		}
	}
	for i, l := range s.Literals {
		if kindOf(l) != t.kinds[i] {
			return "", false
		}
	}
	size := len(t.sql)
	for _, sl := range t.slots {
		size += len(s.Literals[sl.lit]) - int(sl.end-sl.start)
	}
	var b strings.Builder
	b.Grow(size)
	prev := 0
	for _, sl := range t.slots {
		b.WriteString(t.sql[prev:sl.start])
		b.WriteString(s.Literals[sl.lit])
		prev = int(sl.end)
	}
	b.WriteString(t.sql[prev:])
	return b.String(), true
}

// Probe returns s with every literal replaced by a canary of the same kind: a value
// that differs from all of s's literals and from each other, so that LearnTemplate can
// see where each literal ends up in a rewrite. The probe has s's Text and ParamBase.
func (s Statement) Probe() Statement {
	p := Statement{Text: s.Text, ParamBase: s.ParamBase, at: s.at}
	if len(s.Literals) == 0 {
		return p
	}
	p.Literals = make([]string, len(s.Literals))
	used := make(map[string]bool, len(s.Literals))
	for _, l := range s.Literals {
		used[l] = true
	}
	for salt := 0; ; salt++ {
		clash := false
		for i, l := range s.Literals {
			c := canaryFor(kindOf(l), salt*len(s.Literals)+i)
			p.Literals[i] = c
			clash = clash || used[c]
		}
		if !clash {
			return p
		}
	}
}

// canaryFor returns canary number n of kind k. Integers stay in int32, so that they
// remain ICONST; bit and hex strings are lower case, as pg_query deparses them.
func canaryFor(k kind, n int) string {
	switch k {
	case kindInteger:
		return strconv.Itoa(1_000_000_000 + n%1_000_000_000)
	case kindNumeric:
		return strconv.Itoa(1_000_000_000+n) + ".5"
	case kindUnicode:
		return "U&'pgmask.probe." + strconv.Itoa(n) + "'"
	case kindNational:
		return "N'pgmask.probe." + strconv.Itoa(n) + "'"
	case kindBit:
		return "b'10110" + strconv.FormatInt(int64(n), 2) + "'"
	case kindHex:
		return "x'c0ffee" + strconv.FormatInt(int64(n), 16) + "'"
	}
	return "'pgmask.probe." + strconv.Itoa(n) + "'"
}
