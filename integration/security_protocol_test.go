package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgmask/pgmask/config"
)

// Bypass classes on the protocol level: the fast-path FunctionCall, extended-protocol
// pipelines that mix allowed and forbidden statements, writes that read rows, and
// client encodings in which PostgreSQL and pgmask would read different statements.

func TestSecurityTheFastPathFunctionCallIsRefused(t *testing.T) {
	p := startSecurityProxy(t, nil)
	var oid uint32
	if err := connectDirect(t).QueryRow(context.Background(),
		`SELECT 'pg_catalog.query_to_xml(text, boolean, boolean, text)'::regprocedure::oid`).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	call := func(conn *pgx.Conn) {
		hj, err := conn.PgConn().Hijack()
		if err != nil {
			return
		}
		defer hj.Conn.Close()
		hj.Frontend.Send(&pgproto3.FunctionCall{
			Function:       oid,
			ArgFormatCodes: []uint16{0},
			Arguments:      [][]byte{[]byte("SELECT ssn, phone FROM clinic.patients WHERE id = 31"), []byte("t"), []byte("f"), []byte("")},
		})
		if hj.Frontend.Flush() != nil {
			return
		}
		hj.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			msg, err := hj.Frontend.Receive()
			if err != nil {
				return
			}
			if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
				return
			}
		}
	}
	secAttack(t, p, []secProbe{{name: "query_to_xml by OID", run: call}})
}

func TestSecurityPipelinesMixingAllowedAndForbiddenStatementsLeakNothing(t *testing.T) {
	p := startSecurityProxy(t, nil)
	ctx := context.Background()
	statements := []struct {
		sql  string
		args []any
	}{
		{`SELECT ssn, phone, email, dob::text FROM clinic.patients WHERE id = $1`, []any{31}},
		{`SELECT query_to_xml('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, '')`, nil},
		{`SELECT body FROM clinic.notes WHERE patient_id = $1`, []any{31}},
		{`SELECT query FROM pg_stat_activity`, nil},
		{`SELECT p::text FROM clinic.patients p WHERE id = $1`, []any{31}},
		{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn = $1`, []any{"987-65-4329"}},
		{`SET ROLE NONE`, nil},
		{`SELECT street FROM clinic.patients WHERE id = $1`, []any{31}},
	}
	batch := func(rotate int) func(*pgx.Conn) {
		return func(conn *pgx.Conn) {
			b := &pgx.Batch{}
			for i := range statements {
				s := statements[(i+rotate)%len(statements)]
				b.Queue(s.sql, s.args...)
			}
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			br := conn.SendBatch(ctx, b)
			for range statements {
				if rows, err := br.Query(); err == nil {
					for rows.Next() {
					}
					rows.Close()
				}
			}
			br.Close()
		}
	}
	pipeline := func(conn *pgx.Conn) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		pl := conn.PgConn().StartPipeline(ctx)
		for i, s := range statements {
			var params [][]byte
			for _, a := range s.args {
				params = append(params, []byte(fmt.Sprint(a)))
			}
			pl.SendQueryParams(s.sql, params, nil, nil, nil)
			if i%3 == 2 {
				pl.SendPipelineSync()
			}
		}
		pl.SendPipelineSync()
		pl.Flush()
		for range 100 {
			res, err := pl.GetResults()
			if res == nil && err == nil {
				break
			}
			if rr, ok := res.(*pgconn.ResultReader); ok {
				rr.Close()
			}
		}
		pl.Close()
	}
	var probes []secProbe
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		for rotate := range 3 {
			probes = append(probes, secProbe{name: fmt.Sprintf("%v batch %d", mode, rotate), run: batch(rotate * 3),
				conn: []func(*pgx.ConnConfig){func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode }}})
		}
	}
	probes = append(probes, secProbe{name: "a pgconn pipeline with a Sync every three statements", run: pipeline})
	secAttack(t, p, probes)
}

// writers adds a role that may write clinic.patients but sees the SSN masked (and the
// probe schema's scratch table raw), and a full role that may write, as the control.
func writers(t *testing.T) func(*config.Config) {
	return func(cfg *config.Config) {
		no := false
		cfg.Tables["secprobe.scratch"] = config.Table{Columns: map[string]string{"v": "none"}}
		cfg.Roles["frontdesk"] = config.Role{
			Profile:    "minimum_necessary",
			Tables:     []string{"clinic.patients", "secprobe.scratch"},
			Transforms: map[string]string{"ssn": "last4", "name": "keep"},
			Statements: []string{"select", "transaction", "set", "insert", "update", "delete", "merge", "copy_from"},
			ReadOnly:   &no,
		}
		cfg.Roles["admin"] = config.Role{Profile: "full", ReadOnly: &no}
		secAddUser(t, cfg, "fred", "frontdesk")
		secAddUser(t, cfg, "adam", "admin")
	}
}

func TestSecurityWritesThatReadRowsAreRefusedToARoleThatSeesThemMasked(t *testing.T) {
	p := startSecurityProxy(t, writers(t))
	secWithProbeSchema(t, p, `CREATE TABLE secprobe.scratch (v text); INSERT INTO secprobe.scratch VALUES ('seed');`)
	tx := func(sql ...string) []string { return append(append([]string{`BEGIN`}, sql...), `ROLLBACK`) }
	row := `(1000031, 'A', 'B', '000-00-0000', 'MRNPROBE', '2000-01-01', NULL, 'C', 'CA', '00000', NULL, NULL, 'F')`
	secAttackAs(t, p, []string{"fred"}, "adam", []secProbe{
		{name: "UPDATE RETURNING the masked column", sql: tx(`UPDATE clinic.patients SET sex = sex WHERE id = 31 RETURNING ssn, phone`)},
		{name: "UPDATE RETURNING *", sql: tx(`UPDATE clinic.patients SET sex = sex WHERE id = 31 RETURNING *`)},
		{name: "UPDATE as a predicate oracle", oracle: "UPDATE 1", sql: tx(`UPDATE clinic.patients SET sex = sex WHERE ssn = '987-65-4329'`)},
		{name: "UPDATE copying a hidden value into a visible column", sql: tx(
			`UPDATE clinic.patients SET first_name = ssn WHERE id = 31`, `SELECT first_name FROM clinic.patients WHERE id = 31`)},
		{name: "DELETE as a predicate oracle", oracle: "Key (id)=(31)", sql: tx(`DELETE FROM clinic.patients WHERE ssn = '987-65-4329'`)},
		{name: "INSERT RETURNING a subquery", sql: tx(`INSERT INTO clinic.patients VALUES ` + row + ` RETURNING (SELECT ssn FROM clinic.patients WHERE id = 31)`)},
		{name: "INSERT ON CONFLICT DO UPDATE RETURNING", sql: tx(`INSERT INTO clinic.patients VALUES (31, 'A', 'B', '000-00-0000', 'MRNPROBE', '2000-01-01', NULL, 'C', 'CA', '00000', NULL, NULL, 'F')
			ON CONFLICT (id) DO UPDATE SET sex = EXCLUDED.sex RETURNING ssn`)},
		{name: "a writable CTE", sql: tx(`WITH u AS (UPDATE clinic.patients SET sex = sex WHERE id = 31 RETURNING ssn) SELECT * FROM u`)},
		{name: "MERGE as a predicate oracle", oracle: "MERGE 1", sql: tx(`MERGE INTO clinic.patients p USING (SELECT 31 AS id) s ON p.id = s.id
			WHEN MATCHED AND p.ssn = '987-65-4329' THEN UPDATE SET sex = p.sex`)},
		{name: "laundering through INSERT ... SELECT", sql: tx(
			`INSERT INTO secprobe.scratch SELECT ssn FROM clinic.patients WHERE id = 31`, `SELECT v FROM secprobe.scratch`)},
		{name: "laundering through UPDATE ... FROM", sql: tx(
			`UPDATE secprobe.scratch s SET v = p.ssn FROM clinic.patients p WHERE p.id = 31`, `SELECT v FROM secprobe.scratch`)},
	})

	// What the writer may do still works: the masked read and a plain insert.
	conn, _ := p.connect(t, "fred")
	res, err := secExec(conn, `BEGIN; INSERT INTO clinic.patients VALUES `+row+`; SELECT ssn FROM clinic.patients WHERE id = 1000031; ROLLBACK`)
	if err != nil || len(res) != 4 || len(res[2].Rows) != 1 || string(res[2].Rows[0][0]) != "XXX-XX-0000" {
		t.Errorf("a plain INSERT and a masked read by the writer: %v %v", res, err)
	}
}

func TestSecurityClientEncodingsThatHideABackslashCannotSplitAStatement(t *testing.T) {
	p := startSecurityProxy(t, nil)
	// "Á" is C3 81 in UTF-8: in SJIS, 81 and the backslash after it are one character,
	// so PostgreSQL ends the string there and runs the rest. pgmask reads one string.
	attack := "SELECT E'\xc3\x81\\' ; SELECT ssn, phone, email FROM clinic.patients WHERE id = 31 -- '"
	sjis := func(c *pgx.ConnConfig) { c.RuntimeParams["client_encoding"] = "SJIS" }
	for _, user := range append(append([]string(nil), secRestrictedUsers...), secFullUser) {
		conn, rec := p.connect(t, user, sjis)
		secExec(conn, attack)
		secExec(conn, `SELECT 1`)
		role := secRoles[user]
		if user == secFullUser {
			if len(secFindCanaries(rec.Bytes(), []secCanary{secSSN})) == 0 {
				t.Errorf("the full role did not receive the SSN: the attack no longer works on PostgreSQL:\n%s", secPrintable(rec.Bytes()))
			}
			continue
		}
		secAssertNoCanary(t, role, "a client_encoding of SJIS at startup", rec.Bytes())
	}
	for _, user := range secRestrictedUsers {
		conn, rec := p.connect(t, user)
		for _, set := range []string{`SET client_encoding = 'SJIS'`, `SET NAMES 'BIG5'`, `SET client_encoding TO 'gbk'`, `SET client_encoding = 'WIN932'`} {
			secRefused(t, conn, set)
		}
		secExec(conn, attack)
		secAssertNoCanary(t, secRoles[user], "SET client_encoding", rec.Bytes())
	}
}
