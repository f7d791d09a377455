package transform

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
)

//go:embed data/zip3-restricted.txt
var defaultZip3 []byte

// Zip3Table is a list of restricted three-digit ZIP prefixes with the Census vintage it
// was computed from.
//
// The file format: lines starting with '#' are comments, exactly one of which reads
// "# vintage: <which Census data>"; every other non-blank line is one three-digit
// prefix. Blank lines are ignored.
type Zip3Table struct {
	Vintage  string
	Prefixes []string
}

// DefaultZip3 returns the list shipped with pgmask: the 17 prefixes HHS published from
// 2000 Census data.
func DefaultZip3() Zip3Table {
	t, err := parseZip3(bytes.NewReader(defaultZip3), "data/zip3-restricted.txt")
	if err != nil {
		panic("transform: embedded ZIP3 table: " + err.Error())
	}
	return t
}

// LoadZip3 reads a DBA-provided replacement list in the same format.
func LoadZip3(path string) (Zip3Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return Zip3Table{}, fmt.Errorf("ZIP3 table: %w", err)
	}
	defer f.Close()
	return parseZip3(f, path)
}

func parseZip3(r io.Reader, name string) (Zip3Table, error) {
	var t Zip3Table
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "":
		case strings.HasPrefix(s, "#"):
			c := strings.TrimSpace(strings.TrimPrefix(s, "#"))
			if v, ok := strings.CutPrefix(c, "vintage:"); ok {
				if t.Vintage != "" {
					return Zip3Table{}, fmt.Errorf("%s:%d: second vintage line", name, line)
				}
				if t.Vintage = strings.TrimSpace(v); t.Vintage == "" {
					return Zip3Table{}, fmt.Errorf("%s:%d: empty vintage", name, line)
				}
			}
		case !isZip3(s):
			return Zip3Table{}, fmt.Errorf("%s:%d: %q is not a three-digit ZIP prefix", name, line, s)
		default:
			if prev, dup := seen[s]; dup {
				return Zip3Table{}, fmt.Errorf("%s:%d: prefix %s already listed on line %d", name, line, s, prev)
			}
			seen[s] = line
			t.Prefixes = append(t.Prefixes, s)
		}
	}
	if err := sc.Err(); err != nil {
		return Zip3Table{}, fmt.Errorf("%s: %w", name, err)
	}
	if t.Vintage == "" {
		return Zip3Table{}, fmt.Errorf(`%s: missing "# vintage: <Census data>" line`, name)
	}
	return t, nil
}

func isZip3(s string) bool {
	return len(s) == 3 && strings.Trim(s, "0123456789") == ""
}

// zip3Expr ("zip3") keeps the first three digits of a ZIP code, as Safe Harbor allows
// (164.514(b)(2)(i)(B)), and reports the restricted prefixes (env.Zip3Restricted) as
// '000': '12345' → '123', '03601' → '000', '12345-6789' → '123'. Surrounding blanks
// are ignored; a value that does not start with three digits gives NULL, since it
// cannot be generalized safely. The result keeps the column's type (character(5)
// pads '123' with blanks).
func zip3Expr(s Spec, c Column, t colType, env Env) (string, error) {
	if t.kind != kindText {
		return "", typeError(s, t, "a text column (ZIP codes stored as numbers lose their leading zeros)")
	}
	if t.length > 0 && t.length < 3 {
		return "", typeError(s, t, "a column that can hold three characters")
	}
	restricted := env.Zip3Restricted
	if restricted == nil {
		restricted = DefaultZip3().Prefixes
	}
	quoted := make([]string, len(restricted))
	for i, p := range restricted {
		if !isZip3(p) {
			return "", fmt.Errorf("transform %s: restricted prefix %q is not three digits", s, p)
		}
		quoted[i] = lit(p)
	}
	v := fn("btrim", asText(c.Ref))
	prefix := fn("left", v, "3")
	isRestricted := "(" + prefix + " OPERATOR(pg_catalog.=) ANY (" + cast("ARRAY["+strings.Join(quoted, ", ")+"]", "pg_catalog.text[]") + "))"
	if len(quoted) == 0 {
		isRestricted = "false"
	}
	return cast(caseWhen([]when{
		{op(v, "!~", text("^[0-9]{3}")), "NULL"},
		{isRestricted, text("000")},
	}, prefix), t.cast), nil
}
