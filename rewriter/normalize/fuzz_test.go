package normalize

import (
	"strings"
	"testing"
)

// trickySeeds are inputs near the lexer's edges, added to the fuzz corpora along with
// every lexCases input.
var trickySeeds = []string{
	"SELECT p.first_name, p.ssn FROM clinic.patients p WHERE p.id = 42 AND p.mrn = 'MRN-0042'",
	"SELECT 'a'\n'b'\n-- x\n'c'", "SELECT 'a' \n\t 'b'", "SELECT 'a'\r'b'", "SELECT 'a'\f\n'b'",
	"SELECT E'\\\\'\n'\\''", "SELECT e'\\u00e9\\U0001F600'", "SELECT E'\\x4g'", "SELECT E'\\7\\77\\177'",
	"SELECT U&'\\0041' UESCAPE '\\'", "SELECT U&'a'\n'b' UESCAPE '!'", "SELECT U&'a' uescape", "SELECT U&\"a\" uescape2",
	"SELECT N'a'\n'b'", "SELECT n''", "SELECT X'1F'\n'2E'", "SELECT B''\n''",
	"SELECT $$$$, $_$x$_$, $a1$b$a1$, $é$$é$", "SELECT $$a$$b$$", "SELECT $a$ $b$ $a$",
	"SELECT 1..2", "SELECT 1.2.3", "SELECT .5e-3, 5.e+2, 1E5", "SELECT 9999999999999999999999",
	"SELECT 1 FROM t WHERE a=-1 AND b=+2.5 AND c=-.5", "SELECT 1::int4 ORDER BY 1 LIMIT 10 OFFSET 5",
	"SELECT a /* nested /* twice */ still */ FROM t", "SELECT 1/**/2", "SELECT 1 /*/ 2 */ 3", "SELECT 1 */ 2",
	"SELECT $1::int, $2 FROM t WHERE x = 5", "PREPARE p AS SELECT $1 + 1; EXECUTE p(41)",
	"SELECT \"a\"'b'", "SELECT 'a'\"b\"", "SELECT 'a'::\"text\"", "SELECT x.\"5\"",
	"SELECT interval '1' day, '1 day'::interval, DATE '2020-01-01' + 1",
	"COPY (SELECT * FROM t WHERE id = 7) TO STDOUT WITH (FORMAT csv)", "SET statement_timeout = 5000",
	"SELECT U&\"d\\0061t\" FROM t", "SELECT u&'x'", "SELECT U&'x' UESCAPE '!' UESCAPE '?'",
	"SELECT 'a' || $$b$$ || E'c' || N'd' || B'1' || X'F' || U&'g'",
	"SELECT 1;\nSELECT 'x';\n-- done", "select $1abc", "select $01, 1", "select ab$1, 2",
	"SELECT 'café', \"naïve\", é1 FROM ü", "SELECT\u00a0'x'", "SELECT '\xff'", "SELECT \xff'a'",
}

func corpus() []string {
	var seeds []string
	for _, c := range lexCases {
		seeds = append(seeds, c.in)
	}
	seeds = append(seeds, trickySeeds...)
	return append(seeds, realistic...)
}

// FuzzNormalize checks Normalize and Audit against pg_query's scanner: literal spans and
// kinds match the oracle's, Bind reproduces the input, Text and Audit keep every other
// token, Text is a fixed point, and a probe has the same shape.
func FuzzNormalize(f *testing.F) {
	for _, s := range corpus() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkAgainstOracle(t, in)
	})
}

// Literal pools for building a second statement with the same Text: every entry is a
// whole token of its kind, including the awkward spellings.
var pools = map[kind][]string{
	kindInteger: {"0", "7", "4", "42", "00042", "2147483647", "1000000000"},
	kindNumeric: {"1.5", ".5", "5.", "1e10", "1.5E-3", "2147483648", "99999999999999999999", "4.0"},
	kindString: {"'x'", "''", "'it''s'", "'4'", "'XXX-XX-'", `E'a\'b'`, `E'\n'`, "$$a'b$$", "$q$x$q$",
		"'a'\n'b'", "E'x'\n'\\\\'", "'a' \n  'b'", "$$$$", "'pgmask.probe.0'"},
	kindUnicode:  {`U&'d\0061t'`, "U&'d!0061t' UESCAPE '!'", "u&'x'\n'y'", "U&''"},
	kindNational: {"N'x'", "n''", "N'a'\n'b'"},
	kindBit:      {"B'101'", "b''", "B'1'\n'0'"},
	kindHex:      {"X'1F'", "x'ab'", "X''"},
}

// rebind returns st with its literals replaced by pool entries chosen by choices (or,
// for some choices, by another literal of st of the same kind, to provoke matches).
func rebind(st Statement, choices []byte) Statement {
	b := st
	b.Literals = make([]string, len(st.Literals))
	for i, l := range st.Literals {
		c := 0
		if len(choices) > 0 {
			c = int(choices[i%len(choices)]) + i
		}
		k := kindOf(l)
		pool := pools[k]
		switch {
		case c%5 == 4:
			b.Literals[i] = l
		case c%5 == 3:
			j := c % len(st.Literals)
			if kindOf(st.Literals[j]) == k {
				b.Literals[i] = st.Literals[j]
			} else {
				b.Literals[i] = pool[c%len(pool)]
			}
		default:
			b.Literals[i] = pool[c%len(pool)]
		}
	}
	return b
}

// wrap is a literal-transparent synthetic rewrite with literals of its own, which may
// equal the statement's (extra comes from the fuzzer), like a derived table with masks.
func wrap(sql, extra string) string {
	return "SELECT 'XXX-XX-' || right(ssn, 4) AS ssn, " + extra + " AS k, q.* FROM (\n" + sql + "\n) AS q WHERE 42 = 42"
}

// pushDown copies the statement, as the rewriter's push-down of col = constant copies a
// literal into the derived table.
func pushDown(sql, extra string) string {
	return "SELECT " + extra + " FROM (\n" + sql + "\n) AS inner_copy, (\n" + sql + "\n) AS outer_copy"
}

// FuzzTemplate checks that a template learnt from one statement reproduces, for every
// other statement with the same normalized text, exactly the rewrite of that statement:
// for synthetic rewrites byte for byte, and for pg_query's deparse parse tree for parse
// tree.
func FuzzTemplate(f *testing.F) {
	for i, s := range corpus() {
		f.Add(s, []byte{byte(i), byte(i * 7), byte(i * 13)}, uint8(i))
	}
	f.Fuzz(checkTemplates)
}

// FuzzTemplateSoup is FuzzTemplate over statements assembled from lexer fragments, which
// reach odd neighbours for spliced literals far more often than mutated SQL does.
func FuzzTemplateSoup(f *testing.F) {
	f.Add([]byte{77, 40, 2, 70, 3}, []byte{1, 2, 3}, uint8(0))
	f.Add([]byte{77, 8, 19, 71, 2, 3}, []byte{4, 5}, uint8(1))
	f.Fuzz(func(t *testing.T, data, choices []byte, extraChoice uint8) {
		checkTemplates(t, soup(data), choices, extraChoice)
	})
}

// checkTemplates learns templates from in and checks them on a second statement built
// from in with other literals of the same kinds.
func checkTemplates(t *testing.T, in string, choices []byte, extraChoice uint8) {
	a, ok := Normalize(in)
	if !ok {
		return
	}
	b := rebind(a, choices)
	bsql := b.Bind()
	// Any literals of the same kinds give a statement of the same shape.
	if nb, ok := Normalize(bsql); !ok || nb.Text != a.Text || nb.ParamBase != a.ParamBase || !equalStrings(nb.Literals, b.Literals) {
		t.Fatalf("splicing same-kind literals changed the statement\n a: %q\n b: %q\n ok=%v text=%q lits=%q", in, bsql, ok, nb.Text, nb.Literals)
	}
	extras := []string{"4", "42", "'x'", "'XXX-XX-'", "7", "1.5", "''"}
	if len(a.Literals) > 0 {
		extras = append(extras, a.Literals[0], a.Literals[len(a.Literals)-1])
	}
	extra := extras[int(extraChoice)%len(extras)]
	if strings.ContainsAny(extra, "$\n") {
		extra = "'y'" // keep the synthetic rewrite itself normalizable
	}

	// MakeTemplate on a rewrite that keeps each literal once.
	ra := wrap(in, extra)
	tm, ok := MakeTemplate(ra, a)
	if !ok && !clashes(a.Literals, []string{"'XXX-XX-'", "4", extra, "42"}) && !negatedZero(a) {
		t.Fatalf("MakeTemplate refused an unambiguous rewrite of %q", in)
	}
	if ok {
		got, iok := tm.Instantiate(b)
		if want := wrap(bsql, extra); !iok || got != want {
			t.Fatalf("Instantiate differs from the direct rewrite\n a: %q\n b: %q\n got: %q\nwant: %q", in, bsql, got, want)
		}
	}

	// A rewrite that copies every literal: MakeTemplate must refuse, LearnTemplate
	// must find both copies.
	rp := pushDown(in, extra)
	if _, ok := MakeTemplate(rp, a); ok && len(a.Literals) > 0 {
		t.Fatalf("MakeTemplate accepted a rewrite with copied literals: %q", in)
	}
	probe := a.Probe()
	lt, ok := LearnTemplate(a, rp, pushDown(probe.Bind(), extra))
	if !ok {
		t.Fatalf("LearnTemplate refused a literal-transparent rewrite of %q", in)
	}
	if got, iok := lt.Instantiate(b); !iok || got != pushDown(bsql, extra) {
		t.Fatalf("LearnTemplate's Instantiate differs from the direct rewrite\n a: %q\n b: %q\n got: %q", in, bsql, got)
	}

	// pg_query's deparse, the rewriter's real output stage: whenever a template is
	// accepted, it must mean what the deparse of b means.
	da, err := deparse(in)
	if err != nil {
		return
	}
	db, err := deparse(bsql)
	if err != nil {
		return
	}
	want, err := tree(db)
	if err != nil {
		return
	}
	if tm, ok := MakeTemplate(da, a); ok {
		checkSameTree(t, "MakeTemplate", tm, b, in, bsql, want)
	}
	if dp, err := deparse(probe.Bind()); err == nil {
		if lt, ok := LearnTemplate(a, da, dp); ok {
			checkSameTree(t, "LearnTemplate", lt, b, in, bsql, want)
		}
	}
}

func checkSameTree(t *testing.T, how string, tm Template, b Statement, in, bsql, want string) {
	t.Helper()
	got, ok := tm.Instantiate(b)
	if !ok {
		t.Fatalf("%s: Instantiate refused a statement of the same shape\n a: %q\n b: %q", how, in, bsql)
	}
	gt, err := tree(got)
	if err != nil || gt != want {
		t.Fatalf("%s: instantiated deparse means something else than deparse(b)\n a: %q\n b: %q\n got: %q\n err: %v", how, in, bsql, got, err)
	}
}

func clashes(lits, extra []string) bool {
	for _, l := range lits {
		for _, e := range extra {
			if l == e {
				return true
			}
		}
	}
	return false
}

// fragments are the pieces FuzzNormalizeSoup assembles: lexer-relevant bytes and tokens
// in the combinations random bytes rarely reach.
var fragments = []string{
	"'", "''", "'a'", "\"", "\"\"", "\"x\"", "E'", "e", "U&", "u&'", "U&\"", "N'", "n", "B'", "X'", "x",
	"UESCAPE", " uescape ", "'!'", "$", "$$", "$a$", "$1", "$2", "$0", "$_$", "é", "\u00a0",
	"0", "1", "42", "2147483648", ".", "..", ".5", "5.", "e5", "E-3", "e+", "_", "0x1F", "1_0",
	"-", "--", "--c", "/*", "*/", "/**/", "+", "*", "/", "&", "|", "::", ":", ",", ";", "(", ")", "[", "]",
	" ", "\n", "\r", "\t", "\f", "\v", "\\", "\\'", "\\\\", "\\u0041", "\\x41", "\\0", "\\U0001F600",
	"SELECT ", "FROM t", " WHERE id = ", "DATE", " AS ", "IN (", "LIMIT ", "ORDER BY ",
}

func soup(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		b.WriteString(fragments[int(c)%len(fragments)])
	}
	return b.String()
}

// FuzzNormalizeSoup is FuzzNormalize over statements assembled from lexer fragments.
func FuzzNormalizeSoup(f *testing.F) {
	f.Add([]byte{77, 40, 2, 70, 3})
	f.Add([]byte{77, 1, 2, 71, 2, 3})
	f.Add([]byte{77, 25, 26, 71, 50, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstOracle(t, soup(data))
	})
}
