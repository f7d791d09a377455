package integration

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	pgconn1 "github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/catalog"
	"github.com/pgmask/pgmask/rewriter"
)

// secCatalog loads the rewriter's catalog snapshot from the shared clinic database,
// as the proxy does.
func secCatalog(t *testing.T) *rewriter.Catalog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn1.Connect(ctx, clinicDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	cat, err := catalog.Load(ctx, conn, 1)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// secRewrite rewrites sql for a role of cfg as the proxy would, with the master key
// of its [masking] section.
func secRewrite(t *testing.T, cfg *config.Config, cat *rewriter.Catalog, role, sql string) rewriter.Result {
	t.Helper()
	key, err := cfg.Masking.ResolveKey()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rewriter.CompileWith(cfg, 1, rewriter.Secrets{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	user, _, err := cfg.UpstreamCredentials(role)
	if err != nil {
		t.Fatal(err)
	}
	res := rewriter.Rewrite(sql, rewriter.Context{Role: role, SearchPath: cfg.Upstream.SearchPath, User: user, Database: cfg.Upstream.Database}, pol, cat)
	if res.Denial != nil {
		t.Fatalf("%s: refused for role %s: %v", sql, role, res.Denial)
	}
	return res
}

// TestSecurityTheRewrittenStatementNeverReachesTheClient: what pgmask sends upstream
// holds the role's row filters and, for the keyed transforms (hash, date_shift), the
// padded HMAC keys; with them a client could hash guessed SSNs until one matches, or
// undo a subject's date shift. PostgreSQL shows a session its own statement through
// current_query(), pg_stat_activity, pg_prepared_statements, pg_cursors and LOG
// messages (log_statement, log_min_duration_statement) when client_min_messages allows
// them: none of these may reach a restricted client.
func TestSecurityTheRewrittenStatementNeverReachesTheClient(t *testing.T) {
	const keyEnv = "SECPROBE_MASK_KEY"
	t.Setenv(keyEnv, "5ec0000000000000000000000000000000000000000000000000000000000001")
	// An upstream user whose every statement is logged, as in a server configured
	// for auditing.
	const upstreamUser, upstreamPassword = "secprobe_logged", "secprobe-logged-password"
	secSuperExec(t, fmt.Sprintf(`DROP ROLE IF EXISTS %[1]s; CREATE ROLE %[1]s LOGIN SUPERUSER PASSWORD '%[2]s';
ALTER ROLE %[1]s SET log_statement = 'all'; ALTER ROLE %[1]s SET log_min_duration_statement = 0;`, upstreamUser, upstreamPassword))
	t.Cleanup(func() { secSuperExec(t, "DROP ROLE IF EXISTS "+upstreamUser) })
	p := startSecurityProxy(t, func(cfg *config.Config) {
		cfg.Masking.KeyEnv = keyEnv
		cfg.Roles["keyed"] = config.Role{
			Profile:          "minimum_necessary",
			Tables:           []string{"clinic.patients"},
			Transforms:       map[string]string{"ssn": "hash", "birth_date": "date_shift(30)", "name": "keep"},
			UpstreamUser:     upstreamUser,
			UpstreamPassword: upstreamPassword,
		}
		secAddUser(t, cfg, "kim", "keyed")
	})
	query := `SELECT ssn, dob FROM clinic.patients WHERE id = 31`
	rewritten := secRewrite(t, p.cfg, secCatalog(t), "keyed", query).SQL
	var canaries []secCanary
	for _, m := range regexp.MustCompile(`'([0-9a-f]{128})'`).FindAllStringSubmatch(rewritten, -1) {
		canaries = append(canaries, secCanary{"padded HMAC key", m[1]})
	}
	if len(canaries) < 4 {
		t.Fatalf("found %d keys in the rewritten statement, want the inner and outer pads of hash and date_shift:\n%s", len(canaries), rewritten)
	}
	canaries = append(canaries, secCanary{"derived table", "FROM ONLY clinic.patients"})

	probes := [][]string{
		{`SELECT current_query() FROM clinic.patients WHERE id = 31`},
		{`SELECT pg_catalog.current_query(), ssn FROM clinic.patients WHERE id = 31`},
		{`SET client_min_messages = log`, query},
		{`SET client_min_messages TO debug1`, query},
		{`SET SESSION client_min_messages = 'LOG'`, query},
		{`PREPARE q AS ` + query, `SELECT statement FROM pg_prepared_statements`, `EXECUTE q`},
		{`BEGIN`, `DECLARE c CURSOR FOR ` + query, `SELECT statement FROM pg_cursors`, `FETCH ALL FROM c`, `ROLLBACK`},
		{`SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()`, query},
		{`SELECT pg_stat_get_backend_activity(b) FROM pg_stat_get_backend_idset() b`},
		{`SELECT ssn::int FROM clinic.patients WHERE id = 31`, `SELECT dob::text::int FROM clinic.patients WHERE id = 31`},
	}
	for _, sql := range probes {
		conn, rec := p.connect(t, "kim")
		for _, s := range sql {
			secExec(conn, s)
		}
		secExec(conn, `SELECT 1`)
		if found := secFindCanaries(rec.Bytes(), canaries); len(found) > 0 {
			t.Errorf("LEAK of the rewritten statement (%v): %v reached the client:\n%s", sql, found, secPrintable(rec.Bytes()))
		}
	}

	// The control: on a direct session of the same upstream user, the same mechanisms
	// do hand the rewritten statement to the client.
	direct, rec := secConnect(t, fmt.Sprintf("host=%s port=%d dbname=clinic user=%s password=%s sslmode=disable",
		cluster.Host, cluster.Port, upstreamUser, upstreamPassword))
	if _, err := secExec(direct, `SET client_min_messages = log`); err != nil {
		t.Fatal(err)
	}
	if _, err := secExec(direct, rewritten); err != nil {
		t.Fatal(err)
	}
	if found := secFindCanaries(rec.Bytes(), canaries[:1]); len(found) == 0 {
		t.Errorf("the LOG message of a direct session does not show the key: the test no longer shows the danger:\n%s", secPrintable(rec.Bytes()))
	}
}
