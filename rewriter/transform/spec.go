package transform

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Spec is a parsed transform reference as written in pgmask.toml: "last4",
// "partial(1,4)", "bucket(10)", `expr("left(value, 1)")`.
type Spec struct {
	Name string
	Args []string
}

// Column is the column a transform is applied to.
type Column struct {
	// Ref is the SQL expression referencing the raw column, already quoted, e.g. t."ssn".
	Ref string
	// Type is the column type as pg_catalog.format_type() prints it. Types outside
	// pg_catalog must be schema-qualified, as format_type prints them when run under
	// an empty search_path: an unqualified name could be shadowed by a lookalike.
	Type string
	// Subject is the SQL expression for the row's subject key (the patient id), already
	// quoted; "" if the table has none.
	Subject string
}

// Env carries what a transform may depend on besides the column.
type Env struct {
	// Key is the secret of keyed transforms: for hash the per-role, per-column key
	// (DeriveKey); for date_shift one key for all of a role's date columns
	// (DeriveSubjectKey), so that a subject's dates move together.
	Key []byte
	// Today is the reference day for age computations (an injected clock).
	Today time.Time
	// Zip3Restricted lists the restricted 3-digit ZIP prefixes (see Zip3Table). nil
	// means the embedded DefaultZip3 list; an empty non-nil slice restricts none.
	Zip3Restricted []string
}

// TypeError says that a transform does not fit the type of the column it is applied to.
type TypeError struct {
	Transform string // the spec, as written
	Type      string // the column type
	Want      string // what the transform accepts
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("transform %s does not apply to a column of type %s: it needs %s", e.Transform, e.Type, e.Want)
}

// transform is one entry of the library.
type transform struct {
	// args validates the arguments of a spec (their number and form).
	args func(args []string) error
	// expr generates the SQL expression for a column of type t.
	expr func(s Spec, c Column, t colType, env Env) (string, error)
}

// library maps every transform name to its implementation. exclude has no expr:
// the column is dropped from the derived table.
var library map[string]transform

func init() {
	library = map[string]transform{
		"keep":            {noArgs, keepExpr},
		"exclude":         {noArgs, nil},
		"null":            {noArgs, nullExpr},
		"redact":          {noArgs, redactExpr},
		"last4":           {noArgs, last4Expr},
		"partial":         {partialArgs, partialExpr},
		"email_domain":    {noArgs, emailDomainExpr},
		"hash":            {noArgs, hashExpr},
		"year":            {noArgs, yearExpr},
		"month":           {noArgs, monthExpr},
		"date_shift":      {dateShiftArgs, dateShiftExpr},
		"zip3":            {noArgs, zip3Expr},
		"age_top90":       {noArgs, ageTop90Expr},
		"bucket":          {bucketArgs, bucketExpr},
		"round":           {roundArgs, roundExpr},
		"redact_patterns": {noArgs, redactPatternsExpr},
		"expr":            {exprArgs, exprExpr},
		CodeName:          {noArgs, codeExpr},
	}
}

// Names returns the known transform names, sorted.
func Names() []string {
	names := make([]string, 0, len(library))
	for n := range library {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Parse parses a transform reference: a lowercase name (see Names), optionally
// followed by a parenthesized, comma-separated argument list. An argument is a bare
// word (a number or a name) or a double-quoted string in which \" and \\ stand for "
// and \. The arguments are checked against the transform, so a Spec that parses is one
// Expr can generate (given a column of a fitting type); an expr() argument is fully
// checked here already, so `pgmask check` reports a bad one at load time.
func Parse(s string) (Spec, error) {
	src := s
	s = strings.TrimSpace(s)
	name := s
	var args []string
	if i := strings.IndexByte(s, '('); i >= 0 {
		name = strings.TrimSpace(s[:i])
		var err error
		args, err = parseArgs(s[i+1:])
		if err != nil {
			return Spec{}, fmt.Errorf("transform %q: %w", src, err)
		}
	}
	t, ok := library[name]
	if !ok {
		if name == "" {
			return Spec{}, fmt.Errorf("transform %q: missing name", src)
		}
		return Spec{}, fmt.Errorf("transform %q: unknown transform %q (known: %s)", src, name, strings.Join(Names(), ", "))
	}
	if err := t.args(args); err != nil {
		return Spec{}, fmt.Errorf("transform %q: %s: %w", src, name, err)
	}
	return Spec{Name: name, Args: args}, nil
}

// parseArgs parses what follows the opening parenthesis of a spec.
func parseArgs(s string) ([]string, error) {
	var args []string
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, ")") {
		if strings.TrimSpace(s[1:]) != "" {
			return nil, errors.New("text after the closing parenthesis")
		}
		return nil, nil
	}
	for {
		s = strings.TrimLeft(s, " \t")
		var arg string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
					if i == len(s) || (s[i] != '"' && s[i] != '\\') {
						return nil, errors.New(`only \" and \\ may follow a backslash in a quoted argument`)
					}
				}
				b.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New("unterminated quoted argument")
			}
			arg, s = b.String(), s[i+1:]
		} else {
			i := strings.IndexAny(s, ",)")
			if i < 0 {
				return nil, errors.New("missing closing parenthesis")
			}
			arg, s = strings.TrimSpace(s[:i]), s[i:]
			if !isBare(arg) {
				return nil, fmt.Errorf("argument %q must be a number, a word or a double-quoted string", arg)
			}
		}
		args = append(args, arg)
		s = strings.TrimLeft(s, " \t")
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, ")"):
			if strings.TrimSpace(s[1:]) != "" {
				return nil, errors.New("text after the closing parenthesis")
			}
			return args, nil
		default:
			return nil, errors.New("missing closing parenthesis")
		}
	}
}

// isBare reports whether an argument can be written without quotes.
func isBare(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.+-", r)) {
			return false
		}
	}
	return true
}

// String returns the spec as Parse reads it back.
func (s Spec) String() string {
	if len(s.Args) == 0 {
		return s.Name
	}
	parts := make([]string, len(s.Args))
	for i, a := range s.Args {
		if isBare(a) {
			parts[i] = a
		} else {
			parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
	}
	return s.Name + "(" + strings.Join(parts, ", ") + ")"
}

// Excludes reports whether the column is dropped from the derived table altogether
// (the "exclude" transform); Expr is not called for such a column.
func (s Spec) Excludes() bool { return s.Name == "exclude" }

// Expr returns the SQL expression that yields the masked value of column c. It fails
// with a *TypeError when the transform does not fit the column type.
func (s Spec) Expr(c Column, env Env) (string, error) {
	t, ok := library[s.Name]
	if !ok {
		return "", fmt.Errorf("unknown transform %q", s.Name)
	}
	if err := t.args(s.Args); err != nil {
		return "", fmt.Errorf("transform %s: %w", s, err)
	}
	if t.expr == nil {
		return "", fmt.Errorf("transform %s produces no expression: the column is left out", s)
	}
	if strings.TrimSpace(c.Ref) == "" {
		return "", fmt.Errorf("transform %s: empty column reference", s)
	}
	if s.Name == "keep" {
		return c.Ref, nil // the type plays no part
	}
	ct, err := parseType(c.Type)
	if err != nil {
		return "", fmt.Errorf("transform %s: %w", s, err)
	}
	return t.expr(s, c, ct, env)
}

// typeError builds the error for a transform applied to a column it does not fit.
func typeError(s Spec, t colType, want string) error {
	return &TypeError{Transform: s.String(), Type: t.name, Want: want}
}

func noArgs(args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("takes no arguments, got %d", len(args))
	}
	return nil
}

// intArg parses an integer argument within [lo, hi].
func intArg(what, s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer from %d to %d, got %q", what, lo, hi, s)
	}
	return n, nil
}

// keepExpr ("keep") shows the column as it is: for roles and purposes entitled to the
// value (treatment, or a category such as state that is not an identifier).
func keepExpr(_ Spec, c Column, _ colType, _ Env) (string, error) { return c.Ref, nil }
