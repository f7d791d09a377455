package rewriter

import (
	"time"

	"github.com/pgmask/pgmask/rewriter/transform"
)

// rewrite is the state of one call of Rewrite: the caller, the snapshots, and what
// the walk has found so far. It lives for one statement string and is never shared.
type rewrite struct {
	ctx   Context
	pol   *Policy
	role  *role
	cat   *Catalog
	path  searchPath
	today time.Time

	scope *scope
	// subs are the derived tables to build once the walk is done (build.go).
	subs []*substitution
	// changed is set once the tree differs from what the client sent.
	changed bool
	// readValue is set once a decision depended on the value of a constant the client
	// wrote ('x'::regclass, has_table_privilege('x', …), SET … = 'off'), so the result
	// must not be reused for other literals (Result.shapeOnly).
	readValue bool

	disclosures []Disclosure
	disclosed   map[qualifiedName]bool

	vis *visibility // what the role may see of the catalogs, made on first use
}

func newRewrite(c Context, p *Policy, r *role, cat *Catalog) (*rewrite, *Denial) {
	sp, err := effectivePath(c.SearchPath, c.User, cat)
	if err != nil {
		return nil, denyf("Reconnect with a valid search_path.", "pgmask cannot resolve names for role %s: %v", r.name, err)
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &rewrite{
		ctx: c, pol: p, role: r, cat: cat, path: sp,
		today:     now.UTC(),
		disclosed: map[qualifiedName]bool{},
	}, nil
}

// disclose records, once per statement string, what the role reads of a protected
// relation: every column with its treatment (unclassified ones as excluded) and the
// row filter.
func (rw *rewrite) disclose(rel *Relation, tp *tablePolicy) {
	q := qualifiedName{rel.Schema, rel.Name}
	if rw.disclosed[q] {
		return
	}
	rw.disclosed[q] = true
	for _, c := range rel.Columns {
		t := Excluded
		if cp, ok := tp.columns[c.Name]; ok {
			t = cp.treatment()
		}
		rw.disclosures = append(rw.disclosures, Disclosure{Relation: q.String(), Column: c.Name, Treatment: t})
	}
	if tp.filter != nil {
		rw.disclosures = append(rw.disclosures, Disclosure{Relation: q.String(), Treatment: Filtered})
	}
}

// env is what the transforms of one column need: its derived key (date_shift keys on
// the role only, so one subject's dates move together across tables), the date, and
// the restricted ZIP3 prefixes.
func (rw *rewrite) env(rel *Relation, col string, spec transform.Spec) transform.Env {
	key := transform.DeriveKey(rw.pol.key, rw.role.name, rel.Qualified(), col)
	if spec.Name == "date_shift" {
		key = transform.DeriveSubjectKey(rw.pol.key, rw.role.name)
	}
	return transform.Env{Key: key, Today: rw.today, Zip3Restricted: rw.pol.zip3}
}

// defaultNow is the statement time when the caller gives none.
func defaultNow() time.Time { return time.Now().UTC() }
