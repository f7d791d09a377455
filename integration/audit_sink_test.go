package integration

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgmask/pgmask/proxy/audit"
)

// The PostgreSQL audit sink against a real server: a pgmask admin identity that is
// not a superuser creates pgmask_audit.records itself, cannot change what it wrote,
// continues its chain across restarts, survives a dropped connection, fails closed
// while it may not write, and what it stored verifies with `pgmask audit verify`.

const (
	auditDB        = "audit_sink"
	auditAdmin     = "pgmask_audit_admin"
	auditAdminPass = "audit-admin-secret"
	auditDSNEnv    = "PGMASK_TEST_AUDIT_DSN"
	auditCanary    = "123-45-6789"
)

var auditKey = []byte("integration-audit-key-0123456789")

func TestAuditPostgresSink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cluster.CreateDatabase(ctx, auditDB); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Exec(ctx, auditDB, `CREATE ROLE `+auditAdmin+` LOGIN PASSWORD '`+auditAdminPass+`';
		GRANT CREATE ON DATABASE `+auditDB+` TO `+auditAdmin); err != nil {
		t.Fatal(err)
	}
	adminDSN := (&url.URL{Scheme: "postgres", User: url.UserPassword(auditAdmin, auditAdminPass),
		Host: cluster.Host + ":" + strconv.Itoa(cluster.Port), Path: "/" + auditDB, RawQuery: "sslmode=disable"}).String()
	t.Setenv(auditDSNEnv, adminDSN)

	// Two runs of one instance, and a second instance sharing the table.
	writeAuditRun(t, ctx, "pgmask-a", 20)
	writeAuditRun(t, ctx, "pgmask-a", 5)
	writeAuditRun(t, ctx, "pgmask-b", 3)

	t.Run("each chain verifies across restarts", func(t *testing.T) {
		sum := verifyStoredChain(t, ctx, "pgmask-a")
		if sum.Records != (1+20+1)+(1+5+1) || !sum.Genesis || !sum.Stopped {
			t.Errorf("chain pgmask-a: %+v", sum)
		}
		if sum := verifyStoredChain(t, ctx, "pgmask-b"); sum.Records != 5 {
			t.Errorf("chain pgmask-b: %+v", sum)
		}
	})

	t.Run("the admin identity cannot change or remove records", func(t *testing.T) {
		admin, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(context.Background())
		for _, sql := range []string{
			`UPDATE pgmask_audit.records SET role_name = 'x'`,
			`DELETE FROM pgmask_audit.records WHERE seq = 2`,
			`TRUNCATE pgmask_audit.records`,
		} {
			_, err := admin.Exec(ctx, sql)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42501" {
				t.Errorf("%s as the admin identity: %v, want SQLSTATE 42501", sql, err)
			}
		}
	})

	t.Run("even a superuser's accidental UPDATE is refused", func(t *testing.T) {
		err := cluster.Exec(ctx, auditDB, `UPDATE pgmask_audit.records SET role_name = 'x' WHERE seq = 2`)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("UPDATE as superuser: %v", err)
		}
	})

	t.Run("no literal reaches the table", func(t *testing.T) {
		conn := superuser(t, ctx)
		var all string
		if err := conn.QueryRow(ctx, `SELECT string_agg(record::text, E'\n') FROM pgmask_audit.records`).Scan(&all); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(all, auditCanary) || !strings.Contains(all, "WHERE ssn = ?") {
			t.Errorf("stored records:\n%s", all)
		}
	})

	t.Run("a dropped connection is retried and the logger recovers", func(t *testing.T) {
		l := openAuditLogger(t, ctx, "pgmask-c")
		defer l.Close()
		logStatement(t, l)
		waitAudit(t, "the first record is written", func() bool { return l.Stats().Lag == 0 })
		if err := cluster.Exec(ctx, auditDB, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '`+auditAdmin+`'`); err != nil {
			t.Fatal(err)
		}
		logStatement(t, l)
		waitAudit(t, "the record after the reconnect is written", func() bool { return l.Stats().Lag == 0 && l.Healthy() == nil })
	})

	t.Run("the logger fails closed while it may not insert, then recovers", func(t *testing.T) {
		l := openAuditLogger(t, ctx, "pgmask-d")
		if err := cluster.Exec(ctx, auditDB, `REVOKE INSERT ON pgmask_audit.records FROM `+auditAdmin); err != nil {
			t.Fatal(err)
		}
		logStatement(t, l)
		waitAudit(t, "the logger is unhealthy", func() bool { return l.Healthy() != nil })
		if err := l.Log(audit.Connect(audit.Session{User: "alice"})); !errors.Is(err, audit.ErrUnavailable) ||
			!strings.Contains(err.Error(), "permission denied") {
			t.Errorf("Log while refused: %v", err)
		}
		if st := l.Stats(); st.Failures == 0 || st.Lag != 2 {
			t.Errorf("Stats = %+v", st)
		}
		if err := cluster.Exec(ctx, auditDB, `GRANT INSERT ON pgmask_audit.records TO `+auditAdmin); err != nil {
			t.Fatal(err)
		}
		waitAudit(t, "the logger recovers", func() bool { return l.Healthy() == nil && l.Stats().Lag == 0 })
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if sum := verifyStoredChain(t, ctx, "pgmask-d"); sum.Records != 4 || !sum.Stopped {
			t.Errorf("chain pgmask-d: %+v", sum)
		}
	})
}

func openAuditLogger(t *testing.T, ctx context.Context, chain string) *audit.Logger {
	t.Helper()
	cfg := audit.Config{
		Sink: audit.SinkPostgres, DSNEnv: auditDSNEnv, Chain: chain, KeyEnv: "UNUSED",
		FlushInterval: 5 * time.Millisecond, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	}
	l, err := audit.NewLogger(ctx, cfg, audit.Options{Key: append([]byte(nil), auditKey...)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func logStatement(t *testing.T, l *audit.Logger) {
	t.Helper()
	s := audit.Session{ID: "s1", User: "alice", Role: "support", Client: "127.0.0.1:5000", Database: "clinic"}
	q := audit.Query{SQL: audit.Normalize("SELECT first_name FROM clinic.patients WHERE ssn = '" + auditCanary + "'"), Kind: "SELECT",
		Access: []audit.Access{{Relation: "clinic.patients", Column: "first_name", Treatment: "raw"}}}
	if err := l.Log(audit.Statement(s, q, audit.Rewritten, audit.Outcome{Rows: audit.CountRows(1), Duration: time.Millisecond})); err != nil &&
		!errors.Is(err, audit.ErrUnavailable) {
		t.Fatal(err)
	}
}

// writeAuditRun is one run of a pgmask instance: start, n statements, stop.
func writeAuditRun(t *testing.T, ctx context.Context, chain string, n int) {
	t.Helper()
	l := openAuditLogger(t, ctx, chain)
	for range n {
		logStatement(t, l)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// verifyStoredChain exports a chain as `psql -At -c "SELECT record ..."` would and
// verifies it.
func verifyStoredChain(t *testing.T, ctx context.Context, chain string) audit.Summary {
	t.Helper()
	conn := superuser(t, ctx)
	rows, err := conn.Query(ctx, `SELECT record::text FROM pgmask_audit.records WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		text.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sum, err := audit.Verify(auditKey, []audit.Input{{Name: chain, R: strings.NewReader(text.String())}}, audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("chain %s: %v", chain, err)
	}
	return sum
}

func superuser(t *testing.T, ctx context.Context) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, cluster.DSN(auditDB))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func waitAudit(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
