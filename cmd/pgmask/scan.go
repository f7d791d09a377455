package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/config/discover"
)

// defaultSample is how many rows `pgmask scan` reads per relation unless told otherwise:
// enough for patterns to show, little enough to scan a large schema quickly.
const defaultSample = 1000

// maxValueChars bounds each sampled value: patterns show in the first characters, and
// a column of documents must not fill the memory.
const maxValueChars = 1000

// runScan proposes a classification ([tables] section) for every column of a database
// from the catalog and a bounded sample of values. It only reads (its session is
// read-only) and never prints, logs or keeps a sampled value: they are PHI and are
// reduced to pattern counts by config/discover as soon as they arrive.
func runScan(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan", "--dsn DSN [--sample N] [--schema NAME,...]", stderr)
	dsn := fs.String("dsn", "", "PostgreSQL connection string (URL or key=value) of the database to scan (required)")
	sample := fs.Int("sample", defaultSample, "rows read per relation to recognize value patterns; 0 reads no values (names and types only)")
	schemas := fs.String("schema", "", "comma-separated schemas to scan (default: every schema but pg_catalog, information_schema and pgmask)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pgmask scan --dsn DSN [--sample N] [--schema NAME,...]

Proposes a category for every column of every table and view (HIPAA Safe Harbor
identifiers such as name, ssn, phone, email, zip, birth_date, event_date,
free_text, or none) from its name, its type and the patterns of at most N
sampled values, and a subject_key per table, and prints them as a [tables]
section for pgmask.toml. Each line has a comment with the confidence and the
evidence; uncertain lines say REVIEW. Sampled values are never printed.

The session is read-only; the user needs SELECT on the tables to sample them
(without it a table is classified by names and types only).

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		fmt.Fprintf(stderr, "pgmask scan: unexpected argument %q\n", fs.Arg(0))
	case *dsn == "":
		fmt.Fprintln(stderr, "pgmask scan: --dsn is required")
	case *sample < 0:
		fmt.Fprintln(stderr, "pgmask scan: --sample must be 0 or more")
	default:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return scan(ctx, stdout, *dsn, *sample, splitList(*schemas))
	}
	fs.Usage()
	return errUsage
}

// scan connects, reads the catalog, samples each relation and prints the proposal.
func scan(ctx context.Context, w io.Writer, dsn string, sample int, schemas []string) error {
	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("--dsn: %w", err)
	}
	// Read-only, and with a search_path that nothing user-defined can shadow: the
	// catalog query relies on built-in functions and operators.
	pcfg.RuntimeParams["application_name"] = "pgmask scan"
	pcfg.RuntimeParams["default_transaction_read_only"] = "on"
	pcfg.RuntimeParams["search_path"] = "pg_catalog"
	pcfg.RuntimeParams["bytea_output"] = "hex" // image headers are recognized in hex
	conn, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	tables, err := readCatalog(ctx, conn, schemas)
	if err != nil {
		return fmt.Errorf("reading the catalog: %w", err)
	}
	for i := range tables {
		if err := sampleTable(ctx, conn, &tables[i].Table, tables[i].sampling(sample)); err != nil {
			return err
		}
	}
	list := make([]discover.Table, len(tables))
	for i, t := range tables {
		list[i] = t.Table
	}
	props := discover.Propose(list)
	writeHeader(w, pcfg.Database, sample, props)
	_, err = io.WriteString(w, discover.TOML(props))
	return err
}

// relation is a table or view to classify, with what sampling it needs.
type relation struct {
	discover.Table
	kind      byte    // pg_class.relkind
	rows      float64 // pg_class.reltuples: an estimate, -1 when never analyzed
	byteaCols map[int]bool
}

// catalogQuery lists the columns of every ordinary, partitioned and foreign table,
// view and materialized view outside the system schemas, pgmask's own schema and
// extensions, with domains resolved to their base type, single-column primary keys
// and single-column foreign keys. Partitions are left out: pgmask classifies a
// partitioned table once, for all of them.
const catalogQuery = `SELECT n.nspname, c.relname, c.relkind::text, c.reltuples::float8, a.attname,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum),
       coalesce(fk.nspname, ''), coalesce(fk.relname, ''), coalesce(fk.attname, '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN LATERAL (
    SELECT fn.nspname, fc.relname, fa.attname
    FROM pg_constraint co
    JOIN pg_class fc ON fc.oid = co.confrelid
    JOIN pg_namespace fn ON fn.oid = fc.relnamespace
    JOIN pg_attribute fa ON fa.attrelid = co.confrelid AND fa.attnum = co.confkey[1]
    WHERE co.conrelid = c.oid AND co.contype = 'f' AND co.conkey = ARRAY[a.attnum]
    ORDER BY co.conname LIMIT 1
) fk ON true
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgmask')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
ORDER BY n.nspname, c.relname, a.attnum`

// readCatalog lists the relations to classify and their columns, in name order.
func readCatalog(ctx context.Context, conn *pgx.Conn, schemas []string) ([]relation, error) {
	rows, err := conn.Query(ctx, catalogQuery, schemas)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []relation
	for rows.Next() {
		var schema, name, kind, col, typ, refSchema, refTable, refCol string
		var reltuples float64
		var pk bool
		if err := rows.Scan(&schema, &name, &kind, &reltuples, &col, &typ, &pk, &refSchema, &refTable, &refCol); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Schema != schema || out[n-1].Name != name {
			out = append(out, relation{Table: discover.Table{Schema: schema, Name: name}, kind: kind[0], rows: reltuples, byteaCols: map[int]bool{}})
		}
		r := &out[len(out)-1]
		c := discover.Column{Name: col, Type: typ, PrimaryKey: pk}
		if refTable != "" {
			c.References = &discover.Reference{Schema: refSchema, Table: refTable, Column: refCol}
		}
		if typ == "bytea" {
			r.byteaCols[len(r.Columns)] = true
		}
		r.Columns = append(r.Columns, c)
	}
	return out, rows.Err()
}

// sampling is how to sample the relation: at most n rows, through TABLESAMPLE SYSTEM
// (whole random pages, cheap) when the table is large enough for it to matter, so
// the rows are spread over the table instead of being its first ones. Views,
// partitioned and foreign tables are read with LIMIT alone.
func (r relation) sampling(n int) sampling {
	s := sampling{limit: n}
	if (r.kind == 'r' || r.kind == 'm') && r.rows > float64(4*n) && n > 0 {
		s.percent = min(100, 200*float64(n)/r.rows) // twice n rows expected, then LIMIT
	}
	s.bytea = r.byteaCols
	return s
}

type sampling struct {
	limit   int
	percent float64 // 0: no TABLESAMPLE
	bytea   map[int]bool
}

// sampleQuery reads at most s.limit rows of t, every column as text cut to
// maxValueChars (bytea: its first 64 bytes, enough for the magic number of an image).
func sampleQuery(t *discover.Table, s sampling) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		if s.bytea[i] {
			cols[i] = "substring(" + quoteIdent(c.Name) + " FROM 1 FOR 64)::text"
		} else {
			cols[i] = "left(" + quoteIdent(c.Name) + "::text, " + strconv.Itoa(maxValueChars) + ")"
		}
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + quoteIdent(t.Schema) + "." + quoteIdent(t.Name)
	if s.percent > 0 {
		q += " TABLESAMPLE SYSTEM (" + strconv.FormatFloat(s.percent, 'f', 6, 64) + ") REPEATABLE (0)"
	}
	return q + " LIMIT " + strconv.Itoa(s.limit)
}

// sampleTable fills the Values of t's columns. A table that cannot be read (no
// privilege, a foreign server down) is classified without values and says why; only a
// broken connection stops the scan. Error texts are not repeated: PostgreSQL may quote
// a value in them.
func sampleTable(ctx context.Context, conn *pgx.Conn, t *discover.Table, s sampling) error {
	if s.limit == 0 || len(t.Columns) == 0 {
		return nil
	}
	n, err := readSample(ctx, conn, t, s)
	if err == nil && s.percent > 0 && n < s.limit/2 {
		// TABLESAMPLE SYSTEM picks whole pages at random; on a table of few pages it
		// can pick none. Read the first rows instead.
		for i := range t.Columns {
			t.Columns[i].Values = nil
		}
		s.percent = 0
		_, err = readSample(ctx, conn, t, s)
	}
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr):
		for i := range t.Columns {
			t.Columns[i].Values = nil
		}
		why := "SQLSTATE " + pgErr.Code
		if pgErr.Code == "42501" {
			why = "permission denied"
		}
		t.Note = "values not sampled (" + why + "): classified by names and types only"
		return nil
	}
	return fmt.Errorf("sampling %s.%s: %w", t.Schema, t.Name, err)
}

// readSample runs the sample query and appends each non-NULL value to its column. It
// returns the number of rows read.
func readSample(ctx context.Context, conn *pgx.Conn, t *discover.Table, s sampling) (int, error) {
	rows, err := conn.Query(ctx, sampleQuery(t, s))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		for i, v := range rows.RawValues() {
			if v != nil {
				t.Columns[i].Values = append(t.Columns[i].Values, string(v))
			}
		}
	}
	return n, rows.Err()
}

// writeHeader explains the proposal at the top of the output.
func writeHeader(w io.Writer, database string, sample int, props []discover.TableProposal) {
	columns, identifiers, review := 0, 0, 0
	for _, p := range props {
		for _, c := range p.Columns {
			columns++
			if config.IsIdentifier(c.Category) {
				identifiers++
			}
			if c.Review() {
				review++
			}
		}
	}
	how := fmt.Sprintf("names, types and at most %d sampled rows per relation", sample)
	if sample == 0 {
		how = "names and types only (--sample 0: no values read)"
	}
	fmt.Fprintf(w, `# Proposed by pgmask scan for database %q from %s.
# %d relations, %d columns: %d proposed as identifiers, %d marked REVIEW (confidence
# below %.2f).
#
# A proposal, not a policy: review every line before it goes into pgmask.toml.
# Each comment gives the confidence (0 to 1) and the evidence; sampled values are
# never printed. A column classified "none" is shown to every role: delete the line
# of a column you are unsure of, and restricted roles will not see it.

`, database, how, len(props), columns, identifiers, review, discover.ReviewBelow)
}

// splitList splits a comma-separated flag value; "" is nil.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
