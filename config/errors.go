package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration, located as precisely as the source allows:
//
//	pgmask.toml:14: roles.support.profile: unknown profile "minimal" (want one of ...)
//
// Load, Parse and CheckAndSetDefaults return every problem they find at once, as an
// errors.Join of *Error values sorted by line, so a DBA fixes a file in one round.
type Error struct {
	Where string // "file:line", "file", or "" for a Config built in code
	Key   string // the key path, as KeyPath formats it; "" for a syntax error
	Msg   string

	line int // for sorting; 0 when unknown
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where)
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errorf returns an *Error about the key path, located with Where. The rewriter uses
// it for the problems it finds when compiling a policy (a row filter that does not
// parse, a transform that does not fit a column type) so that they read exactly like
// the ones found here.
func (c *Config) Errorf(path []string, format string, args ...any) error {
	return c.errorAt(path, fmt.Sprintf(format, args...))
}

func (c *Config) errorAt(path []string, msg string) *Error {
	line, _ := c.line(path)
	return &Error{Where: c.Where(path...), Key: KeyPath(path...), Msg: msg, line: line}
}

// errorList collects the problems of one file.
type errorList []*Error

func (l *errorList) add(e *Error) { *l = append(*l, e) }

// join returns the problems in file order (then key order, so map iteration order
// never shows), or nil when there are none.
func (l errorList) join() error {
	if len(l) == 0 {
		return nil
	}
	sorted := slices.Clone(l)
	slices.SortStableFunc(sorted, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.line, b.line), strings.Compare(a.Key, b.Key), strings.Compare(a.Msg, b.Msg))
	})
	errs := make([]error, len(sorted))
	for i, e := range sorted {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// KeyPath formats a key path the way it is written in TOML, quoting the components
// that are not bare keys: KeyPath("tables", "clinic.notes") is `tables."clinic.notes"`.
// Array element components ("[2]") are left out: messages name the value instead.
func KeyPath(path ...string) string {
	var b strings.Builder
	for _, p := range path {
		if isElem(p) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if isBareKey(p) {
			b.WriteString(p)
		} else {
			b.WriteString(strconv.Quote(p))
		}
	}
	return b.String()
}

func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isBare(k[i]) {
			return false
		}
	}
	return true
}

func isElem(p string) bool {
	if len(p) < 3 || p[0] != '[' || p[len(p)-1] != ']' {
		return false
	}
	_, err := strconv.Atoi(p[1 : len(p)-1])
	return err == nil
}
