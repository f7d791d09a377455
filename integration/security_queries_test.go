package integration

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Bypass classes that hide a protected relation in the shape of a query or a session:
// CTEs, subqueries, set operations and LATERAL; several statements in one string;
// prepared statements; cursors; COPY.

func TestSecuritySubqueriesCTEsSetOperationsAndLateralAreRewrittenEverywhere(t *testing.T) {
	p := startSecurityProxy(t, nil)
	psych := &secPsychotherapy
	secAttack(t, p, []secProbe{
		{name: "CTE", sql: []string{`WITH x AS (SELECT * FROM clinic.patients WHERE id = 31) SELECT * FROM x`}},
		{name: "materialized CTE of whole rows", sql: []string{`WITH x AS MATERIALIZED (SELECT p FROM clinic.patients p) SELECT * FROM x WHERE (x.p).id = 31`}},
		{name: "recursive CTE", sql: []string{`WITH RECURSIVE r(n, s) AS (
			SELECT 1, ssn FROM clinic.patients WHERE id = 31
			UNION ALL SELECT n + 1, p.ssn FROM r JOIN clinic.patients p ON p.id = 30 + n WHERE n < 2)
			SELECT * FROM r`}},
		{name: "CTE named like the table", sql: []string{
			`WITH patients AS (SELECT * FROM clinic.patients WHERE id = 31) SELECT * FROM patients`,
			`WITH RECURSIVE patients AS (SELECT * FROM clinic.patients WHERE id = 31) SELECT * FROM patients`,
		}},
		{name: "derived table", sql: []string{`SELECT * FROM (SELECT * FROM clinic.patients) s WHERE s.id = 31`}},
		{name: "scalar and array subqueries", sql: []string{`SELECT (SELECT ssn FROM clinic.patients WHERE id = 31), ARRAY(SELECT phone FROM clinic.patients WHERE id = 31)`}},
		{name: "subquery in a function argument", sql: []string{`SELECT upper((SELECT email FROM clinic.patients WHERE id = 31))`, `SELECT lower((SELECT ssn FROM clinic.patients WHERE id = 31))`}},
		{name: "UNION", sql: []string{`SELECT ssn FROM clinic.patients WHERE id = 31 UNION ALL SELECT phone FROM clinic.patients WHERE id = 31`}},
		{name: "UNION with a table the role cannot see", full: psych, sql: []string{
			`SELECT id::text, body FROM clinic.notes WHERE patient_id = 31 UNION ALL SELECT id::text, account_number FROM clinic.claims WHERE patient_id = 31`,
		}},
		{name: "INTERSECT as an oracle", sql: []string{`SELECT ssn FROM clinic.patients INTERSECT SELECT '987-65-4329'`}},
		{name: "EXCEPT", sql: []string{`SELECT ssn FROM clinic.patients WHERE id = 31 EXCEPT SELECT 'nothing'`}},
		{name: "LATERAL", sql: []string{`SELECT x.* FROM clinic.patients p, LATERAL (SELECT p.ssn, p.phone) x WHERE p.id = 31`}},
		{name: "LATERAL over notes", full: psych, sql: []string{`SELECT n.* FROM clinic.patients p CROSS JOIN LATERAL (SELECT body FROM clinic.notes n WHERE n.patient_id = p.id) n WHERE p.id = 31`}},
		{name: "LATERAL set-returning functions", sql: []string{`SELECT v FROM clinic.patients p, LATERAL unnest(ARRAY[p.ssn, p.email]) v WHERE p.id = 31`}},
		{name: "VALUES and sublinks", sql: []string{`SELECT * FROM (VALUES ((SELECT ssn FROM clinic.patients WHERE id = 31))) v(s)`}},
	})
}

func TestSecurityAForbiddenStatementAfterAHarmlessOneRefusesTheWholeString(t *testing.T) {
	p := startSecurityProxy(t, nil)
	psych := &secPsychotherapy
	secAttack(t, p, []secProbe{
		{name: "then a SQL-executing function", sql: []string{`SELECT 1; SELECT query_to_xml('SELECT * FROM clinic.patients WHERE id = 31', true, false, '')`}},
		{name: "then a statistics view", sql: []string{`SELECT 1; ANALYZE clinic.patients; SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'patients'; SELECT ssn FROM clinic.patients WHERE id = 31`}},
		{name: "then an anonymous block that raises the value", sql: []string{`SELECT 1; DO $$BEGIN RAISE NOTICE '%', (SELECT ssn FROM clinic.patients WHERE id = 31); END$$`}},
		{name: "inside a transaction", sql: []string{`BEGIN; SELECT 1; SELECT query_to_xml('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, ''); COMMIT`}},
		{name: "then the psychotherapy notes", full: psych, sql: []string{`SELECT 1; SELECT body FROM clinic.notes WHERE patient_id = 31`}},
		{name: "then a role switch", sql: []string{`SELECT 1; SET ROLE NONE; SELECT ssn FROM clinic.patients WHERE id = 31`}},
	})
	conn, _ := p.connect(t, "alice")
	if _, err := secExec(conn, `SELECT pg_catalog.pg_sleep(0); SELECT query_to_xml('SELECT 1', true, false, '')`); secCode(err) != "42501" {
		t.Errorf("a multi-statement string with a forbidden statement: err = %v, want 42501", err)
	}
}

func TestSecurityPreparedStatementsAreRewrittenWhenPrepared(t *testing.T) {
	p := startSecurityProxy(t, nil)
	ctx := context.Background()
	secAttack(t, p, []secProbe{
		{name: "PREPARE and EXECUTE", sql: []string{`PREPARE q(int) AS SELECT * FROM clinic.patients WHERE id = $1`, `EXECUTE q(31)`}},
		{name: "a prepared predicate probe", oracle: "hit:1:", sql: []string{
			`PREPARE q(text) AS SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn = $1`, `EXECUTE q('987-65-4329')`,
		}},
		{name: "a prepared SQL-executing function", sql: []string{
			`PREPARE q AS SELECT query_to_xml('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, '')`, `EXECUTE q`,
		}},
		{name: "PREPARE in the protocol, EXECUTE in SQL", run: func(conn *pgx.Conn) {
			conn.Prepare(ctx, "proto_q", `SELECT ssn, phone, email FROM clinic.patients WHERE id = $1`)
		}, sql: []string{`EXECUTE proto_q(31)`}},
		{name: "PREPARE in SQL, execute in the protocol", run: func(conn *pgx.Conn) {
			secExec(conn, `PREPARE sql_q(int) AS SELECT ssn, phone FROM clinic.patients WHERE id = $1`)
			conn.PgConn().ExecPrepared(ctx, "sql_q", [][]byte{[]byte("31")}, nil, nil).Read()
		}},
		{name: "DEALLOCATE and PREPARE again", sql: []string{
			`PREPARE q AS SELECT 1`, `DEALLOCATE q`, `DEALLOCATE ALL`, `PREPARE q AS SELECT ssn FROM clinic.patients WHERE id = 31`, `EXECUTE q`,
		}},
	})
}

func TestSecurityCursorsFetchOnlyRewrittenRows(t *testing.T) {
	p := startSecurityProxy(t, nil)
	psych := &secPsychotherapy
	secAttack(t, p, []secProbe{
		{name: "DECLARE and FETCH", sql: []string{`BEGIN; DECLARE c CURSOR FOR SELECT * FROM clinic.patients WHERE id = 31; FETCH ALL FROM c; COMMIT`}},
		{name: "a scrollable cursor WITH HOLD", sql: []string{
			`BEGIN; DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT p FROM clinic.patients p WHERE id BETWEEN 30 AND 32; COMMIT`,
			`FETCH ALL FROM c`, `FETCH PRIOR FROM c`, `MOVE FIRST IN c`, `FETCH NEXT FROM c`, `CLOSE c`,
		}},
		{name: "a cursor over the notes", full: psych, sql: []string{`BEGIN; DECLARE c CURSOR FOR SELECT body FROM clinic.notes WHERE patient_id = 31; FETCH ALL FROM c; COMMIT`}},
		{name: "cursor_to_xml", sql: []string{`BEGIN`, `DECLARE c CURSOR FOR SELECT ssn FROM clinic.patients WHERE id = 31`,
			`SELECT cursor_to_xml('c', 10, false, false, '')`, `FETCH ALL FROM c`, `COMMIT`}},
		{name: "pg_cursors", sql: []string{`BEGIN`, `DECLARE c CURSOR FOR SELECT ssn FROM clinic.patients WHERE id = 31`,
			`SELECT name, statement FROM pg_cursors`, `FETCH ALL FROM c`, `COMMIT`}},
		{name: "a cursor in the extended protocol", run: func(conn *pgx.Conn) {
			ctx := context.Background()
			tx, err := conn.Begin(ctx)
			if err != nil {
				return
			}
			defer tx.Rollback(ctx)
			tx.Exec(ctx, `DECLARE c CURSOR FOR SELECT ssn, phone FROM clinic.patients WHERE id = $1`, 31)
			rows, err := tx.Query(ctx, `FETCH ALL FROM c`)
			if err == nil {
				rows.Close()
			}
		}},
	})
}

func TestSecurityCopyToIsRewrittenAndCopyFromIsRefusedToReadOnlyRoles(t *testing.T) {
	p := startSecurityProxy(t, nil)
	psych := &secPsychotherapy
	copyOut := func(sql string) func(*pgx.Conn) {
		return func(conn *pgx.Conn) { secCopyOut(conn, sql) }
	}
	secAttack(t, p, []secProbe{
		{name: "COPY table TO STDOUT", run: copyOut(`COPY clinic.patients TO STDOUT`)},
		{name: "COPY table (columns) TO STDOUT", run: copyOut(`COPY clinic.patients (id, ssn, phone, email) TO STDOUT`)},
		{name: "COPY (query) TO STDOUT as CSV", run: copyOut(`COPY (SELECT * FROM clinic.patients WHERE id = 31) TO STDOUT WITH (FORMAT csv, HEADER)`)},
		{name: "COPY of whole rows", run: copyOut(`COPY (SELECT p FROM clinic.patients p WHERE id = 31) TO STDOUT`)},
		{name: "COPY of the notes", full: psych, run: copyOut(`COPY clinic.notes TO STDOUT`)},
		{name: "COPY of a SQL-executing function", run: copyOut(`COPY (SELECT query_to_xml('SELECT ssn FROM clinic.patients', true, false, '')) TO STDOUT`)},
	})

	for _, user := range secRestrictedUsers {
		conn, _ := p.connect(t, user)
		for _, sql := range []string{
			`COPY clinic.patients FROM STDIN`,
			`COPY clinic.patients TO '/tmp/pgmask-security-copy'`,
			`COPY (SELECT 1) TO PROGRAM 'true'`,
		} {
			secRefused(t, conn, sql)
		}
	}
}
