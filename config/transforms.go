package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Transform names. A transform is written as a name, or a name with arguments in
// parentheses: "last4", "partial(0, 4)", `expr("left(zip, 3)")`. This package checks
// only the syntax; whether a transform fits a column's type, and what SQL it becomes,
// is the rewriter's business.
const (
	TransformKeep           = "keep"            // the raw value
	TransformExclude        = "exclude"         // the column is not there at all
	TransformNull           = "null"            // the column is there, always NULL
	TransformRedact         = "redact"          // a type-appropriate constant
	TransformLast4          = "last4"           // all but the last four characters masked
	TransformPartial        = "partial"         // partial(first, last): keep first and last characters
	TransformEmailDomain    = "email_domain"    // only the part after @
	TransformHash           = "hash"            // keyed HMAC-SHA-256, per role and column
	TransformYear           = "year"            // a date reduced to January 1st of its year
	TransformMonth          = "month"           // a date reduced to the first of its month
	TransformZIP3           = "zip3"            // first three ZIP digits, restricted areas → 000
	TransformAgeTop90       = "age_top90"       // ages over 89 → 90
	TransformBucket         = "bucket"          // bucket(width): rounded down to a multiple of width
	TransformRound          = "round"           // round(n): rounded to n decimal digits
	TransformDateShift      = "date_shift"      // date_shift(days): shifted per subject by up to ±days
	TransformRedactPatterns = "redact_patterns" // SSN, phone and email patterns in free text masked
	TransformExpr           = "expr"            // expr("SQL"): a vetted SQL expression
	TransformCode           = "code"            // the subject's random re-identification code (164.514(c))
)

// transformParams describes the arguments of every transform; one without an entry
// takes none.
var transformParams = map[string][]param{
	TransformPartial:   {{"first", nonNegativeInt}, {"last", nonNegativeInt}},
	TransformBucket:    {{"width", positiveNumber}},
	TransformRound:     {{"n", nonNegativeInt}},
	TransformDateShift: {{"days", positiveInt}},
	TransformExpr:      {{"SQL expression", sqlString}},
}

// Transforms lists every transform name.
var Transforms = []string{
	TransformKeep, TransformExclude, TransformNull, TransformRedact, TransformLast4,
	TransformPartial, TransformEmailDomain, TransformHash, TransformYear, TransformMonth,
	TransformZIP3, TransformAgeTop90, TransformBucket, TransformRound, TransformDateShift,
	TransformRedactPatterns, TransformExpr, TransformCode,
}

// Transform is a parsed transform.
type Transform struct {
	Name string
	// Args holds the arguments as written, checked: integers and decimal numbers in
	// their written form (strconv.Atoi accepts the integer ones), and the SQL text of
	// expr without its quotes.
	Args []string
}

// String returns the transform in its canonical written form.
func (t Transform) String() string {
	if len(t.Args) == 0 {
		return t.Name
	}
	args := slices.Clone(t.Args)
	if t.Name == TransformExpr {
		args[0] = strconv.Quote(args[0])
	}
	return t.Name + "(" + strings.Join(args, ", ") + ")"
}

var transformName = regexp.MustCompile(`^[a-z0-9_]+$`)

// ParseTransform parses a transform as written in roles.X.transforms or
// roles.X.columns.
func ParseTransform(s string) (Transform, error) {
	text := strings.TrimSpace(s)
	name, rest, hasArgs := strings.Cut(text, "(")
	name = strings.TrimSpace(name)
	if !transformName.MatchString(name) || !slices.Contains(Transforms, name) {
		if best := closest(name, Transforms); best != "" {
			return Transform{}, fmt.Errorf("unknown transform %q (did you mean %q?)", s, signature(best))
		}
		all := make([]string, len(Transforms))
		for i, t := range Transforms {
			all[i] = signature(t)
		}
		return Transform{}, fmt.Errorf("unknown transform %q (want one of %s)", s, strings.Join(all, ", "))
	}
	params := transformParams[name]
	if !hasArgs {
		if len(params) > 0 {
			return Transform{}, fmt.Errorf("transform %q needs arguments: %s", name, signature(name))
		}
		return Transform{Name: name}, nil
	}
	if !strings.HasSuffix(rest, ")") {
		return Transform{}, fmt.Errorf("transform %q: missing closing parenthesis", s)
	}
	if len(params) == 0 {
		return Transform{}, fmt.Errorf("transform %q takes no arguments", name)
	}
	args, err := splitArgs(strings.TrimSuffix(rest, ")"))
	if err != nil {
		return Transform{}, fmt.Errorf("transform %q: %v", s, err)
	}
	if len(args) != len(params) {
		return Transform{}, fmt.Errorf("transform %q wants %d argument(s), %s, got %d", name, len(params), signature(name), len(args))
	}
	for i, p := range params {
		v, err := p.check(args[i])
		if err != nil {
			return Transform{}, fmt.Errorf("transform %q: %s %v", s, p.name, err)
		}
		args[i] = v
	}
	return Transform{Name: name, Args: args}, nil
}

type param struct {
	name  string
	check func(string) (string, error)
}

// signature shows how a transform is written: "partial(first, last)", "hash".
func signature(name string) string {
	params := transformParams[name]
	if len(params) == 0 {
		return name
	}
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.name
	}
	return name + "(" + strings.Join(names, ", ") + ")"
}

// splitArgs splits on commas outside double-quoted strings and trims each argument.
func splitArgs(s string) ([]string, error) {
	var args []string
	start, inString := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && c == ',':
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if inString {
		return nil, fmt.Errorf("unterminated string")
	}
	args = append(args, strings.TrimSpace(s[start:]))
	if len(args) == 1 && args[0] == "" {
		return nil, nil
	}
	return args, nil
}

func nonNegativeInt(s string) (string, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return "", fmt.Errorf("must be an integer ≥ 0, got %q", s)
	}
	return strconv.Itoa(n), nil
}

func positiveInt(s string) (string, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return "", fmt.Errorf("must be an integer > 0, got %q", s)
	}
	return strconv.Itoa(n), nil
}

// decimal is a plain decimal number as SQL writes it: no sign, exponent, hex or
// underscores, so the rewriter can put it into SQL as it is.
var decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func positiveNumber(s string) (string, error) {
	if !decimal.MatchString(s) || strings.Trim(s, "0.") == "" {
		return "", fmt.Errorf("must be a number > 0, got %q", s)
	}
	return s, nil
}

func sqlString(s string) (string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", fmt.Errorf(`must be a double-quoted string, got %s`, s)
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		return "", fmt.Errorf("is not a valid double-quoted string: %s", s)
	}
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("must not be empty")
	}
	return v, nil
}
