package transform

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseReadsNamesAndArguments(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Spec
	}{
		{"last4", Spec{Name: "last4"}},
		{"  keep ", Spec{Name: "keep"}},
		{"hash()", Spec{Name: "hash"}},
		{"partial(1,4)", Spec{Name: "partial", Args: []string{"1", "4"}}},
		{"partial( 2 , 0 )", Spec{Name: "partial", Args: []string{"2", "0"}}},
		{"bucket(10)", Spec{Name: "bucket", Args: []string{"10"}}},
		{"bucket(0.5)", Spec{Name: "bucket", Args: []string{"0.5"}}},
		{"round(-2)", Spec{Name: "round", Args: []string{"-2"}}},
		{"date_shift(30)", Spec{Name: "date_shift", Args: []string{"30"}}},
		{`expr("left(value, 1)")`, Spec{Name: "expr", Args: []string{"left(value, 1)"}}},
		{`expr("value || '\"x\\'")`, Spec{Name: "expr", Args: []string{`value || '"x\'`}}},
	} {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", c.in, got, c.want)
		}
		again, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Parse(%q.String() = %q) = %#v, %v; want the same spec", c.in, got.String(), again, err)
		}
	}
}

func TestParseRefusesMalformedOrUnknownSpecs(t *testing.T) {
	for _, c := range []struct{ in, wantErr string }{
		{"", "missing name"},
		{"lastfour", `unknown transform "lastfour"`},
		{"LAST4", "unknown transform"},
		{"last4(1)", "takes no arguments"},
		{"partial(1)", "takes two arguments"},
		{"partial(a,b)", "first must be an integer"},
		{"partial(-1,4)", "first must be an integer from 0"},
		{"partial(1,4", "missing closing parenthesis"},
		{"partial(1,4) x", "text after the closing parenthesis"},
		{"bucket(0)", "width must be a positive number"},
		{"bucket(-10)", "width must be a positive number"},
		{"bucket(1e3)", "width must be a positive number"},
		{"bucket(10; drop)", "must be a number, a word or a double-quoted string"},
		{"round(1.5)", "n must be an integer"},
		{"date_shift(0)", "days must be an integer from 1"},
		{"date_shift()", "takes one argument"},
		{`expr("value`, "unterminated quoted argument"},
		{`expr("\n")`, `only \" and \\ may follow a backslash`},
		{`expr(other)`, `only the column reference value is allowed, found "other"`},
		{`expr("1")`, "does not use value"},
		{`expr("md5(value)")`, "function md5 is not allowed"},
		{`expr("a", "b")`, "takes one argument"},
	} {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error containing %q", c.in, c.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.in, err, c.wantErr)
		}
	}
}

func TestNamesListsEveryTransformOnce(t *testing.T) {
	want := []string{"age_top90", "bucket", "code", "date_shift", "email_domain", "exclude", "expr", "hash",
		"keep", "last4", "month", "null", "partial", "redact", "redact_patterns", "round", "year", "zip3"}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestOnlyExcludeExcludesTheColumn(t *testing.T) {
	for _, n := range Names() {
		s := Spec{Name: n}
		if got := s.Excludes(); got != (n == "exclude") {
			t.Errorf("Spec{%s}.Excludes() = %v", n, got)
		}
	}
	if _, err := (Spec{Name: "exclude"}).Expr(Column{Ref: "t.x", Type: "text"}, Env{}); err == nil {
		t.Error("exclude produced an expression")
	}
}

func TestExprRefusesTransformsThatDoNotFitTheColumnType(t *testing.T) {
	env := Env{Key: []byte("k"), Today: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct{ spec, typ string }{
		{"last4", "integer"},
		{"partial(1,2)", "date"},
		{"email_domain", "uuid"},
		{"redact_patterns", "jsonb"},
		{"redact", "interval"},
		{"hash", "boolean"},
		{"hash", "date"},
		{"hash", "double precision"},
		{"year", "text"},
		{"year", "integer"},
		{"month", "character varying(10)"},
		{"date_shift(10)", "text"},
		{"zip3", "integer"},
		{"zip3", "character varying(2)"},
		{"age_top90", "text"},
		{"age_top90", "numeric(3,2)"},
		{"bucket(10)", "date"},
		{"bucket(10)", "text"},
		{"round(2)", "timestamp with time zone"},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Expr(Column{Ref: `t."c"`, Type: c.typ, Subject: `t."id"`}, env)
		var te *TypeError
		if !errors.As(err, &te) {
			t.Errorf("%s on %s: err = %v, want a *TypeError", c.spec, c.typ, err)
			continue
		}
		if !strings.Contains(err.Error(), s.String()) || !strings.Contains(err.Error(), c.typ) {
			t.Errorf("%s on %s: error %q does not name the transform and the type", c.spec, c.typ, err)
		}
	}
}

func TestExprRefusesMissingInputsClearly(t *testing.T) {
	for _, c := range []struct {
		spec    string
		col     Column
		env     Env
		wantErr string
	}{
		{"hash", Column{Ref: "t.c", Type: "text"}, Env{}, "needs a key"},
		{"date_shift(5)", Column{Ref: "t.c", Type: "date", Subject: "t.id"}, Env{}, "needs a key"},
		{"date_shift(5)", Column{Ref: "t.c", Type: "date"}, Env{Key: []byte("k")}, "subject key"},
		{"age_top90", Column{Ref: "t.c", Type: "date"}, Env{}, "Env.Today"},
		{"bucket(0.5)", Column{Ref: "t.c", Type: "integer"}, Env{}, "must be an integer"},
		{"round(-1)", Column{Ref: "t.c", Type: "integer"}, Env{}, "from 0 to 18"},
		{"zip3", Column{Ref: "t.c", Type: "text"}, Env{Zip3Restricted: []string{"12a"}}, "not three digits"},
		{"keep", Column{Ref: " ", Type: "text"}, Env{}, "empty column reference"},
		{"null", Column{Ref: "t.c", Type: "text); DROP TABLE x; --"}, Env{}, "not a plain type name"},
		{"null", Column{Ref: "t.c", Type: ""}, Env{}, "empty column type"},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Expr(c.col, c.env)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s on %+v: err = %v, want one containing %q", c.spec, c.col, err, c.wantErr)
		}
	}
}
