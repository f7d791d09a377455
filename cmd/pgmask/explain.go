package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy"
	"github.com/pgmask/pgmask/proxy/catalog"
	"github.com/pgmask/pgmask/rewriter"
)

// explainKey stands in for the master key of the keyed transforms (hash, date_shift)
// in `pgmask explain` and `pgmask check`: their SQL embeds keys derived from it, and
// neither command may print a real one. The SQL has the same shape with any key.
var explainKey = []byte("pgmask explain: a placeholder, never the real master key")

// errRefused makes `pgmask explain` exit with status 1 when the statement is refused,
// after the explanation has been printed.
var errRefused = errors.New("the statement is refused for this role")

// runExplain prints what pgmask would send upstream for one statement of one role: the
// rewritten SQL and how every column reaches the role, or the refusal with its
// SQLSTATE, message and hint. Names are resolved against the live schema, read from
// the [upstream] database as the proxy reads it (or from --catalog-dsn).
func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("explain", "--config FILE --role ROLE [--catalog-dsn DSN] 'SQL' (or - to read SQL from stdin)", stderr)
	path := fs.String("config", "pgmask.toml", "configuration file")
	roleName := fs.String("role", "", "policy role to explain the statement for (required)")
	dsn := fs.String("catalog-dsn", "", "read the schema from this PostgreSQL connection string instead of the [upstream] database")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pgmask explain --config FILE --role ROLE [--catalog-dsn DSN] 'SQL'

Prints the SQL pgmask sends upstream when a user of ROLE runs SQL (a statement
string, or - to read it from stdin), and how each column of a protected table
reaches the role, or why pgmask refuses it (SQLSTATE, message, hint).
The exit status is 0 when the statement is allowed, 1 when it is refused.

The schema is read from the [upstream] database, as the proxy reads it. Keyed
transforms (hash, date_shift) are shown with a placeholder key, never the real one.

`)
		fs.PrintDefaults()
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		fmt.Fprintf(stderr, "pgmask explain: want exactly one SQL statement string (or - for stdin), got %d arguments\n", len(positional))
		fs.Usage()
		return errUsage
	}
	if *roleName == "" {
		fmt.Fprintln(stderr, "pgmask explain: --role is required")
		fs.Usage()
		return errUsage
	}
	sql := positional[0]
	if sql == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("reading the statement from stdin: %w", err)
		}
		sql = string(b)
	}

	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	secrets, err := policySecrets(cfg)
	if err != nil {
		return err
	}
	pol, err := rewriter.CompileWith(cfg, 1, secrets)
	if err != nil {
		return err
	}
	if !pol.HasRole(*roleName) {
		return fmt.Errorf("role %q is not defined in %s (roles: %s)", *roleName, *path, strings.Join(pol.Roles(), ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, cat, err := loadCatalog(ctx, cfg, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	c := sessionContext(cfg, *roleName)
	fmt.Fprint(stdout, rewriter.Explain(sql, c, pol, cat))
	if rewriter.Rewrite(sql, c, pol, cat).Denial != nil {
		return errRefused
	}
	return nil
}

// policySecrets is what the policy needs besides the file, as the proxy reads it, but
// with explainKey in place of the master key: the [masking] ZIP3 table, and a check
// that the configured key can be read.
func policySecrets(cfg *config.Config) (rewriter.Secrets, error) {
	s, err := proxy.ReadSecrets(cfg)
	if err != nil {
		return rewriter.Secrets{}, err
	}
	s.Key = explainKey
	return s, nil
}

// sessionContext is what the rewriter knows of a session of the role: the pinned
// search_path, the upstream user ("$user") and database, as the proxy fills them in.
func sessionContext(cfg *config.Config, role string) rewriter.Context {
	user := cfg.Upstream.User
	if u := cfg.Roles[role].UpstreamUser; u != "" {
		user = u
	}
	return rewriter.Context{Role: role, SearchPath: cfg.Upstream.SearchPath, User: user, Database: cfg.Upstream.Database}
}

// connectCatalog connects to the database whose schema pgmask resolves names against:
// --catalog-dsn when given, else the [upstream] database as its user. Either way the
// search_path is the one the proxy pins, so unqualified names in row filters resolve
// as they will for the role's sessions.
func connectCatalog(ctx context.Context, cfg *config.Config, dsn string) (*pgconn.PgConn, error) {
	return connect(ctx, cfg, "--catalog-dsn", dsn, checkParams(cfg))
}

// loadCatalog connects as connectCatalog does and reads the schema snapshot the
// rewriter resolves names against. The caller closes conn.
func loadCatalog(ctx context.Context, cfg *config.Config, dsn string) (*pgconn.PgConn, *rewriter.Catalog, error) {
	conn, err := connectCatalog(ctx, cfg, dsn)
	if err != nil {
		return nil, nil, err
	}
	cat, err := catalog.Load(ctx, conn, 1)
	if err != nil {
		conn.Close(context.Background())
		return nil, nil, err
	}
	return conn, cat, nil
}

// connectUpstream connects to the [upstream] database as user, exactly as the proxy's
// sessions do, with the search_path they pin.
func connectUpstream(ctx context.Context, cfg *config.Config, user, password string) (*pgconn.PgConn, error) {
	return dialUpstream(ctx, cfg, user, password, checkParams(cfg))
}

func checkParams(cfg *config.Config) map[string]string {
	return map[string]string{"application_name": "pgmask check", "search_path": cfg.Upstream.SearchPath}
}

// connect opens a command's database connection: with the connection string given as
// flag when dsn is set, else as the [upstream] user. params (application_name,
// search_path) apply either way; an empty value is left out.
func connect(ctx context.Context, cfg *config.Config, flag, dsn string, params map[string]string) (*pgconn.PgConn, error) {
	if dsn == "" {
		password, err := cfg.Upstream.ResolvePassword()
		if err != nil {
			return nil, err
		}
		return dialUpstream(ctx, cfg, cfg.Upstream.User, password, params)
	}
	pcfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	for k, v := range params {
		if v != "" {
			pcfg.RuntimeParams[k] = v
		}
	}
	conn, err := pgconn.ConnectConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return conn, nil
}

func dialUpstream(ctx context.Context, cfg *config.Config, user, password string, params map[string]string) (*pgconn.PgConn, error) {
	conn, err := proxy.DialUpstream(ctx, cfg, user, password, params)
	if err != nil {
		return nil, fmt.Errorf("connecting to the upstream database %s at %s as %s: %w", cfg.Upstream.Database, cfg.Upstream.Address, user, err)
	}
	return conn, nil
}

// parseInterleaved parses flags that may come before or after the positional
// arguments (pgmask explain 'SQL' --role support), which the flag package alone does
// not; everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
