// Package catalog loads the rewriter's catalog snapshot from the upstream PostgreSQL.
//
// It sits in the proxy, between the upstream connection and the rewriter: the proxy
// calls Load at startup (and on reload), then installs the immutable
// *rewriter.Catalog atomically. It only reads the system catalogs, over the simple
// query protocol with text results, in one REPEATABLE READ READ ONLY transaction so
// the snapshot is consistent; it never reads table data.
package catalog

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/rewriter"
)

// The queries, in the order their results arrive. Temporary schemas are left out:
// temporary relations belong to other sessions, and pgmask refuses temp-table
// shadowing for restricted roles anyway. Columns are read for user relations only;
// the rewriter governs pg_catalog and information_schema by name.
var queries = []struct {
	name string
	sql  string
}{
	{"schemas", `SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
WHERE n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast_)?temp_' ORDER BY 2`},
	{"relations", `SELECT c.oid, c.relnamespace, c.relname, c.relkind FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast_)?temp_' ORDER BY 1`},
	{"columns", `SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast_)?temp_'
ORDER BY 1, 2`},
	{"inherits", `SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i ORDER BY 1, i.inhseqno`},
	{"owners", `SELECT x.indexrelid, x.indrelid FROM pg_catalog.pg_index x
UNION ALL SELECT c.reltoastrelid, c.oid FROM pg_catalog.pg_class c WHERE c.reltoastrelid OPERATOR(pg_catalog.<>) 0
UNION ALL SELECT d.objid, d.refobjid FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class s ON s.oid OPERATOR(pg_catalog.=) d.objid AND s.relkind OPERATOR(pg_catalog.=) 'S'
  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    AND d.deptype IN ('a', 'i')`},
	{"view reads", `SELECT DISTINCT r.ev_class, d.refobjid FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
  AND d.objid OPERATOR(pg_catalog.=) r.oid
WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.refobjid OPERATOR(pg_catalog.<>) r.ev_class
ORDER BY 1, 2`},
	{"functions", `SELECT p.oid, n.nspname, p.proname FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
WHERE n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog' ORDER BY 2, 3, 1`},
	{"operators", `SELECT o.oid, n.nspname, o.oprname FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
WHERE n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog' ORDER BY 2, 3, 1`},
	{"types", `SELECT t.oid, n.nspname, t.typname, t.typtype, t.typrelid, t.typelem FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'pg_toast')
  AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast_)?temp_' ORDER BY 2, 3`},
}

// Load reads a catalog snapshot from the upstream. conn must be idle (not in a
// transaction). Every query qualifies its operators and functions with pg_catalog, so
// the session's search_path cannot change what it reads.
func Load(ctx context.Context, conn *pgconn.PgConn, version uint64) (*rewriter.Catalog, error) {
	d, err := read(ctx, conn)
	if err != nil {
		return nil, err
	}
	return rewriter.NewCatalog(version, d)
}

// read runs the queries and returns what they found.
func read(ctx context.Context, conn *pgconn.PgConn) (rewriter.CatalogData, error) {
	var none rewriter.CatalogData
	sql := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
	for _, q := range queries {
		sql += q.sql + ";\n"
	}
	sql += "COMMIT"
	results, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return none, fmt.Errorf("catalog: %w", err)
	}
	if len(results) != len(queries)+2 {
		return none, fmt.Errorf("catalog: got %d results, want %d", len(results), len(queries)+2)
	}
	rows := map[string][][][]byte{}
	for i, q := range queries {
		r := results[i+1]
		if r.Err != nil {
			return none, fmt.Errorf("catalog: %s: %w", q.name, r.Err)
		}
		rows[q.name] = r.Rows
	}
	return build(rows)
}

// build turns the text rows of the queries into CatalogData.
func build(rows map[string][][][]byte) (rewriter.CatalogData, error) {
	var d rewriter.CatalogData
	var p parser
	nsp := map[uint32]string{}
	for _, r := range rows["schemas"] {
		s := rewriter.Schema{OID: p.oid(r, 0), Name: p.text(r, 1)}
		nsp[s.OID] = s.Name
		d.Schemas = append(d.Schemas, s)
	}
	index := map[uint32]int{}
	for _, r := range rows["relations"] {
		schema, ok := nsp[p.oid(r, 1)]
		if !ok {
			continue
		}
		index[p.oid(r, 0)] = len(d.Relations)
		d.Relations = append(d.Relations, rewriter.Relation{
			OID: p.oid(r, 0), Schema: schema, Name: p.text(r, 2), Kind: p.text(r, 3),
		})
	}
	rel := func(oid uint32) *rewriter.Relation {
		if i, ok := index[oid]; ok {
			return &d.Relations[i]
		}
		return nil
	}
	for _, r := range rows["columns"] {
		if x := rel(p.oid(r, 0)); x != nil {
			x.Columns = append(x.Columns, rewriter.Column{Num: int16(p.int(r, 1)), Name: p.text(r, 2), Type: p.text(r, 3)})
		}
	}
	for _, r := range rows["inherits"] {
		if x := rel(p.oid(r, 0)); x != nil {
			x.Parents = append(x.Parents, p.oid(r, 1))
		}
	}
	for _, r := range rows["owners"] {
		if x := rel(p.oid(r, 0)); x != nil {
			x.Owner = p.oid(r, 1)
		}
	}
	for _, r := range rows["view reads"] {
		if x := rel(p.oid(r, 0)); x != nil {
			x.Reads = append(x.Reads, p.oid(r, 1))
		}
	}
	for _, r := range rows["functions"] {
		d.Functions = append(d.Functions, rewriter.Function{OID: p.oid(r, 0), Schema: p.text(r, 1), Name: p.text(r, 2)})
	}
	for _, r := range rows["operators"] {
		d.Operators = append(d.Operators, rewriter.Operator{OID: p.oid(r, 0), Schema: p.text(r, 1), Name: p.text(r, 2)})
	}
	for _, r := range rows["types"] {
		d.Types = append(d.Types, rewriter.Type{
			OID: p.oid(r, 0), Schema: p.text(r, 1), Name: p.text(r, 2), Kind: p.text(r, 3), Relation: p.oid(r, 4),
			Element: p.oid(r, 5),
		})
	}
	return d, p.err
}

// parser reads text-format fields and remembers the first malformed one.
type parser struct{ err error }

func (p *parser) text(row [][]byte, i int) string {
	if i >= len(row) {
		p.fail(fmt.Errorf("catalog: row has %d fields, want more than %d", len(row), i))
		return ""
	}
	return string(row[i])
}

func (p *parser) int(row [][]byte, i int) int64 {
	n, err := strconv.ParseInt(p.text(row, i), 10, 64)
	if err != nil {
		p.fail(fmt.Errorf("catalog: field %d: %w", i, err))
	}
	return n
}

func (p *parser) oid(row [][]byte, i int) uint32 {
	n, err := strconv.ParseUint(p.text(row, i), 10, 32)
	if err != nil {
		p.fail(fmt.Errorf("catalog: field %d: %w", i, err))
	}
	return uint32(n)
}

func (p *parser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}
