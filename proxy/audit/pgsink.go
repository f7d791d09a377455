package audit

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgconn"
)

// Schema is the DDL of the PostgreSQL sink's table, pgmask_audit.records.
//
//go:embed schema.sql
var Schema string

// PostgresSink writes records to pgmask_audit.records, one row per record, each batch
// in one INSERT (so a batch is stored whole or not at all). It creates the table with
// Schema when it is missing. It connects with pgmask's admin identity, not with the
// identity of any client's role, and reconnects after a failure at the next write.
type PostgresSink struct {
	dsn   string
	chain string
	conn  *pgconn.PgConn
	stmts map[int]string // INSERT statements by batch size
}

// PostgresOptions configure a PostgresSink.
type PostgresOptions struct {
	// DSN is the connection string of pgmask's admin identity.
	DSN string
	// Chain names this pgmask instance's chain; instances sharing the table need
	// distinct names.
	Chain string
}

// NewPostgresSink connects and makes sure the table exists.
func NewPostgresSink(ctx context.Context, o PostgresOptions) (*PostgresSink, error) {
	if o.Chain == "" {
		return nil, errors.New("audit: the postgres sink needs a chain name")
	}
	s := &PostgresSink{dsn: o.DSN, chain: o.Chain, stmts: map[int]string{}}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *PostgresSink) connect(ctx context.Context) error {
	if s.conn != nil && !s.conn.IsClosed() {
		return nil
	}
	conn, err := pgconn.Connect(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("audit: connecting to the audit database: %w", err)
	}
	s.conn = conn
	return nil
}

// ensureSchema runs Schema if the table is missing. Two instances starting at once
// may both try; the loser's duplicate-object error is taken as success.
func (s *PostgresSink) ensureSchema(ctx context.Context) error {
	rows, err := s.query(ctx, `SELECT to_regclass('pgmask_audit.records') IS NOT NULL`)
	if err != nil {
		return err
	}
	if len(rows) == 1 && string(rows[0][0]) == "t" {
		return nil
	}
	_, err = s.conn.Exec(ctx, Schema).ReadAll()
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P07" || pe.Code == "42710" || pe.Code == "23505") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: creating pgmask_audit.records: %w", err)
	}
	return nil
}

// Write inserts the batch. If an earlier attempt of the same batch was committed but
// its reply lost, the retry finds the records already there and succeeds.
func (s *PostgresSink) Write(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	params := make([][]byte, 0, len(recs)+1)
	params = append(params, []byte(s.chain))
	for i := range recs {
		params = append(params, bytes.TrimSuffix(recs[i].Line(), []byte("\n")))
	}
	err := s.conn.ExecParams(ctx, s.insert(len(recs)), params, nil, nil, nil).Read().Err
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation on (chain, seq)
		last := &recs[len(recs)-1]
		return s.alreadyStored(ctx, last.Seq, last.MAC)
	}
	if err != nil {
		s.dropBroken(err)
		return fmt.Errorf("audit: inserting into pgmask_audit.records: %w", err)
	}
	return nil
}

// insert returns the INSERT statement for n records ($1 is the chain, $2... the records).
func (s *PostgresSink) insert(n int) string {
	if q, ok := s.stmts[n]; ok {
		return q
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO pgmask_audit.records (chain, seq, epoch, at, kind, user_name, role_name, decision, record)
SELECT $1, (r->>'seq')::bigint, (r->>'epoch')::bigint, (r->>'time')::timestamptz, r->>'kind', r->>'user', r->>'role', r->>'decision', r
FROM (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("($" + strconv.Itoa(i+2) + "::json)")
	}
	b.WriteString(") AS v(r)")
	s.stmts[n] = b.String()
	return s.stmts[n]
}

func (s *PostgresSink) alreadyStored(ctx context.Context, seq uint64, mac string) error {
	rows, err := s.query(ctx, `SELECT record->>'mac' FROM pgmask_audit.records WHERE chain = $1 AND seq = $2`,
		s.chain, strconv.FormatUint(seq, 10))
	if err != nil {
		return err
	}
	if len(rows) == 1 && string(rows[0][0]) == mac {
		return nil
	}
	return fmt.Errorf("audit: chain %q already holds a different record with seq %d: does another pgmask instance use the same chain name?", s.chain, seq)
}

// Tail returns the last record of this instance's chain.
func (s *PostgresSink) Tail(ctx context.Context) (Tail, bool, error) {
	if err := s.connect(ctx); err != nil {
		return Tail{}, false, err
	}
	rows, err := s.query(ctx, `SELECT seq, epoch, record->>'mac', kind, coalesce(record->>'reason', '')
FROM pgmask_audit.records WHERE chain = $1 ORDER BY seq DESC LIMIT 1`, s.chain)
	if err != nil || len(rows) == 0 {
		return Tail{}, false, err
	}
	seq, err1 := strconv.ParseUint(string(rows[0][0]), 10, 64)
	epoch, err2 := strconv.ParseUint(string(rows[0][1]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Tail{}, false, fmt.Errorf("audit: reading the chain's last record: %w", err)
	}
	end := endsEpoch(Kind(rows[0][3]), string(rows[0][4]))
	return Tail{Seq: seq, Epoch: epoch, MAC: string(rows[0][2]), EndsEpoch: end}, true, nil
}

// query runs sql with text parameters and returns its rows.
func (s *PostgresSink) query(ctx context.Context, sql string, args ...string) ([][][]byte, error) {
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := s.conn.ExecParams(ctx, sql, params, nil, nil, nil).Read()
	if res.Err != nil {
		s.dropBroken(res.Err)
		return nil, fmt.Errorf("audit: %w", res.Err)
	}
	return res.Rows, nil
}

// dropBroken closes the connection after an error that may have left it unusable (any
// error but a server's ErrorResponse), so the next write reconnects.
func (s *PostgresSink) dropBroken(err error) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) && s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		s.conn.Close(ctx)
	}
}

// Close closes the connection.
func (s *PostgresSink) Close() error {
	if s.conn == nil || s.conn.IsClosed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return s.conn.Close(ctx)
}
