package integration

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Statements sam (role support, no tables granted in baseConfig) is refused whatever
// the rewriter learns: a table the role was not granted, and a write by a read-only role.
const (
	deniedRead  = "SELECT ssn FROM clinic.patients WHERE id = 1"
	deniedWrite = "DELETE FROM clinic.notes WHERE id = 1"
)

// failingSQL fails on PostgreSQL at the same point as a denial (pgmask sends a call to a
// function that does not exist in the denied statement's place), for direct references.
const failingSQL = "SELECT pgmask_test_no_such_function()"

// upstreamState is the pg_stat_activity state of the backend named app.
func upstreamState(t *testing.T, direct *pgx.Conn, app string) string {
	t.Helper()
	var state string
	if err := direct.QueryRow(context.Background(),
		"SELECT state FROM pg_stat_activity WHERE application_name = $1", app).Scan(&state); err != nil {
		t.Fatal(err)
	}
	return state
}

// answers reports whether err is a statement's answer rather than a broken session:
// success or an ERROR-severity PostgreSQL error.
func answers(err error) bool {
	if err == nil {
		return true
	}
	var severity string
	if pgErr := asPgError(err); pgErr != nil {
		severity = pgErr.Severity
	}
	return severity == "ERROR"
}

func TestADeniedStatementReturns42501AndTheSessionStaysUsable(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	direct := connectDirect(t)
	app := uniqueName("pgmask-deny-")
	conn := p.connect(t, "sam", execMode(pgx.QueryExecModeSimpleProtocol), appName(app))

	for i, sql := range []string{deniedRead, deniedWrite, deniedRead, "SELECT ssn FROM clinic.patients; SELECT 1"} {
		_, err := conn.Exec(ctx, sql)
		pgErr := asPgError(err)
		if pgErr == nil || pgErr.Code != "42501" || pgErr.Severity != "ERROR" {
			t.Fatalf("statement %d, %q: %v, want ERROR 42501", i, sql, err)
		}
		if strings.Contains(pgErr.Message, "pgmask_denied") || strings.Contains(pgErr.Message, "does not exist") {
			t.Errorf("the denial shows pgmask's upstream marker: %q", pgErr.Message)
		}
		if tx := conn.PgConn().TxStatus(); tx != 'I' || conn.IsClosed() {
			t.Fatalf("after denial %d: transaction status %q, closed %v; want an idle open session", i, tx, conn.IsClosed())
		}
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); !answers(err) {
		t.Errorf("a statement after the denials got %v, want an answer", err)
	}
	if state := upstreamState(t, direct, app); state != "idle" {
		t.Errorf("the upstream backend is %q after the denials, want idle", state)
	}
}

func TestADeniedStatementInsideATransactionFailsItAsPostgreSQLWould(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	direct := connectDirect(t)
	app := uniqueName("pgmask-deny-tx-")
	conn := p.connect(t, "sam", execMode(pgx.QueryExecModeSimpleProtocol), appName(app))

	_, err := conn.Exec(ctx, "BEGIN")
	if sqlState(err) == "42501" {
		// The rewriter does not allow sam transaction control yet. Then no transaction
		// may exist on either side.
		if tx := conn.PgConn().TxStatus(); tx != 'I' {
			t.Errorf("after a denied BEGIN the client sees transaction status %q, want I", tx)
		}
		if state := upstreamState(t, direct, app); state != "idle" {
			t.Errorf("after a denied BEGIN the upstream backend is %q, want idle", state)
		}
		t.Log("BEGIN is refused for role support; only the refusal of BEGIN itself was checked")
		return
	}
	if err != nil {
		t.Fatalf("BEGIN: %v", err)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'T' {
		t.Fatalf("after BEGIN the transaction status is %q, want T", tx)
	}

	_, err = conn.Exec(ctx, deniedRead)
	if code := sqlState(err); code != "42501" {
		t.Fatalf("denied statement in a transaction: %v, want 42501", err)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'E' {
		t.Errorf("after the denial the client sees transaction status %q, want E (failed)", tx)
	}
	if state := upstreamState(t, direct, app); state != "idle in transaction (aborted)" {
		t.Errorf("after the denial the upstream backend is %q, want idle in transaction (aborted)", state)
	}

	_, err = conn.Exec(ctx, "SELECT 1")
	pgErr := asPgError(err)
	if pgErr == nil || pgErr.Code != "25P02" || pgErr.Message != "current transaction is aborted, commands ignored until end of transaction block" {
		t.Errorf("the statement after the denial got %v, want PostgreSQL's 25P02", err)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("ROLLBACK: %v", err)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'I' {
		t.Errorf("after ROLLBACK the transaction status is %q, want I", tx)
	}
	if state := upstreamState(t, direct, app); state != "idle" {
		t.Errorf("after ROLLBACK the upstream backend is %q, want idle", state)
	}
}

func TestADenialInTheExtendedProtocolIsAnErrorResponseAndTheConnectionStaysUsable(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	conn := p.connect(t, "sam", execMode(pgx.QueryExecModeDescribeExec))
	for i := range 3 {
		_, err := conn.Exec(ctx, "SELECT ssn FROM clinic.patients WHERE id = $1", int64(i+1))
		if pgErr := asPgError(err); pgErr == nil || pgErr.Code != "42501" || pgErr.Severity != "ERROR" {
			t.Fatalf("execution %d: %v, want ERROR 42501", i, err)
		}
		if tx := conn.PgConn().TxStatus(); tx != 'I' || conn.IsClosed() {
			t.Fatalf("after execution %d: status %q, closed %v", i, tx, conn.IsClosed())
		}
	}
	if _, err := conn.Exec(ctx, "SELECT $1::int", 1); !answers(err) {
		t.Errorf("a statement after the denials got %v, want an answer", err)
	}
}

// extendedQuery is Parse, Bind and Execute of one unnamed statement.
func extendedQuery(sql string) []pgproto3.FrontendMessage {
	return []pgproto3.FrontendMessage{
		&pgproto3.Parse{Query: sql},
		&pgproto3.Bind{},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
	}
}

func TestDenialsInAPipelineFollowPostgreSQLsDiscardUntilSyncRule(t *testing.T) {
	p := startProxy(t, nil)
	pipelines := []struct {
		name string
		// build makes the pipeline from two statements that fail at Parse.
		build func(a, b string) []pgproto3.FrontendMessage
		syncs int
	}{
		{"each statement with its own Sync", func(a, b string) []pgproto3.FrontendMessage {
			msgs := append(extendedQuery(a), &pgproto3.Sync{})
			return append(append(msgs, extendedQuery(b)...), &pgproto3.Sync{})
		}, 2},
		{"both statements before one Sync", func(a, b string) []pgproto3.FrontendMessage {
			return append(append(extendedQuery(a), extendedQuery(b)...), &pgproto3.Sync{})
		}, 1},
		{"a Flush before the Sync", func(a, b string) []pgproto3.FrontendMessage {
			msgs := append(extendedQuery(a), &pgproto3.Flush{})
			return append(append(msgs, extendedQuery(b)...), &pgproto3.Sync{})
		}, 1},
	}
	for _, pl := range pipelines {
		t.Run(pl.name, func(t *testing.T) {
			sam := p.rawConnect(t, "sam", nil)
			sam.send(t, pl.build(deniedRead, deniedWrite)...)
			got := sam.untilReadyN(t, pl.syncs)

			ref := rawDirect(t)
			ref.send(t, pl.build(failingSQL, failingSQL)...)
			want := ref.untilReadyN(t, pl.syncs)

			gotShape := messageShape(got)
			wantShape := strings.ReplaceAll(messageShape(want), "E:42883", "E:42501")
			if gotShape != wantShape {
				t.Errorf("through pgmask: %s\nPostgreSQL with failing statements: %s", gotShape, wantShape)
			}

			// The session is still in step: a simple query gets exactly one answer.
			sam.send(t, &pgproto3.Query{String: deniedRead})
			if shape := messageShape(sam.untilReady(t)); shape != "E:42501 Z:I" {
				t.Errorf("the next query got %s, want E:42501 Z:I", shape)
			}
		})
	}
}

func TestADenialInAPgxBatchFailsTheBatchAsAPostgreSQLErrorWould(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	queries := []string{"SELECT 1::int8", deniedRead, "SELECT 3::int8", "SELECT 4::int8"}

	// Which of the queries does the rewriter refuse on their own? (Today: all.)
	probe := p.connect(t, "sam")
	denied := make([]bool, len(queries))
	for i, q := range queries {
		_, err := probe.Exec(ctx, q)
		denied[i] = sqlState(err) == "42501"
	}
	if !denied[1] {
		t.Fatalf("%q is not refused for sam", deniedRead)
	}

	for _, m := range execModes {
		t.Run(m.name, func(t *testing.T) {
			run := func(conn *pgx.Conn, replace []bool) []string {
				b := &pgx.Batch{}
				for i, q := range queries {
					if replace != nil && replace[i] {
						q = failingSQL
					}
					b.Queue(q)
				}
				br := conn.SendBatch(ctx, b)
				out := make([]string, len(queries))
				for i := range queries {
					var v any
					err := br.QueryRow().Scan(&v)
					out[i] = fmt.Sprintf("%v %s", v, strings.Replace(sqlState(err), "42883", "42501", 1))
					if err != nil && sqlState(err) == "" {
						out[i] = "error: " + err.Error()
					}
				}
				br.Close()
				if tx := conn.PgConn().TxStatus(); tx != 'I' {
					t.Errorf("transaction status after the batch is %q, want I", tx)
				}
				return out
			}
			got := run(p.connect(t, "sam", execMode(m.mode)), nil)
			want := run(connectDirect(t, execMode(m.mode)), denied)
			// In the simple protocol pgx sends the batch as one multi-statement Query:
			// pgmask sends the statements before the denied one and fails there, as
			// PostgreSQL does, so the results are the same in every mode.
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("query %d (%s): through pgmask %q, PostgreSQL with failing statements %q", i+1, queries[i], got[i], want[i])
				}
			}
		})
	}
}

// functionCall is a fast-path call of int4pl(2, 3) with binary arguments and result.
func functionCall(t *testing.T) *pgproto3.FunctionCall {
	t.Helper()
	var oid uint32
	if err := connectDirect(t).QueryRow(context.Background(), "SELECT 'pg_catalog.int4pl'::regproc::oid").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return &pgproto3.FunctionCall{
		Function:         oid,
		ArgFormatCodes:   []uint16{1},
		Arguments:        [][]byte{binary.BigEndian.AppendUint32(nil, 2), binary.BigEndian.AppendUint32(nil, 3)},
		ResultFormatCode: 1,
	}
}

func TestTheFastPathFunctionCallIsRefusedForARestrictedRoleAndWorksForAFullOne(t *testing.T) {
	p := startProxy(t, nil)
	call := functionCall(t)

	sam := p.rawConnect(t, "sam", nil)
	sam.send(t, call)
	msgs := sam.untilReady(t)
	if shape := messageShape(msgs); shape != "E:42501 Z:I" {
		t.Fatalf("FunctionCall as sam: %s, want E:42501 Z:I", shape)
	}
	if e := msgs[0].(*pgproto3.ErrorResponse); e.Severity != "ERROR" || !strings.Contains(e.Message, "fast-path") {
		t.Errorf("FunctionCall refusal: %s %q", e.Severity, e.Message)
	}
	sam.send(t, &pgproto3.Query{String: deniedRead})
	if shape := messageShape(sam.untilReady(t)); shape != "E:42501 Z:I" {
		t.Errorf("the query after the refused FunctionCall got %s, want E:42501 Z:I", shape)
	}

	dana := p.rawConnect(t, "dana", nil)
	dana.send(t, call)
	msgs = dana.untilReady(t)
	if shape := messageShape(msgs); shape != "FunctionCallResponse Z:I" {
		t.Fatalf("FunctionCall as dana: %s, want FunctionCallResponse Z:I", shape)
	}
	if r := msgs[0].(*pgproto3.FunctionCallResponse).Result; len(r) != 4 || binary.BigEndian.Uint32(r) != 5 {
		t.Errorf("int4pl(2, 3) through pgmask = %x, want 5", r)
	}
}

func TestADenialInAMultiStatementStringStopsWherePostgreSQLWould(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	direct := connectDirect(t)
	app := uniqueName("pgmask-deny-multi-")
	conn := p.connect(t, "sam", appName(app))

	// PostgreSQL runs BEGIN and SELECT 1, fails at the denied statement and never runs
	// SELECT 2: the client gets two results, the error, and a failed transaction.
	results, err := conn.PgConn().Exec(ctx, "BEGIN; SELECT 1 AS first; "+deniedRead+"; SELECT 2 AS never").ReadAll()
	if code := sqlState(err); code != "42501" {
		t.Fatalf("the string got %v, want 42501", err)
	}
	var tags []string
	for _, r := range results {
		if r.Err == nil {
			tags = append(tags, r.CommandTag.String())
		}
	}
	if strings.Join(tags, ",") != "BEGIN,SELECT 1" {
		t.Errorf("results before the denial: %q, want BEGIN and SELECT 1", tags)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'E' {
		t.Errorf("after the denial the client sees transaction status %q, want E", tx)
	}
	if state := upstreamState(t, direct, app); state != "idle in transaction (aborted)" {
		t.Errorf("after the denial the upstream backend is %q, want idle in transaction (aborted)", state)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("ROLLBACK: %v", err)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'I' {
		t.Errorf("after ROLLBACK the transaction status is %q, want I", tx)
	}
}
