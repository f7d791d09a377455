package rewriter

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Name resolution: pgmask must find the relation PostgreSQL will read, or refuse. It
// follows PostgreSQL's rules (namespace.c): a qualified name names its schema; an
// unqualified one is first a CTE name in scope (walk.go), then the first match along
// the effective search_path, which starts with pg_catalog unless the path lists it
// elsewhere. The parser has already folded unquoted identifiers to lower case, so
// names here are catalog names.
//
// Temporary relations are invisible to the snapshot, so pgmask refuses pg_temp names
// outright and writes every relation it resolved schema-qualified into the SQL it
// sends: whatever temporary table a session creates, it cannot shadow what pgmask
// checked.

// searchPath is the effective search_path of a session.
type searchPath struct {
	// schemas lists the existing schemas searched for relations, in order, with the
	// implicit pg_catalog.
	schemas []string
	// unknownUser is set when the path names "$user" but the session user is unknown;
	// function and operator checks then treat every schema as possibly on the path.
	unknownUser bool
}

// parseSearchPath splits a search_path setting as PostgreSQL's SplitIdentifierString
// does: comma-separated identifiers, double-quoted ones kept as written (with "" for
// a quote), unquoted ones folded to lower case.
func parseSearchPath(s string) ([]string, error) {
	var out []string
	i := 0
	skipSpace := func() {
		for i < len(s) && strings.ContainsRune(" \t\n\r\f\v", rune(s[i])) {
			i++
		}
	}
	skipSpace()
	if i == len(s) {
		return nil, nil
	}
	for {
		skipSpace()
		var name strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated quoted identifier in search_path %q", s)
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						name.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				name.WriteByte(s[i])
				i++
			}
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !strings.ContainsRune(" \t\n\r\f\v", rune(s[i])) {
				i++
			}
			name.WriteString(strings.ToLower(s[start:i]))
		}
		if name.Len() == 0 {
			return nil, fmt.Errorf("empty name in search_path %q", s)
		}
		out = append(out, name.String())
		skipSpace()
		if i == len(s) {
			return out, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("invalid search_path %q", s)
		}
		i++
	}
}

// effectivePath turns the session's search_path into the schemas PostgreSQL searches,
// as recomputeNamespacePath does: "$user" is the session user's schema if it exists,
// pg_temp is skipped (pgmask never resolves to temporary relations), schemas that do
// not exist are skipped, duplicates are dropped, and pg_catalog comes first unless
// listed.
func effectivePath(setting, user string, cat *Catalog) (searchPath, error) {
	names, err := parseSearchPath(setting)
	if err != nil {
		return searchPath{}, err
	}
	var sp searchPath
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] && cat.hasSchema(s) {
			seen[s] = true
			sp.schemas = append(sp.schemas, s)
		}
	}
	for _, n := range names {
		switch {
		case n == "$user":
			if user == "" {
				sp.unknownUser = true
			} else {
				add(user)
			}
		case n == "pg_temp" || strings.HasPrefix(n, "pg_temp_"):
		default:
			add(n)
		}
	}
	if !seen["pg_catalog"] {
		sp.schemas = append([]string{"pg_catalog"}, sp.schemas...)
	}
	return sp, nil
}

// onPath reports whether unqualified names may resolve into the schema.
func (sp searchPath) onPath(schema string) bool {
	if sp.unknownUser {
		return true
	}
	for _, s := range sp.schemas {
		if s == schema {
			return true
		}
	}
	return false
}

// resolveRelation finds the relation a RangeVar names (CTE names are handled by the
// caller) or returns the denial to answer with. The denial for a relation that does
// not exist is the one for a relation the role may not see.
func (rw *rewrite) resolveRelation(rv *pg_query.RangeVar) (*Relation, *Denial) {
	written := writtenName(rv.Catalogname, rv.Schemaname, rv.Relname)
	if rv.Catalogname != "" {
		if rw.ctx.Database != "" && rv.Catalogname != rw.ctx.Database {
			return nil, &Denial{Code: CodeFeatureNotSupported,
				Message: "cross-database references are not implemented: " + written}
		}
		rv.Catalogname = ""
		rw.changed = true
	}
	if rv.Relpersistence == "t" {
		return nil, relationNotAvailable(written, rw.role.name)
	}
	if rv.Schemaname != "" {
		if rv.Schemaname == "pg_temp" || strings.HasPrefix(rv.Schemaname, "pg_temp_") ||
			strings.HasPrefix(rv.Schemaname, "pg_toast_temp_") {
			return nil, relationNotAvailable(written, rw.role.name)
		}
		if r := rw.cat.Relation(rv.Schemaname, rv.Relname); r != nil {
			return r, nil
		}
		return nil, relationNotAvailable(written, rw.role.name)
	}
	for _, s := range rw.path.schemas {
		if r := rw.cat.Relation(s, rv.Relname); r != nil {
			return r, nil
		}
	}
	return nil, relationNotAvailable(written, rw.role.name)
}

// quoteIdent quotes an identifier. pgmask quotes every identifier it generates:
// generated SQL is parsed and deparsed again before it is sent (which drops the
// quotes that are not needed), so over-quoting costs nothing and needs no keyword list.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// minimalQuote quotes an identifier only when PostgreSQL needs it to: when it is not
// a plain lower-case name or is a keyword other than an unreserved one. It asks
// PostgreSQL's own scanner, so it is used when a catalog snapshot is built, not per
// statement.
func minimalQuote(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '$')
	}
	if !plain {
		return quoteIdent(s)
	}
	res, err := pg_query.Scan(s)
	if err != nil || len(res.Tokens) != 1 {
		return quoteIdent(s)
	}
	switch res.Tokens[0].KeywordKind {
	case pg_query.KeywordKind_NO_KEYWORD, pg_query.KeywordKind_UNRESERVED_KEYWORD:
		return s
	}
	return quoteIdent(s)
}
