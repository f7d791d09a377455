package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/rewriter"
)

// runCheck validates a configuration file against the live schema of its [upstream]
// database: the file itself (as `pgmask serve` loads it), the compiled policy, then
// (*rewriter.Policy).Check — tables and columns that do not exist, transforms that do
// not fit their column, row filters naming missing columns, unclassified columns, views
// over protected tables — and finally PostgreSQL itself, which plans (never runs), as
// each role's upstream identity, the derived table the role gets for every table it is
// granted, so a row filter or transform that does not compile, or a missing GRANT, is
// caught before a user meets it. Problems are errors (exit status 1); oversights are
// warnings (exit status 0).
func runCheck(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "--config FILE [--catalog-dsn DSN]", stderr)
	path := fs.String("config", "pgmask.toml", "configuration file")
	dsn := fs.String("catalog-dsn", "", "read the schema from this PostgreSQL connection string instead of the [upstream] database")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pgmask check --config FILE [--catalog-dsn DSN]

Validates the configuration file against the live schema of its [upstream]
database and lists every problem: unknown tables and columns, transforms that
do not fit their column type, row filters and transforms PostgreSQL cannot
compile, upstream users without privileges on their role's tables (errors);
unclassified columns of granted tables, views over protected tables, allowlisted
functions that do not exist, keyed transforms without a master key (warnings).
The exit status is 1 when there are errors, 0 when there are only warnings.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "pgmask check: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}

	cfg, err := config.Load(*path)
	if err != nil {
		return reportErrors(stdout, *path, err)
	}
	secrets, err := policySecrets(cfg)
	if err != nil {
		return reportErrors(stdout, *path, err)
	}
	pol, err := rewriter.CompileWith(cfg, 1, secrets)
	if err != nil {
		return reportErrors(stdout, *path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, cat, err := loadCatalog(ctx, cfg, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	errs, warnings := pol.Check(cat)
	as := roleConnections{cfg: cfg, fallback: conn, own: *dsn == ""}
	defer as.close()
	errs = append(errs, compileChecks(ctx, &as, cfg, pol, cat, len(errs) > 0)...)
	codeErrs, codeWarnings := codesChecks(ctx, conn, cfg, cat)
	errs, warnings = append(errs, codeErrs...), append(warnings, codeWarnings...)
	warnings = append(warnings, functionChecks(ctx, conn, cfg)...)
	warnings = append(warnings, keyChecks(cfg)...)
	if ctx.Err() != nil {
		return ctx.Err()
	}

	fmt.Fprintf(stdout, "%s: checked against database %q (%d tables classified, %d roles)\n",
		*path, cfg.Upstream.Database, len(cfg.Tables), len(cfg.Roles))
	for _, e := range errs {
		fmt.Fprintf(stdout, "error: %v\n", e)
	}
	for _, w := range warnings {
		fmt.Fprintf(stdout, "warning: %v\n", w)
	}
	fmt.Fprintf(stdout, "%s, %s\n", plural(len(errs), "error"), plural(len(warnings), "warning"))
	if len(errs) > 0 {
		return fmt.Errorf("%s in %s", plural(len(errs), "error"), *path)
	}
	return nil
}

// reportErrors prints the problems of a file that does not load or compile, one per
// line, and returns the error that makes the exit status 1.
func reportErrors(w io.Writer, path string, err error) error {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, e := range list {
		fmt.Fprintf(w, "error: %v\n", e)
	}
	fmt.Fprintf(w, "%s\n", plural(len(list), "error"))
	return fmt.Errorf("%s in %s", plural(len(list), "error"), path)
}

// roleConnections are the upstream connections of compileChecks: each role's own
// upstream identity ([roles.X] upstream_user), so that missing privileges show, or the
// catalog connection when the role has none or --catalog-dsn replaces the upstream.
type roleConnections struct {
	cfg      *config.Config
	fallback *pgconn.PgConn
	own      bool // connect as each role's upstream_user
	byUser   map[string]*pgconn.PgConn
}

func (rc *roleConnections) get(ctx context.Context, role string) (*pgconn.PgConn, error) {
	if !rc.own || rc.cfg.Roles[role].UpstreamUser == "" {
		return rc.fallback, nil
	}
	user, password, err := rc.cfg.UpstreamCredentials(role)
	if err != nil {
		return nil, err
	}
	if c, ok := rc.byUser[user]; ok {
		return c, nil
	}
	c, err := connectUpstream(ctx, rc.cfg, user, password)
	if err != nil {
		return nil, err
	}
	if rc.byUser == nil {
		rc.byUser = map[string]*pgconn.PgConn{}
	}
	rc.byUser[user] = c
	return c, nil
}

func (rc *roleConnections) close() {
	for _, c := range rc.byUser {
		c.Close(context.Background())
	}
}

// compileChecks asks PostgreSQL to plan, for every restricted role and every table it
// is granted, the statement "SELECT * FROM table" as pgmask rewrites it, as the role's
// upstream identity. EXPLAIN runs nothing and reads no rows, but parses and
// type-checks the role's derived table and checks privileges, so a row filter or a
// transform that cannot work on the live schema (a misspelled function, text compared
// with a number) or a missing GRANT is reported here rather than at a user's first
// query. A refusal by the rewriter itself is reported too, unless Check already found
// errors (which the refusal would only repeat).
func compileChecks(ctx context.Context, conns *roleConnections, cfg *config.Config, pol *rewriter.Policy, cat *rewriter.Catalog, checkFailed bool) []error {
	var errs []error
	for _, role := range pol.Roles() {
		if pol.Unrestricted(role) {
			continue
		}
		conn, err := conns.get(ctx, role)
		if err != nil {
			errs = append(errs, cfg.Errorf([]string{"roles", role, "upstream_user"}, "%v", err))
			continue
		}
		tables := append([]string(nil), cfg.Roles[role].Tables...)
		sort.Strings(tables)
		for _, table := range tables {
			schema, name, _ := strings.Cut(table, ".")
			if cat.Relation(schema, name) == nil {
				continue // Check reports it
			}
			key := []string{"roles", role, "tables"}
			if _, ok := cfg.Roles[role].Rows[table]; ok {
				key = []string{"roles", role, "rows", table}
			}
			res := rewriter.Rewrite("SELECT * FROM "+quoteIdent(schema)+"."+quoteIdent(name), sessionContext(cfg, role), pol, cat)
			if res.Denial != nil {
				if !checkFailed && !res.Denial.NeedsCodes() { // missing codes: see codesChecks
					errs = append(errs, cfg.Errorf(key, "role %s cannot read %s: %s", role, table, res.Denial.Message))
				}
				continue
			}
			if _, err := conn.Exec(ctx, "EXPLAIN (COSTS OFF) "+res.SQL).ReadAll(); err != nil {
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) {
					return append(errs, err) // the connection failed: nothing more can be checked
				}
				if pgErr.Code == "42501" { // insufficient_privilege
					errs = append(errs, cfg.Errorf([]string{"roles", role, "upstream_user"},
						"the upstream user of role %s cannot read %s: %s", role, table, pgErr.Message))
					continue
				}
				errs = append(errs, cfg.Errorf(key, "PostgreSQL cannot compile what role %s sees of %s (its row filter or a column transform): %s",
					role, table, pgErr.Message))
			}
		}
	}
	return errs
}

// functionChecks warns about roles.X.functions entries that name no function in the
// database: probably a typo, and the function is refused until it exists anyway.
func functionChecks(ctx context.Context, conn *pgconn.PgConn, cfg *config.Config) []error {
	var warnings []error
	roles := make([]string, 0, len(cfg.Roles))
	for name := range cfg.Roles {
		roles = append(roles, name)
	}
	sort.Strings(roles)
	for _, role := range roles {
		for i, fn := range cfg.Roles[role].Functions {
			schema, name, qualified := strings.Cut(fn, ".")
			if !qualified {
				schema, name = "", fn
			}
			res := conn.ExecParams(ctx, `SELECT 1 FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
WHERE p.proname OPERATOR(pg_catalog.=) $1 AND ($2 OPERATOR(pg_catalog.=) '' OR n.nspname OPERATOR(pg_catalog.=) $2) LIMIT 1`,
				[][]byte{[]byte(name), []byte(schema)}, nil, nil, nil).Read()
			if res.Err != nil {
				return append(warnings, res.Err)
			}
			if len(res.Rows) == 0 {
				warnings = append(warnings, cfg.Errorf([]string{"roles", role, "functions", fmt.Sprintf("[%d]", i)},
					"function %q does not exist in the database", fn))
			}
		}
	}
	return warnings
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// keyChecks warns when roles use keyed transforms (hash, date_shift) but no master key
// is configured: the proxy then makes a random key per process, so hashed values and
// shifted dates change at every restart and differ between instances.
func keyChecks(cfg *config.Config) []error {
	if key, err := cfg.Masking.ResolveKey(); err != nil || key != nil {
		return nil
	}
	var warnings []error
	roles := make([]string, 0, len(cfg.Roles))
	for name := range cfg.Roles {
		roles = append(roles, name)
	}
	sort.Strings(roles)
	for _, role := range roles {
		r := cfg.Roles[role]
		for _, group := range []struct {
			key string
			m   map[string]string
		}{{"transforms", r.Transforms}, {"columns", r.Columns}} {
			names := make([]string, 0, len(group.m))
			for k := range group.m {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if t := strings.TrimSpace(group.m[k]); strings.HasPrefix(t, "hash") || strings.HasPrefix(t, "date_shift") {
					warnings = append(warnings, cfg.Errorf([]string{"roles", role, group.key, k},
						"%s needs a master key, but [masking] configures none: its values change at every restart of pgmask", t))
				}
			}
		}
	}
	return warnings
}
