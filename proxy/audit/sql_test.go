package audit

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

func TestNormalizeReplacesEveryLiteralAndComment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT * FROM clinic.patients WHERE ssn = '987-65-4329'", "SELECT * FROM clinic.patients WHERE ssn = ?"},
		{"select 1, 2.5, .5, 1e-3, 0x1F, 1_000", "select ?, ?, ?, ?, ?, ?"},
		{"SELECT E'it\\'s John', 'O''Brien'", "SELECT ?, ?"},
		{"SELECT $$John Doe$$, $tag$a $$ b$tag$", "SELECT ?, ?"},
		{"SELECT B'0101', X'ff', N'Jane', U&'d\\0061t' UESCAPE '!'", "SELECT ?, ?, N?, ? UESCAPE ?"},
		{"SELECT date '1970-01-01', interval '1 day'", "SELECT date ?, interval ?"},
		{"SELECT a -- patient Jane Roe\nFROM t /* mrn 12345 /* nested */ still */ WHERE b = $1", "SELECT a FROM t WHERE b = $1"},
		{`SELECT "first name", t1.col2 FROM "Clinic"."Patients" t1`, `SELECT "first name", t1.col2 FROM "Clinic"."Patients" t1`},
		{"SELECT x FROM t WHERE y IN (1,2,3) AND z=-4", "SELECT x FROM t WHERE y IN (?,?,?) AND z=-?"},
		{"  SELECT\n\t1  ", "SELECT ?"},
		{"SELECT 'unterminated John", "SELECT ?"},
		{"SELECT $a$ unterminated", "SELECT ?"},
		{"SELECT a$b, $1::int", "SELECT a$b, $1::int"},
	}
	for _, tc := range tests {
		if got := Normalize(tc.in).String(); got != tc.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestFingerprintIgnoresLiteralsCaseAndSpacing(t *testing.T) {
	a := Normalize("SELECT * FROM t WHERE id = 42")
	b := Normalize("select *  from t\nwhere id = 7 -- lookup")
	c := Normalize("SELECT * FROM t WHERE name = 42")
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("same shape, different fingerprints: %s %s", a.Fingerprint(), b.Fingerprint())
	}
	if a.Fingerprint() == c.Fingerprint() {
		t.Error("different statements share a fingerprint")
	}
	if len(a.Fingerprint()) != 16 {
		t.Errorf("fingerprint %q: want 16 hex digits", a.Fingerprint())
	}
}

func TestNormalizeCapsLongStatements(t *testing.T) {
	long := "SELECT " + strings.Repeat("col, ", 10000) + "x FROM t"
	q := Normalize(long)
	if len(q.String()) > maxSQLBytes {
		t.Errorf("normalized text is %d bytes, cap %d", len(q.String()), maxSQLBytes)
	}
	if !strings.HasSuffix(q.String(), "…") {
		t.Error("a cut statement should end with …")
	}
}

func TestSanitizeMessageKeepsNamesAndDropsValues(t *testing.T) {
	tests := []struct{ in, want string }{
		{`column "ssn" is not available to role support`, `column "ssn" is not available to role support`},
		{`syntax error at or near "'987-65-4329'"`, `syntax error at or near "?"`},
		{`syntax error at or near "987"`, `syntax error at or near "?"`},
		{`invalid input syntax for type date: '1970-13-01'`, `invalid input syntax for type date: '?'`},
		{`relation "clinic.notes" is not available to role r2 (10 rows)`, `relation "clinic.notes" is not available to role r2 (? rows)`},
	}
	for _, tc := range tests {
		if got := sanitizeMessage(tc.in); got != tc.want {
			t.Errorf("sanitizeMessage(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNormalizeMatchesPostgresScanner checks the scrubber against PostgreSQL's own
// lexer: dropping comments and turning each literal token into "?" must give the same
// text as Normalize (ignoring whitespace). A scrubber that ended a literal too early
// would leave the rest of it in the output as words, and fail here.
func FuzzNormalizeMatchesPostgresScanner(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM t WHERE ssn = '123-45-6789' AND dob > date '1970-01-01'",
		"SELECT E'a\\'b', 'c''d', $$x$$, $q$y$q$, B'01', X'af', N'n', U&'u'",
		"SELECT 1.5e10, .5, 0x1f, 0o17, 0b101, 1_000, -3 /* c /* n */ */ -- e\n",
		`SELECT "a""b", $1, a$b FROM "T" WHERE x <> 'y'`,
		"select e'\\\\', 'x'\n'y'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		scan, err := pg_query.Scan(sql)
		if err != nil || strings.ContainsRune(sql, 0) || !utf8.ValidString(sql) {
			return // not SQL a UTF-8 PostgreSQL could even tokenize
		}
		var want strings.Builder
		for _, tok := range scan.Tokens {
			text := sql[tok.Start:tok.End]
			switch tok.Token {
			case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			case pg_query.Token_SCONST, pg_query.Token_USCONST, pg_query.Token_BCONST,
				pg_query.Token_XCONST, pg_query.Token_ICONST, pg_query.Token_FCONST:
				want.WriteString("?")
			default:
				want.WriteString(text)
			}
		}
		got := Normalize(sql).String()
		if strings.HasSuffix(got, "…") {
			return // capped
		}
		if w, g := noSpace(want.String()), noSpace(got); w != g {
			t.Fatalf("Normalize(%q)\n got %q\nwant %q (from PostgreSQL's tokens)", sql, g, w)
		}
	})
}

// noSpace drops whitespace and merges runs of "?": PostgreSQL joins string constants
// separated by a newline ('a'\n'b') into one, which Normalize leaves as two.
func noSpace(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	for strings.Contains(s, "??") {
		s = strings.ReplaceAll(s, "??", "?")
	}
	return s
}
