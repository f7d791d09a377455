package integration

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pgmask/pgmask/integration/clinic"
)

func TestSharedClinicDatabaseHoldsTheFourTablesWithTheGeneratedRows(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, clinicDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	rows, err := conn.Query(ctx, `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = 'clinic' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"claims", "encounters", "notes", "patients"}; !slices.Equal(tables, want) {
		t.Fatalf("clinic tables = %v, want %v", tables, want)
	}

	want, err := clinic.RowCounts(clinicOptions)
	if err != nil {
		t.Fatal(err)
	}
	if want.Patients != 2000 {
		t.Errorf("expected %d patients, want 2000", want.Patients)
	}
	for table, n := range map[string]int{
		"patients":   want.Patients,
		"encounters": want.Encounters,
		"notes":      want.Notes,
		"claims":     want.Claims,
	} {
		var got int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM clinic."+table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("clinic.%s has %d rows, want %d", table, got, n)
		}
	}
}
