package rewriter

import (
	"slices"

	"github.com/pgmask/pgmask/config"
)

// A role with profile full sees everything, so Rewrite forwards its statements without
// parsing them. The audit log still wants to know what such a statement read — a
// clinician's or a break-glass disclosure most of all — so Observe analyses it as the
// observer: a role granted every classified table with every column kept. Its
// disclosures are exactly the full role's (every column raw); when the observer would
// be refused (a table that is not classified, DDL, EXPLAIN), pgmask cannot say what
// was read and the record has no access list.

// observerRole names the observer; no configured role can have this name.
const observerRole = "\x00full"

// compileObserver compiles the observer from the classification, or returns nil if
// it does not compile.
func compileObserver(cfg *config.Config) *role {
	keep := make(map[string]string, len(config.Categories))
	for _, c := range config.Categories {
		keep[c] = config.TransformKeep
	}
	var stmts []string
	for _, k := range config.StatementKinds {
		if _, never := neverForRestricted[k]; !never {
			stmts = append(stmts, k)
		}
	}
	writable := false
	rc := config.Role{
		Profile: config.ProfileMinimumNecessary,
		Tables: slices.Sorted(func(yield func(string) bool) {
			for t := range cfg.Tables {
				if !yield(t) {
					return
				}
			}
		}),
		Transforms: keep,
		Statements: stmts,
		ReadOnly:   &writable,
	}
	r, errs := compileRole(cfg, observerRole, rc)
	if len(errs) > 0 {
		return nil
	}
	return r
}

// Observe returns what sql, run by a role with profile full, reads of the classified
// tables (every column raw), and false when pgmask cannot tell. It never decides
// anything: the full role's statement is forwarded unchanged whatever it says.
func Observe(sql string, c Context, p *Policy, cat *Catalog) (ds []Disclosure, ok bool) {
	r := observe(sql, c, p, cat)
	return r.Disclosures, r.Denial == nil
}

func observe(sql string, c Context, p *Policy, cat *Catalog) (res Result) {
	cannot := Result{Denial: &Denial{Code: CodeFeatureNotSupported, Message: "not observable"}}
	if p == nil || p.observer == nil {
		return cannot
	}
	defer func() {
		if recover() != nil {
			res = cannot
		}
	}()
	if cat == nil {
		cat = &Catalog{}
	}
	rw, d := newRewrite(c, p, p.observer, cat)
	if d != nil {
		return cannot
	}
	res = rw.run(sql)
	if res.Denial != nil || res.Before != "" {
		return cannot
	}
	return Result{Disclosures: res.Disclosures, shapeOnly: res.shapeOnly}
}
