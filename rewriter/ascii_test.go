package rewriter

import (
	"strings"
	"testing"
)

func TestStatementsWithNonASCIITextAreSentInASCIIWithTheSameMeaning(t *testing.T) {
	for _, sql := range []string{
		`SELECT 'café', "Größe" FROM clinic.patients`,
		`SELECT E'\\Ä\'', 'it''s ü', U&'\00E9'`,
		`SELECT * FROM clinic.patients WHERE last_name IN ('Núñez', 'Ørsted', '😀')`,
		`SET application_name = 'Zürich'`,
		`SELECT 1 /* ä comment */ -- ö`,
		`SELECT $tag$ß$tag$, 'a' || 'ü'`,
	} {
		res := rewriteAs(t, "support", sql)
		if res.Denial != nil {
			t.Errorf("%s: %v", sql, res.Denial)
			continue
		}
		if res.Unchanged || !isASCII(res.SQL) {
			t.Errorf("%s: sent as %q, want pure ASCII", sql, res.SQL)
		}
		if !strings.Contains(sql, "clinic.") && !sameTree(res.SQL, sql) {
			t.Errorf("%s: %q does not mean the same", sql, res.SQL)
		}
	}
}

func TestTheSJISBackslashTrickStaysOneStringConstant(t *testing.T) {
	// "Á" is C3 81 in UTF-8; in SJIS, 81 and the backslash after it are one character.
	res := rewriteAs(t, "support", "SELECT E'\xc3\x81\\' ; SELECT ssn FROM clinic.patients -- '")
	if res.Denial != nil {
		t.Fatal(res.Denial)
	}
	want := `SELECT U&'\00C1'' ; SELECT ssn FROM clinic.patients -- '`
	if res.SQL != want {
		t.Errorf("sent %q, want %q", res.SQL, want)
	}
}

func TestACommentOnlyStatementWithNonASCIITextIsSentEmpty(t *testing.T) {
	res := rewriteAs(t, "support", "/* \xc3\x81\\ */ -- é")
	if res.Denial != nil || res.Unchanged || res.SQL != "" {
		t.Errorf("got %+v, want an empty statement", res)
	}
}

func TestUnicodeEscapesKeepTheValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`'café'`, `U&'caf\00E9'`},
		{`'it''s ü'`, `U&'it''s \00FC'`},
		{`E'a\\b\'ö'`, `U&'a\\b''\00F6'`},
		{`'😀'`, `U&'\+01F600'`},
	} {
		if got, ok := unicodeString(c.in); !ok || got != c.want {
			t.Errorf("unicodeString(%s) = %s, %t; want %s", c.in, got, ok, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`"Größe"`, `U&"Gr\00F6\00DFe"`},
		{`"a""ä"`, `U&"a""\00E4"`},
		{`Äb`, `U&"\00C4b"`},
	} {
		if got, ok := unicodeIdent(c.in); !ok || got != c.want {
			t.Errorf("unicodeIdent(%s) = %s, %t; want %s", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{`$$é$$`, `E'\n'`, `'unterminated`, "'\xff'"} {
		if got, ok := unicodeString(bad); ok {
			t.Errorf("unicodeString(%s) = %s, want a refusal", bad, got)
		}
	}
}

func TestEscapedNewlinesAndBackslashesSurviveTheASCIIRewrite(t *testing.T) {
	res := rewriteAs(t, "support", "SELECT E'a\\nb\\\\c\\tä', 'x\ny é'")
	if res.Denial != nil || !isASCII(res.SQL) {
		t.Fatalf("got %+v", res)
	}
	if !sameTree(res.SQL, "SELECT E'a\\nb\\\\c\\tä', 'x\ny é'") {
		t.Errorf("%q does not mean the same", res.SQL)
	}
}
