package normalize

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// The oracle is pg_query's own scanner (PostgreSQL 16's scan.l, with comments returned
// as tokens). Where PostgreSQL 15 and 16 differ (0x1F, 1_000) Normalize refuses, so on
// every statement Normalize accepts the two must agree.

// otok is one oracle token. pg_query reports wrong ends for USCONST and UIDENT; scanOracle
// repairs them.
type otok struct {
	tok        pg_query.Token
	start, end int
}

func scanOracle(sql string) ([]otok, error) {
	res, err := pg_query.Scan(sql)
	if err != nil {
		return nil, err
	}
	out := make([]otok, len(res.Tokens))
	for i, t := range res.Tokens {
		out[i] = otok{t.Token, int(t.Start), int(t.End)}
		if t.Token == pg_query.Token_USCONST || t.Token == pg_query.Token_UIDENT {
			next := len(sql)
			if i+1 < len(res.Tokens) {
				next = int(res.Tokens[i+1].Start)
			}
			q := byte('\'')
			if t.Token == pg_query.Token_UIDENT {
				q = '"'
			}
			out[i].end = strings.LastIndexByte(sql[:next], q) + 1
		}
	}
	return out, nil
}

// oracleLiteral is a literal as the oracle sees it: a token, or the tokens NCHAR+SCONST
// (N'…') and USCONST UESCAPE SCONST (U&'…' UESCAPE '…') taken together.
type oracleLiteral struct {
	span
	first, last int // token indexes
}

func oracleLiterals(sql string, toks []otok) []oracleLiteral {
	var out []oracleLiteral
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		add := func(k kind, last int) {
			out = append(out, oracleLiteral{span{t.start, toks[last].end, k}, i, last})
			i = last
		}
		switch t.tok {
		case pg_query.Token_ICONST:
			add(kindInteger, i)
		case pg_query.Token_FCONST:
			add(kindNumeric, i)
		case pg_query.Token_BCONST:
			add(kindBit, i)
		case pg_query.Token_XCONST:
			add(kindHex, i)
		case pg_query.Token_SCONST:
			add(kindString, i)
		case pg_query.Token_NCHAR:
			if t.end-t.start == 1 && i+1 < len(toks) && toks[i+1].tok == pg_query.Token_SCONST && toks[i+1].start == t.end {
				add(kindNational, i+1)
			}
		case pg_query.Token_USCONST:
			if i+2 < len(toks) && toks[i+1].tok == pg_query.Token_UESCAPE && toks[i+2].tok == pg_query.Token_SCONST {
				add(kindUnicode, i+2)
			} else {
				add(kindUnicode, i)
			}
		case pg_query.Token_UIDENT:
			if i+2 < len(toks) && toks[i+1].tok == pg_query.Token_UESCAPE && toks[i+2].tok == pg_query.Token_SCONST {
				i += 2 // the escape string belongs to the identifier
			}
		}
	}
	return out
}

// shape renders a token sequence with each literal replaced by $N, numbered from base,
// and optionally without comments: the token structure Text and Audit must keep.
func shape(sql string, toks []otok, lits []oracleLiteral, base int, comments bool) []string {
	var out []string
	l := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if l < len(lits) && lits[l].first == i {
			out = append(out, fmt.Sprintf("PARAM $%d", base+l+1))
			i = lits[l].last
			l++
			continue
		}
		if !comments && (t.tok == pg_query.Token_SQL_COMMENT || t.tok == pg_query.Token_C_COMMENT) {
			continue
		}
		out = append(out, t.tok.String()+" "+sql[t.start:t.end])
	}
	return out
}

// checkAgainstOracle checks every invariant of Normalize and Audit on one input.
func checkAgainstOracle(t *testing.T, in string) {
	t.Helper()
	st, ok := Normalize(in)
	audit, aok := Audit(in)
	if ok != aok {
		t.Fatalf("Normalize ok=%v but Audit ok=%v for %q", ok, aok, in)
	}
	if !ok {
		return
	}
	if got := st.Bind(); got != in {
		t.Fatalf("Bind(Normalize(x)) != x\n x: %q\ngot: %q", in, got)
	}
	toks, err := scanOracle(in)
	if err != nil {
		t.Fatalf("Normalize accepted %q, pg_query's scanner rejects it: %v", in, err)
	}
	want := oracleLiterals(in, toks)
	sc := scanner{src: in}
	sc.scan()
	if sc.spans.len() != len(want) {
		t.Fatalf("%q: %d literals, oracle has %d\noracle: %v", in, sc.spans.len(), len(want), want)
	}
	for i, w := range want {
		if got := sc.spans.at(i); got != w.span {
			t.Fatalf("%q: literal %d is %v %q, oracle says %v %q", in, i, got, in[got.start:got.end], w.span, in[w.start:w.end])
		}
	}
	if len(st.Literals) != len(want) {
		t.Fatalf("%q: Statement has %d literals, want %d", in, len(st.Literals), len(want))
	}
	for i, l := range st.Literals {
		if k := kindOf(l); k != want[i].kind {
			t.Fatalf("%q: kindOf(%q) = %v, oracle says %v", in, l, k, want[i].kind)
		}
	}
	// Placeholders are parameters and every other token is unchanged.
	wantShape := shape(in, toks, want, st.ParamBase, true)
	ttoks, err := scanOracle(st.Text)
	if err != nil {
		t.Fatalf("Text %q of %q does not scan: %v", st.Text, in, err)
	}
	if got := shape(st.Text, ttoks, nil, 0, true); !equalStrings(got, wantShape) {
		t.Fatalf("Text changes the token structure\n in: %q\ntext: %q\nwant: %q\n got: %q", in, st.Text, wantShape, got)
	}
	// Audit drops comments and nothing else.
	atoks, err := scanOracle(audit)
	if err != nil {
		t.Fatalf("Audit %q of %q does not scan: %v", audit, in, err)
	}
	if got, w := shape(audit, atoks, nil, 0, false), shape(in, toks, want, st.ParamBase, false); !equalStrings(got, w) {
		t.Fatalf("Audit changes the token structure\n in: %q\naudit: %q\nwant: %q\n got: %q", in, audit, w, got)
	}
	if strings.HasPrefix(audit, " ") || strings.HasSuffix(audit, " ") {
		t.Fatalf("Audit %q is not trimmed", audit)
	}
	// Text is a fixed point.
	again, ok := Normalize(st.Text)
	if !ok || again.Text != st.Text || len(again.Literals) != 0 {
		t.Fatalf("Normalize(Text) = %q, %v, %q; want Text unchanged", again.Text, ok, again.Literals)
	}
	// A probe normalizes to the same statement shape.
	p := st.Probe()
	pn, ok := Normalize(p.Bind())
	if !ok || pn.Text != st.Text || pn.ParamBase != st.ParamBase || !equalStrings(pn.Literals, p.Literals) {
		t.Fatalf("probe %q of %q does not normalize back (ok=%v text=%q)", p.Bind(), in, ok, pn.Text)
	}
	for i, l := range p.Literals {
		if kindOf(l) != kindOf(st.Literals[i]) {
			t.Fatalf("probe literal %q has another kind than %q", l, st.Literals[i])
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var locationField = regexp.MustCompile(`"(location|stmt_location|stmt_len)":-?\d+,?`)

// tree returns pg_query's parse tree of sql without source positions, for comparing
// what two texts mean.
func tree(sql string) (string, error) {
	j, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return "", err
	}
	return locationField.ReplaceAllString(j, ""), nil
}

// deparse is a rewrite that touches every literal the way the rewriter's deparse does.
// It only deparses SELECT statements, the ones templates are for: pg_query v5.1.0's
// deparser crashes the process (SIGSEGV in C) on other input such as
// COPY (SELECT 1) TO STDOUT WITH (FORMAT, csv), found by FuzzTemplate.
func deparse(sql string) (string, error) {
	res, err := pg_query.Parse(sql)
	if err != nil {
		return "", err
	}
	for _, s := range res.Stmts {
		if s.Stmt.GetSelectStmt() == nil {
			return "", errNotSelect
		}
	}
	return pg_query.Deparse(res)
}

var errNotSelect = errors.New("not a SELECT")

func (k kind) String() string {
	return [...]string{"none", "integer", "numeric", "string", "unicode", "national", "bit", "hex", "gap"}[k]
}

func (s span) String() string { return fmt.Sprintf("%v[%d:%d]", s.kind, s.start, s.end) }
