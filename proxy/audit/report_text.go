package audit

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText prints the report for people: one section per question an access review
// asks, each sorted so that two reports of the same period compare line by line.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.header(r)
	p.columns(r)
	p.denials(r)
	p.breakGlass(r)
	p.unused(r)
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// table prints rows aligned in columns, indented.
func (p *printer) table(rows [][]string) {
	if p.err != nil || len(rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
	}
	p.err = tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (p *printer) header(r *Report) {
	p.printf("pgmask access review\n")
	from := r.First
	if !r.opts.Since.IsZero() {
		from = r.opts.Since
	}
	if r.Records == 0 {
		p.printf("No records in the period (%d files read).\n", r.Files)
		return
	}
	p.printf("Period: %s to %s, %d records from %d files.\n", stamp(from), stamp(r.Last), r.Records, r.Files)
	p.printf("The records were not verified here: run pgmask audit verify on the same files.\n")
}

func (p *printer) columns(r *Report) {
	if r.opts.Identifiers == nil {
		p.printf("\nColumns touched, by %s (statements per treatment; without --config every column is listed, identifier or not):\n", r.opts.By)
	} else {
		p.printf("\nIdentifier columns touched, by %s (statements per treatment):\n", r.opts.By)
	}
	if len(r.columns) == 0 {
		p.printf("  none\n")
		return
	}
	for _, group := range sortedKeys(r.columns) {
		p.printf("%s\n", orDash(group))
		keys := slices.SortedFunc(maps.Keys(r.columns[group]), func(a, b accessKey) int {
			return cmp.Or(cmp.Compare(a.item, b.item), cmp.Compare(rawFirst(a.treatment), rawFirst(b.treatment)))
		})
		rows := make([][]string, 0, len(keys))
		for _, k := range keys {
			rows = append(rows, []string{k.item, k.treatment, fmt.Sprint(r.columns[group][k])})
		}
		p.table(rows)
	}
}

// rawFirst sorts "raw" before the masked treatments.
func rawFirst(t string) string {
	if t == TreatmentRaw {
		return ""
	}
	return t
}

func (p *printer) denials(r *Report) {
	p.printf("\nDenied statements:\n")
	p.spans(r.denials, func(k denialKey) []string {
		return []string{k.user + " (" + orDash(k.role) + ")", orDash(k.sqlstate), k.reason}
	})
	p.printf("\nFailed logins:\n")
	p.spans(r.authFailures, func(k denialKey) []string { return []string{orDash(k.user), k.reason} })
}

func (p *printer) spans(m map[denialKey]*span, cols func(denialKey) []string) {
	if len(m) == 0 {
		p.printf("  none\n")
		return
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b denialKey) int {
		return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.role, b.role), cmp.Compare(a.sqlstate, b.sqlstate), cmp.Compare(a.reason, b.reason))
	})
	rows := [][]string{}
	for _, k := range keys {
		s := m[k]
		when := stamp(s.first)
		if s.n > 1 {
			when += " to " + stamp(s.last)
		}
		rows = append(rows, append([]string{fmt.Sprintf("%d×", s.n)}, append(cols(k), when)...))
	}
	p.table(rows)
}

func (p *printer) breakGlass(r *Report) {
	p.printf("\nBreak-glass:\n")
	if len(r.breakGlass) == 0 {
		p.printf("  none\n")
		return
	}
	rows := [][]string{}
	for _, rec := range r.breakGlass {
		switch rec.Kind {
		case KindBreakGlassStart:
			until := ""
			if rec.Until != nil {
				until = "until " + stamp(*rec.Until)
			}
			rows = append(rows, []string{stamp(rec.Time), "start", rec.User + " as " + rec.Role, until, "justification: " + quote(rec.Justification)})
		case KindBreakGlassEnd:
			rows = append(rows, []string{stamp(rec.Time), "end", rec.User + " as " + rec.Role, rec.Reason})
		}
	}
	p.table(rows)
}

func quote(s string) string {
	if s == "" {
		return "(none given)"
	}
	return fmt.Sprintf("%q", s)
}

func (p *printer) unused(r *Report) {
	p.printf("\nGrants never used in the period (candidates to narrow):\n")
	if r.opts.Grants == nil {
		p.printf("  skipped: no --config given, so the roles' grants are unknown\n")
		return
	}
	for _, role := range sortedKeys(r.opts.Grants) {
		g := r.opts.Grants[role]
		if r.roleStatements[role] == 0 {
			p.printf("%s: no statements at all in the period\n", role)
			continue
		}
		tables := missing(g.Tables, r.usedTables[role])
		raw := missing(g.RawColumns, r.usedRaw[role])
		if len(tables) == 0 && len(raw) == 0 {
			p.printf("%s: every granted table and raw identifier column was used\n", role)
			continue
		}
		p.printf("%s:\n", role)
		if len(tables) > 0 {
			p.printf("  tables never read: %s\n", strings.Join(tables, ", "))
		}
		if len(raw) > 0 {
			p.printf("  raw identifier columns never read: %s\n", strings.Join(raw, ", "))
		}
	}
}

func missing(granted []string, used map[string]bool) []string {
	var out []string
	for _, g := range granted {
		if !used[g] {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
