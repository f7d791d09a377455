package normalize

import (
	"strings"
	"testing"
)

// lexCases is one table for every lexer rule. lits nil with ok true means no literals.
var lexCases = []struct {
	name string
	in   string
	ok   bool
	text string
	lits []string
}{
	// Numbers.
	{"integer", "SELECT * FROM t WHERE id = 42", true, "SELECT * FROM t WHERE id = $1", []string{"42"}},
	{"decimal forms", "SELECT 4.2, .5, 5., 1e10, 1.5E-3, 1.e5, 2e+3", true, "SELECT $1, $2, $3, $4, $5, $6, $7", []string{"4.2", ".5", "5.", "1e10", "1.5E-3", "1.e5", "2e+3"}},
	{"minus stays an operator", "SELECT -5, - 5, 3-2, x--1\n", true, "SELECT -$1, - $2, $3-$4, x--1\n", []string{"5", "5", "3", "2"}},
	{"integer too large for int32 is still lifted", "SELECT 2147483648, 00000000002147483647", true, "SELECT $1, $2", []string{"2147483648", "00000000002147483647"}},
	{"hex integer is PostgreSQL 16 syntax", "SELECT 0x1F", false, "", nil},
	{"octal integer is PostgreSQL 16 syntax", "SELECT 0o17", false, "", nil},
	{"binary integer is PostgreSQL 16 syntax", "SELECT 0b101", false, "", nil},
	{"underscore in number is PostgreSQL 16 syntax", "SELECT 1_000", false, "", nil},
	{"trailing junk after number", "SELECT 123abc", false, "", nil},
	{"trailing junk after decimal", "SELECT 1.5x", false, "", nil},
	{"incomplete exponent", "SELECT 1e", false, "", nil},
	{"incomplete signed exponent", "SELECT 1e+ 2", false, "", nil},
	{"number before dot dot", "SELECT a[1..2]", false, "", nil},
	{"number after dot", "SELECT t.5", false, "", nil},
	{"decimal after decimal", "SELECT 1.5.5", false, "", nil},
	{"array subscripts", "SELECT a[1], a[2:3] FROM t", true, "SELECT a[$1], a[$2:$3] FROM t", []string{"1", "2", "3"}},
	{"digits inside identifiers", "SELECT col1, t2.x3 FROM s1.t2", true, "SELECT col1, t2.x3 FROM s1.t2", nil},
	{"cast", "SELECT 1::int, '1'::text", true, "SELECT $1::int, $2::text", []string{"1", "'1'"}},

	// Standard strings.
	{"string", "SELECT 'abc'", true, "SELECT $1", []string{"'abc'"}},
	{"doubled quote", "SELECT 'it''s', ''''", true, "SELECT $1, $2", []string{"'it''s'", "''''"}},
	{"backslash is ordinary in standard strings", `SELECT 'a\', 'b'`, true, "SELECT $1, $2", []string{`'a\'`, "'b'"}},
	{"empty string", "SELECT ''", true, "SELECT $1", []string{"''"}},
	{"unterminated string", "SELECT 'abc", false, "", nil},
	{"unterminated after doubled quote", "SELECT 'abc''", false, "", nil},
	{"multi-line string", "SELECT 'a\nb'", true, "SELECT $1", []string{"'a\nb'"}},

	// Continuation.
	{"continuation across newline", "SELECT 'a'\n'b' FROM t", true, "SELECT $1 FROM t", []string{"'a'\n'b'"}},
	{"continuation across CR and spaces", "SELECT 'a' \t\r\n  'b'\n\n'c'", true, "SELECT $1", []string{"'a' \t\r\n  'b'\n\n'c'"}},
	{"no continuation without newline", "SELECT 'a' 'b'", true, "SELECT $1 $2", []string{"'a'", "'b'"}},
	{"no continuation across block comment", "SELECT 'a' /* c */\n'b'", true, "SELECT $1 /* c */\n$2", []string{"'a'", "'b'"}},
	{"continuation across line comment is refused", "SELECT 'a' -- c\n'b'", false, "", nil},
	{"continuation after line comment line is refused", "SELECT 'a'\n-- c\n'b'", false, "", nil},
	{"line comment after string is kept", "SELECT 'a' -- c\nFROM t", true, "SELECT $1 -- c\nFROM t", []string{"'a'"}},
	{"escape string continuation keeps escapes", "SELECT E'a'\n'\\''", true, "SELECT $1", []string{"E'a'\n'\\''"}},
	{"bit string continuation", "SELECT B'10'\n'01'", true, "SELECT $1", []string{"B'10'\n'01'"}},

	// Escape strings.
	{"escape string", `SELECT E'x\'y', e'\\', E'\n\t\x41\101\u0041\U00000041'`, true, "SELECT $1, $2, $3", []string{`E'x\'y'`, `e'\\'`, `E'\n\t\x41\101\u0041\U00000041'`}},
	{"escaped quote does not end the string", `SELECT E'\'' || 'x'`, true, "SELECT $1 || $2", []string{`E'\''`, "'x'"}},
	{"non-ASCII unicode escape", `SELECT E'\u00e9'`, true, "SELECT $1", []string{`E'\u00e9'`}},
	{"escape string ending in backslash", `SELECT E'abc\`, false, "", nil},
	{"escape string unterminated by escaped quote", `SELECT E'abc\'`, false, "", nil},
	{"incomplete unicode escape", `SELECT E'\u12'`, false, "", nil},
	{"incomplete long unicode escape", `SELECT E'\U0001F60'`, false, "", nil},
	{"unicode escape out of range", `SELECT E'\U00110000'`, false, "", nil},
	{"unicode escape zero", `SELECT E'\u0000'`, false, "", nil},
	{"surrogate escape", `SELECT E'\uD83D\uDE00'`, false, "", nil},
	{"octal escape zero", `SELECT E'\0'`, false, "", nil},
	{"octal escape wraps to zero", `SELECT E'\400'`, false, "", nil},
	{"octal escape high byte", `SELECT E'\303\251'`, false, "", nil},
	{"hex escape high byte", `SELECT E'\xC3\xA9'`, false, "", nil},
	{"backslash x without hex digits", `SELECT E'\xg'`, true, "SELECT $1", []string{`E'\xg'`}},

	// Other string forms.
	{"unicode string", `SELECT U&'d\0061t'`, true, "SELECT $1", []string{`U&'d\0061t'`}},
	{"unicode string with UESCAPE", "SELECT U&'d!0061t' UESCAPE '!' FROM t", true, "SELECT $1 FROM t", []string{"U&'d!0061t' UESCAPE '!'"}},
	{"lower-case unicode string", "SELECT u&'x' uescape\n'#'", true, "SELECT $1", []string{"u&'x' uescape\n'#'"}},
	{"UESCAPE without string", "SELECT U&'x' UESCAPE", false, "", nil},
	{"UESCAPE after comment", "SELECT U&'x' /* c */ UESCAPE '!'", false, "", nil},
	{"UESCAPE string continued", "SELECT U&'x' UESCAPE '!'\n'?'", false, "", nil},
	{"U and ampersand apart", "SELECT U &'x'", false, "", nil},
	{"unicode identifier", `SELECT U&"d\0061t" FROM t`, true, `SELECT U&"d\0061t" FROM t`, nil},
	{"unicode identifier with UESCAPE", `SELECT U&"d!0061t" UESCAPE '!' FROM t`, false, "", nil},
	{"national string", "SELECT N'abc', n'x'", true, "SELECT $1, $2", []string{"N'abc'", "n'x'"}},
	{"bit strings", "SELECT B'101', b'', X'1F', x'ab'", true, "SELECT $1, $2, $3, $4", []string{"B'101'", "b''", "X'1F'", "x'ab'"}},
	{"bit string has no doubled quote", "SELECT B'1''0'", false, "", nil},
	{"typed literals keep their type", "SELECT DATE '2020-01-01', interval '1 day', timestamptz '2020-01-01 00:00+00'", true, "SELECT DATE $1, interval $2, timestamptz $3", []string{"'2020-01-01'", "'1 day'", "'2020-01-01 00:00+00'"}},
	{"typed literal without space", "SELECT DATE'2020-01-01'", false, "", nil},
	{"string touching a keyword", "SELECT 'a'AS x", false, "", nil},
	{"prefix letter inside an identifier", "SELECT xe'a'", false, "", nil},

	// Dollar quotes and parameters.
	{"dollar quote", "SELECT $$it's$$, $tag$a$$b$tag$, $a$x$b$y$a$", true, "SELECT $1, $2, $3", []string{"$$it's$$", "$tag$a$$b$tag$", "$a$x$b$y$a$"}},
	{"dollar quote tag is case sensitive", "SELECT $A$x$a$y$A$", true, "SELECT $1", []string{"$A$x$a$y$A$"}},
	{"dollar quote with non-ASCII tag", "SELECT $é$x$é$", true, "SELECT $1", []string{"$é$x$é$"}},
	{"unterminated dollar quote", "SELECT $a$xyz$b$", false, "", nil},
	{"parameters are not literals", "SELECT $1, 5, $2", true, "SELECT $1, $3, $2", []string{"5"}},
	{"parameter base is the highest parameter", "SELECT 1 WHERE a = $12 OR b = $3", true, "SELECT $13 WHERE a = $12 OR b = $3", []string{"1"}},
	{"parameter with trailing junk", "SELECT $1abc", false, "", nil},
	{"parameter touching a literal", "SELECT $1.5", false, "", nil},
	{"huge parameter", "SELECT $99999999999", false, "", nil},
	{"lone dollar", "SELECT $ 1", false, "", nil},
	{"dollar after identifier is part of it", "SELECT a$$b$$ FROM t", true, "SELECT a$$b$$ FROM t", nil},
	{"dollar quote then string across newline", "SELECT $$a$$\n'b'", false, "", nil},
	{"string then dollar quote across newline", "SELECT 'a'\n$$b$$", false, "", nil},
	{"string then escape string across newline", "SELECT 'a'\nE'b'", false, "", nil},
	{"string then dollar quote on one line", "SELECT 'a' || $$b$$", true, "SELECT $1 || $2", []string{"'a'", "$$b$$"}},
	{"dollar quote then parameter across newline", "SELECT $$a$$\n$1", true, "SELECT $2\n$1", []string{"$$a$$"}},

	// Identifiers and comments.
	{"quoted identifier", `SELECT "a""b", "it's" FROM "T"`, true, `SELECT "a""b", "it's" FROM "T"`, nil},
	{"empty quoted identifier", `SELECT ""`, false, "", nil},
	{"unterminated quoted identifier", `SELECT "abc`, false, "", nil},
	{"comments are kept", "SELECT /* 'x' */ 1 -- 'y'\n", true, "SELECT /* 'x' */ $1 -- 'y'\n", []string{"1"}},
	{"nested block comments", "SELECT /* a /* b */ 'c' */ 2", true, "SELECT /* a /* b */ 'c' */ $1", []string{"2"}},
	{"unterminated nested comment", "SELECT /* a /* b */ 1", false, "", nil},
	{"comment inside operator", "SELECT 1+/*x*/2, 3*-- y\n4", true, "SELECT $1+/*x*/$2, $3*-- y\n$4", []string{"1", "2", "3", "4"}},
	{"line comment at end without newline", "SELECT 1 -- bye", true, "SELECT $1 -- bye", []string{"1"}},

	// Characters PostgreSQL returns as lone tokens.
	{"backslash", `SELECT 1 \x`, false, "", nil},
	{"brace", "SELECT {1}", false, "", nil},
	{"vertical tab", "SELECT 1\v", false, "", nil},
	{"NUL", "SELECT 1\x00", false, "", nil},
	{"ampersand before literal", "SELECT x&5", false, "", nil},
	{"ampersand with space", "SELECT x & 5", true, "SELECT x & $1", []string{"5"}},

	// Whole statements.
	{"no literals", "SELECT a FROM t", true, "SELECT a FROM t", nil},
	{"empty", "", true, "", nil},
	{"ORDER BY position is lifted too", "SELECT a, b FROM t ORDER BY 1 LIMIT 10", true, "SELECT a, b FROM t ORDER BY $1 LIMIT $2", []string{"1", "10"}},
	{"type modifiers are lifted too", "SELECT x::varchar(10), y::numeric(12,2)", true, "SELECT x::varchar($1), y::numeric($2,$3)", []string{"10", "12", "2"}},
	{"IN list", "SELECT * FROM t WHERE id IN (1, 2, 3)", true, "SELECT * FROM t WHERE id IN ($1, $2, $3)", []string{"1", "2", "3"}},
	{"several statements", "SELECT 1; SELECT 'a';", true, "SELECT $1; SELECT $2;", []string{"1", "'a'"}},
	{"non-ASCII identifiers", "SELECT é FROM ünïcode WHERE é = 'ß'", true, "SELECT é FROM ünïcode WHERE é = $1", []string{"'ß'"}},
}

func TestNormalizeFollowsPostgreSQL15LexerRules(t *testing.T) {
	for _, c := range lexCases {
		t.Run(c.name, func(t *testing.T) {
			st, ok := Normalize(c.in)
			if ok != c.ok {
				t.Fatalf("Normalize(%q) ok = %v, want %v", c.in, ok, c.ok)
			}
			if !ok {
				return
			}
			if st.Text != c.text {
				t.Errorf("Text = %q, want %q", st.Text, c.text)
			}
			if !equalStrings(st.Literals, c.lits) {
				t.Errorf("Literals = %q, want %q", st.Literals, c.lits)
			}
			if got := st.Bind(); got != c.in {
				t.Errorf("Bind = %q, want the input back", got)
			}
		})
	}
}

func TestLexCasesAgreeWithPgQueryScanner(t *testing.T) {
	for _, c := range lexCases {
		t.Run(c.name, func(t *testing.T) { checkAgainstOracle(t, c.in) })
	}
}

func TestLiteralKindsMirrorPostgreSQLTokens(t *testing.T) {
	for lit, want := range map[string]kind{
		"42": kindInteger, "2147483647": kindInteger, "002147483647": kindInteger,
		"2147483648": kindNumeric, "4.2": kindNumeric, ".5": kindNumeric, "1e3": kindNumeric,
		"'a'": kindString, "E'a'": kindString, "e'a'": kindString, "$$a$$": kindString,
		"U&'a'": kindUnicode, "N'a'": kindNational, "B'1'": kindBit, "X'1F'": kindHex,
	} {
		if got := kindOf(lit); got != want {
			t.Errorf("kindOf(%q) = %v, want %v", lit, got, want)
		}
	}
}

func TestParamBaseSeparatesStatementsWithTheSameText(t *testing.T) {
	a, _ := Normalize("SELECT $1, 5")
	b, _ := Normalize("SELECT $1, $2")
	if a.Text != b.Text {
		t.Fatalf("texts differ: %q %q", a.Text, b.Text)
	}
	if a.ParamBase == b.ParamBase {
		t.Fatalf("ParamBase is %d for both; the cache key (Text, ParamBase) would collide", a.ParamBase)
	}
}

func TestPlaceholdersPastNineKeepPositions(t *testing.T) {
	in := "SELECT " + strings.Repeat("1, ", 120) + "'x'"
	st, ok := Normalize(in)
	if !ok || st.Bind() != in || !strings.HasSuffix(st.Text, "$120, $121") {
		t.Fatalf("ok=%v text=…%q", ok, st.Text[len(st.Text)-20:])
	}
}

func TestAuditDropsCommentsAndCollapsesWhitespace(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT * FROM t WHERE id = 42": "SELECT * FROM t WHERE id = $1",
		"  SELECT\n\t name -- patient Jane Doe\nFROM t /* MRN 123 */ WHERE x = 'Jane'  ": "SELECT name FROM t WHERE x = $1",
		"/* lead */SELECT/**/1--tail": "SELECT $1",
		"SELECT 1-/**/-2":             "SELECT $1- -$2",
		`SELECT "two  spaces" FROM t`: `SELECT "two  spaces" FROM t`,
		"SELECT 'a'\n'b', $2":         "SELECT $3, $2",
		"":                            "",
	} {
		got, ok := Audit(in)
		if !ok || got != want {
			t.Errorf("Audit(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := Audit("SELECT 'unterminated"); ok {
		t.Error("Audit accepted an unterminated string")
	}
}

func TestFingerprintIsFNV1a(t *testing.T) {
	// Reference values of 64-bit FNV-1a.
	if got := Fingerprint(""); got != 0xcbf29ce484222325 {
		t.Errorf("Fingerprint(\"\") = %#x", got)
	}
	if got := Fingerprint("a"); got != 0xaf63dc4c8601ec8c {
		t.Errorf("Fingerprint(\"a\") = %#x", got)
	}
	a, _ := Audit("SELECT * FROM t WHERE id = 1 -- x")
	b, _ := Audit("SELECT *  FROM t\nWHERE id = 2")
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("statements that differ only in literals, comments and layout have different fingerprints")
	}
}
