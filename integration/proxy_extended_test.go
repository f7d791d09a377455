package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestAPreparedStatementRunsTwentyTimesWithTheResultsOfPostgreSQL(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	conn := p.connect(t, "dana")
	direct := connectDirect(t)

	const query = "SELECT id, last_name, dob, ssn FROM clinic.patients WHERE id = $1"
	sd, err := conn.Prepare(ctx, "patient_by_id", query)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.ParamOIDs) != 1 || len(sd.Fields) != 4 {
		t.Fatalf("statement description: %d parameters, %d fields; want 1 and 4", len(sd.ParamOIDs), len(sd.Fields))
	}
	type patient struct {
		ID       int64
		LastName string
		DOB      time.Time
		SSN      string
	}
	for i := range 20 {
		id := int64(1 + i*97)
		var got, want patient
		if err := conn.QueryRow(ctx, "patient_by_id", id).Scan(&got.ID, &got.LastName, &got.DOB, &got.SSN); err != nil {
			t.Fatalf("execution %d: %v", i, err)
		}
		if err := direct.QueryRow(ctx, query, id).Scan(&want.ID, &want.LastName, &want.DOB, &want.SSN); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("execution %d: got %+v, want %+v", i, got, want)
		}
	}

	// The statement was prepared once, upstream, under the client's name.
	var prepared int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'patient_by_id'").Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 1 {
		t.Errorf("pg_prepared_statements has %d statements named patient_by_id, want 1", prepared)
	}
	if err := conn.Deallocate(ctx, "patient_by_id"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'patient_by_id'").Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 0 {
		t.Errorf("after Deallocate pg_prepared_statements still has patient_by_id")
	}
}

// batchOutcome is what pgx reported for one query of a batch.
type batchOutcome struct {
	value int64
	code  string // SQLSTATE, "" on success
	err   string // any other error, "" if none
}

// runFiftyQueryBatch sends 50 queries in one pipelined pgx.Batch on conn: inserts into
// a temporary table and SELECTs, with a division by zero at query 25, then reports
// each query's outcome and how many rows the table holds afterwards.
func runFiftyQueryBatch(t *testing.T, conn *pgx.Conn) ([]batchOutcome, int) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE batch_rows (n int8)"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP TABLE batch_rows")

	b := &pgx.Batch{}
	for i := range 50 {
		switch {
		case i == 24:
			b.Queue("SELECT 100 / ($1::int8 - $1::int8)", int64(i))
		case i%2 == 0:
			b.Queue("INSERT INTO batch_rows VALUES ($1) RETURNING n", int64(i))
		default:
			b.Queue("SELECT $1::int8 * 2", int64(i))
		}
	}
	br := conn.SendBatch(ctx, b)
	outcomes := make([]batchOutcome, 50)
	for i := range outcomes {
		var v int64
		err := br.QueryRow().Scan(&v)
		outcomes[i] = batchOutcome{value: v, code: sqlState(err)}
		if err != nil && outcomes[i].code == "" {
			outcomes[i].err = err.Error()
		}
	}
	closeErr := br.Close()
	if closeErr != nil && sqlState(closeErr) != "22012" {
		t.Fatalf("closing the batch: %v", closeErr)
	}
	if tx := conn.PgConn().TxStatus(); tx != 'I' {
		t.Fatalf("transaction status after the batch is %q, want I", tx)
	}
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM batch_rows").Scan(&rows); err != nil {
		t.Fatalf("the connection is not usable after the batch: %v", err)
	}
	return outcomes, rows
}

func TestAPipelinedBatchWithAnErrorInTheMiddleBehavesAsItDoesOnPostgreSQL(t *testing.T) {
	p := startProxy(t, nil)
	for _, m := range execModes {
		t.Run(m.name, func(t *testing.T) {
			got, gotRows := runFiftyQueryBatch(t, p.connect(t, "dana", execMode(m.mode)))
			want, wantRows := runFiftyQueryBatch(t, connectDirect(t, execMode(m.mode)))
			for i := range 24 {
				want := int64(i)
				if i%2 == 1 {
					want = int64(2 * i)
				}
				if got[i] != (batchOutcome{value: want}) {
					t.Errorf("query %d before the error: %+v, want the value %d", i+1, got[i], want)
				}
			}
			if got[24].code != "22012" {
				t.Errorf("query 25: SQLSTATE %q, want 22012 (division by zero)", got[24].code)
			}
			if gotRows != 0 {
				t.Errorf("batch_rows has %d rows after the failed batch, want 0", gotRows)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("query %d through pgmask: %+v; directly: %+v", i+1, got[i], want[i])
				}
			}
			// The batch is one implicit transaction: the error rolls back its inserts.
			if gotRows != wantRows {
				t.Errorf("batch_rows has %d rows through pgmask, %d directly", gotRows, wantRows)
			}
		})
	}
}

// copyRows are 10,000 rows for CopyFrom of mixed types, NULLs and awkward text.
func copyRows() [][]any {
	rows := make([][]any, 10000)
	base := time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range rows {
		var note any = fmt.Sprintf("note %d: tab\there, newline\nthere, backslash \\ and ☃", i)
		if i%7 == 0 {
			note = nil
		}
		rows[i] = []any{int64(i), note, base.Add(time.Duration(i) * time.Minute), []byte{byte(i), 0, 0xff, byte(i >> 8)}, i%3 == 0}
	}
	return rows
}

// copyInAndOut creates a temporary table on conn, fills it with CopyFrom and returns
// what COPY ... TO STDOUT prints of it in text, CSV and binary format.
func copyInAndOut(t *testing.T, conn *pgx.Conn) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE copy_rows (id int8, note text, at timestamptz, data bytea, flag bool)"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP TABLE copy_rows")
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"copy_rows"}, []string{"id", "note", "at", "data", "flag"}, pgx.CopyFromRows(copyRows()))
	if err != nil {
		t.Fatalf("CopyFrom: %v", err)
	}
	if n != 10000 {
		t.Fatalf("CopyFrom copied %d rows, want 10000", n)
	}
	out := map[string][]byte{}
	for _, format := range []string{"text", "csv", "binary"} {
		var buf bytes.Buffer
		tag, err := conn.PgConn().CopyTo(ctx, &buf, "COPY (SELECT * FROM copy_rows ORDER BY id) TO STDOUT (FORMAT "+format+")")
		if err != nil {
			t.Fatalf("CopyTo %s: %v", format, err)
		}
		if tag.RowsAffected() != 10000 {
			t.Fatalf("CopyTo %s: %q, want 10000 rows", format, tag)
		}
		out[format] = buf.Bytes()
	}
	return out
}

func TestCopyFromAndCopyToMoveTheSameBytesAsADirectConnection(t *testing.T) {
	p := startProxy(t, nil)
	got := copyInAndOut(t, p.connect(t, "dana"))
	want := copyInAndOut(t, connectDirect(t))
	for format, w := range want {
		if !bytes.Equal(got[format], w) {
			t.Errorf("COPY TO STDOUT (FORMAT %s): %d bytes through pgmask differ from the %d bytes of a direct connection",
				format, len(got[format]), len(w))
		}
	}
	if !strings.Contains(string(got["text"]), `newline\nthere, backslash \\ and ☃`) {
		t.Errorf("text COPY output does not carry the escaped note")
	}
}

func TestCopyToOfAClinicTableEqualsADirectConnectionByteForByte(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	conn := p.connect(t, "dana")
	direct := connectDirect(t)
	for _, sql := range []string{
		"COPY clinic.patients TO STDOUT",
		"COPY (SELECT * FROM clinic.notes ORDER BY id) TO STDOUT (FORMAT csv, HEADER)",
		"COPY (SELECT * FROM clinic.encounters ORDER BY id) TO STDOUT (FORMAT binary)",
	} {
		var got, want bytes.Buffer
		if _, err := conn.PgConn().CopyTo(ctx, &got, sql); err != nil {
			t.Fatalf("%s through pgmask: %v", sql, err)
		}
		if _, err := direct.PgConn().CopyTo(ctx, &want, sql); err != nil {
			t.Fatal(err)
		}
		if want.Len() == 0 || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: %d bytes through pgmask, %d directly, not equal", sql, got.Len(), want.Len())
		}
	}
}

func TestAFailedCopyFromLeavesTheSessionUsable(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	conn := p.connect(t, "dana")
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE copy_fail (n int4 NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	_, err := conn.PgConn().CopyFrom(ctx, strings.NewReader("1\n2\n\\N\n4\n"), "COPY copy_fail FROM STDIN")
	if code := sqlState(err); code != "23502" {
		t.Fatalf("COPY of a NULL into a NOT NULL column: %v, want SQLSTATE 23502", err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM copy_fail").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the failed COPY: count = %d, err = %v; want 0 rows and no error", n, err)
	}
}

func TestACopyFromTheClientAbortsWithCopyFailAndTheSessionStaysUsable(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	conn := p.connect(t, "dana")
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE copy_abort (n int4)"); err != nil {
		t.Fatal(err)
	}
	// pgconn answers a failing reader with CopyFail, which PostgreSQL turns into 57014.
	_, err := conn.PgConn().CopyFrom(ctx, io.MultiReader(strings.NewReader("1\n2\n"), failingReader{}), "COPY copy_abort FROM STDIN")
	if code := sqlState(err); code != "57014" {
		t.Fatalf("a COPY the client aborted: %v, want SQLSTATE 57014", err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM copy_abort").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the aborted COPY: count = %d, err = %v; want 0 rows and no error", n, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("the client gave up") }

func TestManyConcurrentSessionsGetTheirOwnResults(t *testing.T) {
	p := startProxy(t, nil)
	const sessions, queries = 16, 40
	errs := make(chan error, sessions)
	for i := range sessions {
		mode := execModes[i%len(execModes)]
		conn := p.connect(t, "dana", execMode(mode.mode))
		go func() {
			ctx := context.Background()
			for q := range queries {
				want := int64(i*1000 + q)
				var got int64
				var text string
				if err := conn.QueryRow(ctx, "SELECT $1::int8, repeat('x', ($1::int8 % 5000)::int)", want).Scan(&got, &text); err != nil {
					errs <- fmt.Errorf("session %d (%s), query %d: %w", i, mode.name, q, err)
					return
				}
				if got != want || len(text) != int(want%5000) {
					errs <- fmt.Errorf("session %d (%s), query %d: got %d and %d bytes, want %d", i, mode.name, q, got, len(text), want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range sessions {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestAValueOfTwentyMegabytesRoundTripsInOneMessage(t *testing.T) {
	p := startProxy(t, nil)
	conn := p.connect(t, "dana")
	want := bytes.Repeat([]byte{0x00, 0xff, 'p', 'g', 0x80}, 4<<20)
	var got []byte
	if err := conn.QueryRow(context.Background(), "SELECT $1::bytea", want).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("a %d-byte bytea came back as %d different bytes", len(want), len(got))
	}
}
