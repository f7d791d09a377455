package config

import (
	"slices"
	"strings"
	"testing"
)

func TestWellFormedTransformsParse(t *testing.T) {
	tests := []struct {
		in   string
		want Transform
		text string // canonical form
	}{
		{"keep", Transform{Name: "keep"}, "keep"},
		{"  exclude ", Transform{Name: "exclude"}, "exclude"},
		{"last4", Transform{Name: "last4"}, "last4"},
		{"partial(0,4)", Transform{Name: "partial", Args: []string{"0", "4"}}, "partial(0, 4)"},
		{"partial( 2 , 007 )", Transform{Name: "partial", Args: []string{"2", "7"}}, "partial(2, 7)"},
		{"bucket(5)", Transform{Name: "bucket", Args: []string{"5"}}, "bucket(5)"},
		{"bucket(0.5)", Transform{Name: "bucket", Args: []string{"0.5"}}, "bucket(0.5)"},
		{"round(0)", Transform{Name: "round", Args: []string{"0"}}, "round(0)"},
		{"date_shift(365)", Transform{Name: "date_shift", Args: []string{"365"}}, "date_shift(365)"},
		{`expr("left(zip, 3) || 'XX'")`, Transform{Name: "expr", Args: []string{"left(zip, 3) || 'XX'"}}, `expr("left(zip, 3) || 'XX'")`},
		{`expr("lower(\"Name\")")`, Transform{Name: "expr", Args: []string{`lower("Name")`}}, `expr("lower(\"Name\")")`},
	}
	for _, tt := range tests {
		got, err := ParseTransform(tt.in)
		if err != nil {
			t.Errorf("ParseTransform(%q): %v", tt.in, err)
			continue
		}
		if got.Name != tt.want.Name || !slices.Equal(got.Args, tt.want.Args) {
			t.Errorf("ParseTransform(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if got.String() != tt.text {
			t.Errorf("ParseTransform(%q).String() = %s, want %s", tt.in, got, tt.text)
		}
	}
}

func TestEveryKnownTransformParses(t *testing.T) {
	example := map[string]string{"partial": "partial(1, 1)", "bucket": "bucket(10)", "round": "round(2)", "date_shift": "date_shift(30)", "expr": `expr("1")`}
	for _, name := range Transforms {
		in := name
		if e, ok := example[name]; ok {
			in = e
		}
		if _, err := ParseTransform(in); err != nil {
			t.Errorf("ParseTransform(%q): %v", in, err)
		}
	}
}

func TestMalformedTransformsAreRejectedWithTheReason(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `unknown transform "" (want one of keep, exclude, null, redact, last4, partial(first, last)`},
		{"scramble", `unknown transform "scramble" (want one of`},
		{"Keep", `unknown transform "Keep" (did you mean "keep"?)`},
		{"last5", `unknown transform "last5" (did you mean "last4"?)`},
		{"partal(0, 4)", `unknown transform "partal(0, 4)" (did you mean "partial(first, last)"?)`},
		{"keep()", `transform "keep" takes no arguments`},
		{"last4(2)", `transform "last4" takes no arguments`},
		{"partial", `transform "partial" needs arguments: partial(first, last)`},
		{"partial(1)", `transform "partial" wants 2 argument(s), partial(first, last), got 1`},
		{"partial(1, 2, 3)", "wants 2 argument(s)"},
		{"partial(1, )", `last must be an integer ≥ 0, got ""`},
		{"partial(a, 1)", `first must be an integer ≥ 0, got "a"`},
		{"partial(0, 4", "missing closing parenthesis"},
		{"bucket()", "wants 1 argument(s), bucket(width), got 0"},
		{"bucket(0)", `width must be a number > 0, got "0"`},
		{"bucket(0.0)", `width must be a number > 0, got "0.0"`},
		{"bucket(-5)", `width must be a number > 0, got "-5"`},
		{"bucket(1e3)", `width must be a number > 0, got "1e3"`},
		{"round(-1)", `n must be an integer ≥ 0, got "-1"`},
		{"round(1.5)", `n must be an integer ≥ 0, got "1.5"`},
		{"date_shift(0)", `days must be an integer > 0, got "0"`},
		{"expr(lower(x))", "SQL expression must be a double-quoted string, got lower(x)"},
		{`expr("")`, "SQL expression must not be empty"},
		{`expr("a", "b")`, "wants 1 argument(s)"},
		{`expr("unterminated)`, "unterminated string"},
		{`expr("a") junk)`, "is not a valid double-quoted string"},
	}
	for _, tt := range tests {
		_, err := ParseTransform(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTransform(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}
