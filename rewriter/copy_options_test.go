package rewriter

import "testing"

// pg_query's deparser crashes the process (SIGSEGV) on COPY options written without a
// value, so these must be refused before the rewriter deparses anything.
func TestCopyOptionsWithoutAValueAreRefusedBeforeDeparsing(t *testing.T) {
	for _, sql := range []string{
		"COPY (SELECT id FROM clinic.patients) TO STDOUT WITH (FORMAT, csv)",
		"COPY clinic.patients TO STDOUT WITH (FORMAT)",
		"COPY clinic.patients TO STDOUT WITH (DELIMITER)",
		"COPY (SELECT 1) TO STDOUT WITH (NULL)",
		"COPY (SELECT 1) TO STDOUT WITH (ENCODING)",
		"COPY clinic.notes FROM STDIN WITH (QUOTE)",
	} {
		res := rewriteAs(t, "support", sql)
		if res.Denial == nil {
			t.Errorf("%s: rewritten to %q, want a denial", sql, res.SQL)
		}
	}
	if res := rewriteAs(t, "support", "COPY (SELECT id FROM clinic.patients) TO STDOUT WITH (FORMAT csv, HEADER)"); res.Denial != nil {
		t.Errorf("a well-formed COPY was refused: %v", res.Denial)
	}
}
