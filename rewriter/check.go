package rewriter

import (
	"fmt"
	"strings"

	"github.com/pgmask/pgmask/rewriter/transform"
)

// Check compares a compiled policy with a catalog snapshot, for `pgmask check` and
// for the proxy at startup: what cannot work is an error (a granted table or a
// classified column that does not exist, a transform that does not fit a column's
// type, a row filter naming a missing column); what is probably an oversight is a
// warning (an unclassified column, which every restricted role is denied; a view over
// a protected table without a policy of its own). Errors are *config.Error values
// located in the policy file, like the ones config.Load returns. The same problems
// are refusals at rewrite time, so Check never changes what is allowed.
func (p *Policy) Check(cat *Catalog) (errs, warnings []error) {
	today := transform.Env{Key: []byte("check"), Today: defaultNow(), Zip3Restricted: p.zip3}
	classified := map[qualifiedName]bool{}
	for _, name := range sortedKeys(p.cfg.Tables) {
		schema, table, _ := strings.Cut(name, ".")
		classified[qualifiedName{schema, table}] = true
		rel := cat.Relation(schema, table)
		if rel == nil {
			errs = append(errs, p.cfg.Errorf([]string{"tables", name}, "relation %s does not exist in the database", name))
			continue
		}
		t := p.cfg.Tables[name]
		for _, col := range sortedKeys(t.Columns) {
			if rel.column(col) == nil {
				errs = append(errs, p.cfg.Errorf([]string{"tables", name, "columns", col}, "column %q does not exist in %s", col, name))
			}
		}
		for _, c := range rel.Columns {
			if _, ok := t.Columns[c.Name]; !ok {
				warnings = append(warnings, p.cfg.Errorf([]string{"tables", name, "columns"},
					"column %q of %s is not classified, so no restricted role can see it", c.Name, name))
			}
		}
	}
	for _, rel := range cat.Relations() {
		if (rel.Kind != KindView && rel.Kind != KindMaterializedView) || classified[qualifiedName{rel.Schema, rel.Name}] {
			continue
		}
		for _, oid := range rel.Reads {
			if r := cat.RelationByOID(oid); r != nil && classified[qualifiedName{r.Schema, r.Name}] {
				warnings = append(warnings, fmt.Errorf("view %s reads protected relation %s but has no policy of its own, so it is refused to every restricted role",
					rel.Qualified(), r.Qualified()))
				break
			}
		}
	}
	for _, roleName := range sortedKeys(p.roles) {
		r := p.roles[roleName]
		if r.profile == ProfileFull {
			continue
		}
		for _, name := range sortedKeys(r.tables) {
			tp := r.tables[name]
			rel := cat.Relation(tp.name.schema, tp.name.name)
			if rel == nil {
				continue // reported above
			}
			for _, c := range rel.Columns {
				cp, ok := tp.columns[c.Name]
				if !ok || cp.spec.Name == "keep" || cp.spec.Excludes() {
					continue
				}
				subject := ""
				if sc := rel.column(tp.subjectKey); sc != nil {
					subject = sc.quoted()
				}
				if _, err := cp.spec.Expr(transform.Column{Ref: c.quoted(), Type: c.Type, Subject: subject}, today); err != nil {
					errs = append(errs, p.cfg.Errorf(cp.path, "role %s, column %s.%s (%s): %v", roleName, name, c.Name, c.Type, err))
				}
			}
			if tp.filter != nil {
				for _, c := range tp.filter.columns {
					if rel.column(c) == nil {
						errs = append(errs, p.cfg.Errorf([]string{"roles", roleName, "rows", name}, "the row filter names column %q, which %s does not have", c, name))
					}
				}
			}
		}
	}
	return errs, warnings
}
