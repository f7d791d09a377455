package rewriter

import (
	"slices"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/pgmask/pgmask/rewriter/normalize"
)

// Cache remembers rewrites, so a statement is parsed and rewritten once per distinct
// shape (DESIGN §8: the hot path must be a cache hit). The key holds everything a
// Result depends on — the policy and catalog versions, the role, the search_path and
// session user (name resolution), the database (four-part names), the day (age_top90)
// and the statement — so a reload, a new catalog snapshot or a change of day never
// serves a stale rewrite. It is the rewriter's only mutable state, and safe for
// concurrent use.
//
// Statements that differ only in their literals (`… WHERE id = 42`, `… WHERE id = 43`)
// share one entry: the rewrite of the first is learnt as a normalize.Template, whose
// holes take the literal tokens of the next ones, with no parse and no deparse. A
// template is learnt only for a rewrite that depends on the statement's shape alone
// (Result.shapeOnly), whose disclosures and output do not change when the literals are
// replaced by canaries, and which the template reproduces byte for byte; every
// statement with a non-ASCII byte, every refusal and every other rewrite is cached by
// its exact text (normalize/GUIDE.md gives the reasons).
type Cache struct {
	lru *lru.Cache[cacheKey, entry]
	// seen holds the shapes met once, so a shape is learnt at its second statement:
	// learning costs a second rewrite, which one-off statements need not pay.
	seen *lru.Cache[cacheKey, struct{}]
	// hits and misses count lookups, for the proxy's metrics.
	hits, misses atomic.Uint64
}

type cacheKey struct {
	policy, catalog            uint64
	role, searchPath, user, db string
	year, yday                 int
	// sql is the statement text, or with shape set its normalized text, whose
	// placeholders start after paramBase (normalize.Statement).
	sql       string
	shape     bool
	paramBase int
}

// entry is a cached Result; under a shape key also its template, or, with tmpl nil,
// the note that the shape has none (so its statements take the exact-text path without
// trying to learn again).
type entry struct {
	result Result
	tmpl   *normalize.Template
}

// NewCache returns a cache of at most size rewrites (at least one).
func NewCache(size int) *Cache {
	if size < 1 {
		size = 1
	}
	c, err := lru.New[cacheKey, entry](size)
	if err != nil {
		panic("rewriter: " + err.Error()) // only for size < 1, excluded above
	}
	seen, err := lru.New[cacheKey, struct{}](size)
	if err != nil {
		panic("rewriter: " + err.Error())
	}
	return &Cache{lru: c, seen: seen}
}

// Rewrite is Rewrite with the cache. A role with profile full bypasses it: its
// statements are forwarded without parsing, which is cheaper than a lookup. The
// Result is shared with other callers: do not modify it.
func (c *Cache) Rewrite(sql string, ctx Context, p *Policy, cat *Catalog) Result {
	if p == nil || p.Unrestricted(ctx.Role) {
		return Rewrite(sql, ctx, p, cat)
	}
	ctx = stamped(ctx)
	k := c.key(sql, ctx, ctx.Role, p, cat)
	if e, ok := c.lru.Get(k); ok {
		c.hits.Add(1)
		return e.result
	}
	st, ok := shapeOf(sql)
	if !ok {
		return c.rewrite(k, ctx, p, cat)
	}
	sk := k
	sk.sql, sk.shape, sk.paramBase = st.Text, true, st.ParamBase
	e, known := c.lru.Get(sk)
	if known && e.tmpl != nil {
		if out, ok := e.tmpl.Instantiate(st); ok {
			c.hits.Add(1)
			r := e.result
			r.SQL, r.Unchanged = out, r.Unchanged && out == sql
			return r
		}
		// The same text with other kinds of literal (42 and '42'): by exact text.
	}
	if known {
		return c.rewrite(k, ctx, p, cat)
	}
	c.misses.Add(1)
	r := Rewrite(sql, ctx, p, cat)
	if !r.shapeOnly || r.Denial != nil {
		c.lru.Add(k, entry{result: r})
		return r
	}
	if _, again := c.seen.Get(sk); !again {
		c.seen.Add(sk, struct{}{})
		c.lru.Add(k, entry{result: r})
		return r
	}
	c.seen.Remove(sk)
	if t, ok := learn(st, r, ctx, p, cat); ok {
		c.lru.Add(sk, entry{result: r, tmpl: &t})
	} else {
		c.lru.Add(sk, entry{})
		c.lru.Add(k, entry{result: r})
	}
	return r
}

// rewrite rewrites k's statement and caches the result under k, its exact text.
func (c *Cache) rewrite(k cacheKey, ctx Context, p *Policy, cat *Catalog) Result {
	c.misses.Add(1)
	r := Rewrite(k.sql, ctx, p, cat)
	c.lru.Add(k, entry{result: r})
	return r
}

// shapeOf normalizes sql for a shape key. Only ASCII statements qualify: PostgreSQL
// reads ASCII bytes as ASCII in every client_encoding, so pgmask's lexer and the
// server's agree on every token boundary (ascii.go), and a rewrite of an ASCII
// statement is never rebuilt by asciiOnly. standard_conforming_strings, which the
// lexer also assumes, is pinned on for restricted roles (settings.go).
func shapeOf(sql string) (normalize.Statement, bool) {
	if !isASCII(sql) {
		return normalize.Statement{}, false
	}
	return normalize.Normalize(sql)
}

// learn makes the template of st from its rewrite r: it rewrites st once more with
// canary literals of the same kinds, and keeps the template only if that rewrite is
// also shape-only with the same disclosures, and the template reproduces r.SQL from
// st's own literals (normalize.LearnTemplate).
func learn(st normalize.Statement, r Result, ctx Context, p *Policy, cat *Catalog) (normalize.Template, bool) {
	pr := Rewrite(st.Probe().Bind(), ctx, p, cat)
	if pr.Denial != nil || !pr.shapeOnly || pr.Unchanged != r.Unchanged ||
		!slices.Equal(pr.Disclosures, r.Disclosures) {
		return normalize.Template{}, false
	}
	return normalize.LearnTemplate(st, r.SQL, pr.SQL)
}

// Observe is Observe with the cache, for the audit records of full roles. The
// disclosures are shared with other callers: do not modify them. Observations do not
// count in Stats, which is about rewrites.
//
// An observation decides nothing (the full role's statement is forwarded whatever it
// says), and the disclosures of a shape-only statement are those of its shape, so an
// allowed shape-only observation is kept under the shape key, with no template, and
// serves every statement of that shape.
func (c *Cache) Observe(sql string, ctx Context, p *Policy, cat *Catalog) ([]Disclosure, bool) {
	if p == nil {
		return nil, false
	}
	ctx = stamped(ctx)
	k := c.key(sql, ctx, observerRole, p, cat)
	if e, ok := c.lru.Get(k); ok {
		return e.result.Disclosures, e.result.Denial == nil
	}
	st, shaped := shapeOf(sql)
	sk := k
	if shaped {
		sk.sql, sk.shape, sk.paramBase = st.Text, true, st.ParamBase
		if e, ok := c.lru.Get(sk); ok {
			return e.result.Disclosures, true
		}
	}
	r := observe(sql, ctx, p, cat)
	if shaped && r.shapeOnly && r.Denial == nil {
		c.lru.Add(sk, entry{result: r})
	} else {
		c.lru.Add(k, entry{result: r})
	}
	return r.Disclosures, r.Denial == nil
}

// stamped is ctx with its statement time set, so the key and the rewrite stored under
// it agree on the day.
func stamped(ctx Context) Context {
	if ctx.Now.IsZero() {
		ctx.Now = time.Now()
	}
	return ctx
}

// key is the exact-text key of sql for role; ctx must be stamped.
func (c *Cache) key(sql string, ctx Context, role string, p *Policy, cat *Catalog) cacheKey {
	now := ctx.Now.UTC()
	var catVersion uint64
	if cat != nil {
		catVersion = cat.Version
	}
	return cacheKey{
		policy: p.Version, catalog: catVersion,
		role: role, searchPath: ctx.SearchPath, user: ctx.User, db: ctx.Database,
		year: now.Year(), yday: now.YearDay(), sql: sql,
	}
}

// Len returns the number of cached rewrites.
func (c *Cache) Len() int { return c.lru.Len() }

// Stats returns how many lookups found their rewrite in the cache and how many had to
// rewrite. Statements of full roles bypass the cache and count as neither.
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }
