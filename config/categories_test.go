package config

import "testing"

func TestEveryCategoryButNoneAndStateIsAnIdentifier(t *testing.T) {
	if len(Categories) != 27 {
		t.Errorf("%d categories, want the 26 of the HIPAA list plus none", len(Categories))
	}
	for _, c := range Categories {
		want := c != "none" && c != "state"
		if got := IsIdentifier(c); got != want {
			t.Errorf("IsIdentifier(%q) = %t, want %t", c, got, want)
		}
	}
	if IsIdentifier("names") {
		t.Error("an unknown category is an identifier")
	}
}

func TestEveryWriteStatementIsAStatementKindAndNoDefaultWrites(t *testing.T) {
	for _, k := range writeStatements {
		if !IsStatementKind(k) {
			t.Errorf("write statement %q is not a statement kind", k)
		}
	}
	for _, k := range DefaultStatements {
		if IsWriteStatement(k) || !IsStatementKind(k) {
			t.Errorf("default statement %q writes or is unknown", k)
		}
	}
}
