package rewriter

import (
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache remembers rewrites, so a statement is parsed and rewritten once per distinct
// text (DESIGN §8: the hot path must be a cache hit). The key holds everything a
// Result depends on — the policy and catalog versions, the role, the search_path and
// session user (name resolution), the database (four-part names), the day (age_top90)
// and the statement text — so a reload, a new catalog snapshot or a change of day
// never serves a stale rewrite. It is the rewriter's only mutable state, and safe for
// concurrent use.
type Cache struct {
	lru *lru.Cache[cacheKey, Result]
	// hits and misses count lookups, for the proxy's metrics.
	hits, misses atomic.Uint64
}

type cacheKey struct {
	policy, catalog            uint64
	role, searchPath, user, db string
	year, yday                 int
	sql                        string
}

// NewCache returns a cache of at most size rewrites (at least one).
func NewCache(size int) *Cache {
	if size < 1 {
		size = 1
	}
	c, err := lru.New[cacheKey, Result](size)
	if err != nil {
		panic("rewriter: " + err.Error()) // only for size < 1, excluded above
	}
	return &Cache{lru: c}
}

// Rewrite is Rewrite with the cache. A role with profile full bypasses it: its
// statements are forwarded without parsing, which is cheaper than a lookup. The
// Result is shared with other callers: do not modify it.
func (c *Cache) Rewrite(sql string, ctx Context, p *Policy, cat *Catalog) Result {
	if p == nil || p.Unrestricted(ctx.Role) {
		return Rewrite(sql, ctx, p, cat)
	}
	return c.lookup(sql, ctx, ctx.Role, p, cat, Rewrite, true)
}

// Observe is Observe with the cache, for the audit records of full roles. The
// disclosures are shared with other callers: do not modify them. Observations do not
// count in Stats, which is about rewrites.
func (c *Cache) Observe(sql string, ctx Context, p *Policy, cat *Catalog) ([]Disclosure, bool) {
	if p == nil {
		return nil, false
	}
	r := c.lookup(sql, ctx, observerRole, p, cat, observe, false)
	return r.Disclosures, r.Denial == nil
}

// lookup returns the cached Result of sql for role, or computes it with f; count says
// whether the lookup counts in Stats.
func (c *Cache) lookup(sql string, ctx Context, role string, p *Policy, cat *Catalog,
	f func(string, Context, *Policy, *Catalog) Result, count bool) Result {
	now := ctx.Now
	if now.IsZero() {
		now = time.Now()
		ctx.Now = now
	}
	now = now.UTC()
	var catVersion uint64
	if cat != nil {
		catVersion = cat.Version
	}
	k := cacheKey{
		policy: p.Version, catalog: catVersion,
		role: role, searchPath: ctx.SearchPath, user: ctx.User, db: ctx.Database,
		year: now.Year(), yday: now.YearDay(), sql: sql,
	}
	if r, ok := c.lru.Get(k); ok {
		if count {
			c.hits.Add(1)
		}
		return r
	}
	if count {
		c.misses.Add(1)
	}
	r := f(sql, ctx, p, cat)
	c.lru.Add(k, r)
	return r
}

// Len returns the number of cached rewrites.
func (c *Cache) Len() int { return c.lru.Len() }

// Stats returns how many lookups found their rewrite in the cache and how many had to
// rewrite. Statements of full roles bypass the cache and count as neither.
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }
