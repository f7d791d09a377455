// Package clinic generates and loads a deterministic, synthetic clinic data
// set: patients with the HIPAA Safe Harbor identifiers, their encounters,
// clinical notes and claims, in schema "clinic".
//
// The integration tests load it into a throwaway cluster to have something
// to protect, and `pgmask demo` loads it for a first look at the proxy. Like
// pgtest it sits beside the product's data flow: config, rewriter and proxy
// never import it. All of its people are made up.
//
// The same Options always produce byte-identical data. Patients 1 to
// BoundaryPatients are fixed boundary cases (restricted ZIP3 areas, ages 89
// and 90 at ReferenceDate, leap-day births, NULL and empty contact details,
// a canary patient for leak tests); see the Patient* constants.
package clinic

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Options size the data set. The zero value gives the default.
type Options struct {
	// Patients is the number of patients, at least BoundaryPatients;
	// 0 means 10,000. Each has on average 3 encounters, 2 notes and 2 claims.
	Patients int
	// Seed selects the data set; 0 means 1.
	Seed int64
}

const defaultPatients = 10_000

func (o Options) withDefaults() (Options, error) {
	if o.Patients == 0 {
		o.Patients = defaultPatients
	}
	if o.Patients < BoundaryPatients {
		return o, fmt.Errorf("clinic: Patients = %d, want at least %d (the boundary patients)", o.Patients, BoundaryPatients)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o, nil
}

// Counts are the number of rows in each table.
type Counts struct {
	Patients, Encounters, Notes, Claims int
}

// RowCounts returns the number of rows Load writes for opts, without a
// database.
func RowCounts(opts Options) (Counts, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Counts{}, err
	}
	d := generate(opts)
	return Counts{len(d.patients), len(d.encounters), len(d.notes), len(d.claims)}, nil
}

// Load drops schema clinic if it exists, creates it and fills it, all in one
// transaction, then analyzes the tables. conn must be allowed to create
// schemas in its database.
func Load(ctx context.Context, conn *pgx.Conn, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	d := generate(opts)

	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("clinic: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	if _, err := tx.Exec(ctx, tablesDDL); err != nil {
		return fmt.Errorf("clinic: create tables: %w", err)
	}
	tables := []struct {
		name    string
		columns []string
		rows    int
		row     func(i int) []any
	}{
		{"patients", []string{"id", "first_name", "last_name", "ssn", "mrn", "dob", "street", "city", "state", "zip", "phone", "email", "sex"},
			len(d.patients), func(i int) []any { return d.patients[i].values() }},
		{"encounters", []string{"id", "patient_id", "admitted_at", "discharged_at", "diagnosis_codes", "provider"},
			len(d.encounters), func(i int) []any { return d.encounters[i].values() }},
		{"notes", []string{"id", "patient_id", "encounter_id", "note_type", "body", "written_at"},
			len(d.notes), func(i int) []any { return d.notes[i].values() }},
		{"claims", []string{"id", "patient_id", "account_number", "amount", "billed_on"},
			len(d.claims), func(i int) []any { return d.claims[i].values() }},
	}
	for _, t := range tables {
		src := pgx.CopyFromSlice(t.rows, func(i int) ([]any, error) { return t.row(i), nil })
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"clinic", t.name}, t.columns, src); err != nil {
			return fmt.Errorf("clinic: copy %s: %w", t.name, err)
		}
	}
	if _, err := tx.Exec(ctx, constraintsDDL); err != nil {
		return fmt.Errorf("clinic: indexes and foreign keys: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("clinic: commit: %w", err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE clinic.patients, clinic.encounters, clinic.notes, clinic.claims"); err != nil {
		return fmt.Errorf("clinic: analyze: %w", err)
	}
	return nil
}
