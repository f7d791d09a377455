package integration

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPgxInEveryQueryModeListsAndDecodesWhatTheRoleMaySee(t *testing.T) {
	const n = 10
	p := startSecurityProxy(t, nil)
	raw := rawPatients(t, n)
	ctx := context.Background()
	for _, r := range clientRoles {
		for _, m := range execModes {
			t.Run(r.role+"/"+m.name, func(t *testing.T) {
				conn := r.connect(t, p, execMode(m.mode))

				// information_schema, as many BI tools browse it.
				rows, err := conn.Query(ctx, `SELECT table_name::text FROM information_schema.tables
					WHERE table_schema = 'clinic' ORDER BY 1`)
				if err != nil {
					t.Fatal(err)
				}
				tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				rows, err = conn.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns
					WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, "clinic")
				if err != nil {
					t.Fatal(err)
				}
				columns := map[string][]string{}
				var table, column string
				if _, err := pgx.ForEachRow(rows, []any{&table, &column}, func() error {
					columns[table] = append(columns[table], column)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				checkTablesAndColumns(t, "information_schema", r, tables, columns)

				// The masked columns scan into the Go types of their declared types.
				rows, err = conn.Query(ctx, r.patientQuery("$1", "<="), n)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var id int64
				for rows.Next() {
					if !r.sees("patients", "ssn") {
						var state, sex string
						if err := rows.Scan(&id, &state, &sex); err != nil {
							t.Fatal(err)
						}
						if state != raw[id].state || sex != raw[id].sex {
							t.Errorf("patient %d: state, sex = %s, %s, want %s, %s", id, state, sex, raw[id].state, raw[id].sex)
						}
						continue
					}
					var ssn string
					var dob time.Time
					var email *string
					if err := rows.Scan(&id, &ssn, &dob, &email); err != nil {
						t.Fatal(err)
					}
					wantSSN, wantDOB, wantEmail := r.want(raw[id])
					if ssn != wantSSN || dob.Format("2006-01-02") != wantDOB || !equalStrings(email, wantEmail) {
						t.Errorf("patient %d: %s, %s, %v; want %s, %s, %v", id, ssn, dob.Format("2006-01-02"), deref(email), wantSSN, wantDOB, deref(wantEmail))
					}
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if id != n {
					t.Errorf("read patients up to %d, want %d", id, n)
				}
			})
		}
	}
}

func equalStrings(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}
