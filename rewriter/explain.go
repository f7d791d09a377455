package rewriter

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Explain rewrites sql as Rewrite does and describes the outcome for a DBA: what
// pgmask sends upstream (or why it refuses), and, relation by relation, how every
// column reaches the role and which row filter applies. `pgmask explain` prints it.
func Explain(sql string, c Context, p *Policy, cat *Catalog) string {
	var b strings.Builder
	profile := "unknown role"
	if p != nil {
		if r, ok := p.roles[c.Role]; ok {
			profile = "profile " + r.profile
		}
	}
	fmt.Fprintf(&b, "role %s (%s), search_path %q\n", c.Role, profile, c.SearchPath)
	res := Rewrite(sql, c, p, cat)
	switch {
	case res.Denial != nil:
		fmt.Fprintf(&b, "refused: %s (SQLSTATE %s)\n", res.Denial.Message, res.Denial.Code)
		if res.Denial.Hint != "" {
			fmt.Fprintf(&b, "hint: %s\n", res.Denial.Hint)
		}
		return b.String()
	case res.Unchanged:
		b.WriteString("forwarded unchanged:\n")
	default:
		b.WriteString("rewritten to:\n")
	}
	b.WriteString("  " + res.SQL + "\n")
	if len(res.Disclosures) == 0 {
		return b.String()
	}
	b.WriteString("reads:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	last := ""
	for _, d := range res.Disclosures {
		if d.Relation != last {
			fmt.Fprintf(tw, "  %s\n", d.Relation)
			last = d.Relation
		}
		if d.Column == "" {
			fmt.Fprintf(tw, "    (rows)\t%s\n", filterText(p, c.Role, d.Relation))
			continue
		}
		fmt.Fprintf(tw, "    %s\t%s\n", d.Column, d.Treatment)
	}
	tw.Flush()
	return b.String()
}

// filterText describes the row filter of a relation for a role.
func filterText(p *Policy, role, rel string) string {
	if r, ok := p.roles[role]; ok {
		if tp := r.tables[rel]; tp != nil && tp.filter != nil {
			return "filtered: only rows where " + tp.filter.text
		}
	}
	return "filtered"
}
