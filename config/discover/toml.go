package discover

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TOML renders proposals as the [tables] section of pgmask.toml. Every line carries a
// comment with its confidence and evidence; lines below ReviewBelow say REVIEW. Names
// pgmask cannot use (with a dot, empty, padded with spaces) are written commented out
// with the reason, so the output always loads.
func TOML(props []TableProposal) string {
	var b strings.Builder
	for i, p := range props {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeTable(&b, p)
	}
	return b.String()
}

func writeTable(b *strings.Builder, p TableProposal) {
	table := p.Schema + "." + p.Name
	header := "[tables." + tomlString(table) + "]"
	var usable []ColumnProposal
	for _, c := range p.Columns {
		if usableName(c.Name) {
			usable = append(usable, c)
		}
	}
	// A table pgmask cannot name, or with no column it can, is written commented out:
	// an empty columns table would not load.
	off := ""
	switch {
	case !usableName(p.Schema) || !usableName(p.Name):
		fmt.Fprintf(b, "# %s: pgmask cannot name this relation (a schema or table name is empty, padded or has a dot)\n", comment(table))
		off = "# "
	case len(usable) == 0:
		fmt.Fprintf(b, "# %s: no column pgmask can name, nothing to classify\n", comment(table))
		off = "# "
	}
	b.WriteString(off + header + "\n")
	if p.Note != "" {
		fmt.Fprintf(b, "# %s\n", comment(p.Note))
	}
	switch {
	case p.SubjectKey != "" && usableName(p.SubjectKey):
		fmt.Fprintf(b, "%ssubject_key = %s  # %s\n", off, tomlString(p.SubjectKey), note(p.Subject))
	case p.SubjectKey != "":
		fmt.Fprintf(b, "# subject_key: none proposed (pgmask cannot name the column %s)\n", comment(tomlString(p.SubjectKey)))
	case p.Subject.Reason != "":
		fmt.Fprintf(b, "# subject_key: none proposed (%s)\n", comment(p.Subject.Reason))
	default:
		b.WriteString("# subject_key: none proposed\n")
	}
	b.WriteString("\n" + off + "[tables." + tomlString(table) + ".columns]\n")

	width := 0
	values := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		width = max(width, utf8.RuneCountInString(tomlKey(c.Name)))
		values[i] = tomlString(c.Category)
	}
	valueWidth := 0
	for _, v := range values {
		valueWidth = max(valueWidth, len(v))
	}
	for i, c := range p.Columns {
		key := tomlKey(c.Name)
		line := key + strings.Repeat(" ", width-utf8.RuneCountInString(key)) + " = " +
			values[i] + strings.Repeat(" ", valueWidth-len(values[i])) + "  # " + note(c.Guess)
		if !usableName(c.Name) {
			line = "# " + line + " (pgmask cannot name this column: empty, padded or with a dot)"
		} else {
			line = off + line
		}
		b.WriteString(line + "\n")
	}
}

// note is the comment of a proposal: confidence, then the evidence.
func note(g Guess) string {
	review := ""
	if g.Review() {
		review = "REVIEW "
	}
	return fmt.Sprintf("%s%.2f: %s", review, g.Confidence, comment(g.Reason))
}

// usableName reports whether pgmask accepts s as a schema, table or column name (see
// config: catalog names, never empty, padded, with a dot or NUL) and TOML can carry it.
func usableName(s string) bool {
	return s != "" && strings.TrimSpace(s) == s && !strings.ContainsAny(s, ".\x00") && utf8.ValidString(s)
}

// tomlKey writes a key bare when TOML allows it, quoted otherwise.
func tomlKey(s string) string {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return tomlString(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// tomlString writes a TOML basic string. It escapes what TOML requires (quote,
// backslash, control characters and DEL) with TOML's own escapes, which are not Go's.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// comment makes s safe inside a TOML comment, which ends at a newline and may not
// hold other control characters.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
}
