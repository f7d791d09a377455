package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/integration/clinic"
	"github.com/pgmask/pgmask/proxy"
)

// The HIPAA profiles end to end (shared/hipaa.md, docs/hipaa.md): a table with one
// column of every category and rows on the edges the rules care about, read through
// pgmask as a safe_harbor and a limited_data_set role, compared value by value with
// what the rule says. The clock is clinic.ReferenceDate, so ages are exact.

// profileTable has one column per category, named after it. Its rows:
//
//	1 a restricted ZIP (036), an ordinary adult
//	2 an unrestricted neighbour ZIP (035), 89 years old, born 1937-01-01 (89 today)
//	3 90 years old today (born 1936-01-01)
//	4 100 years old (born 1925-07-04), ZIP+4 in a restricted area (102)
//	5 born on a leap day (1952-02-29), a ZIP that is not one (text)
//	6 NULL in every column but id
//	7 the empty string in every text column
const profileTableDDL = `
DROP SCHEMA IF EXISTS hipaa_profiles CASCADE;
CREATE SCHEMA hipaa_profiles;
CREATE TABLE hipaa_profiles.people (
  id int PRIMARY KEY, name text, street_address text, city text, county text, zip text,
  state text, birth_date date, event_date date, death_date date, age int, phone text,
  fax text, email text, ssn text, mrn text, health_plan_id text, account_number text,
  license_number text, vehicle_id text, device_id text, url text, ip_address inet,
  biometric bytea, photo bytea, other_id text, free_text text, none text);
INSERT INTO hipaa_profiles.people VALUES
 (1, 'Ada Lovelace', '12 Canary Row', 'Berlin', 'Coos', '03601', 'NH', '1980-06-15', '2025-03-04', NULL, 45,
  '603-555-0101', '603-555-0102', 'ada@example.org', '987-65-4320', 'MRN-0001', 'HP-0001', 'AC-0001',
  'LIC-0001', 'VIN-0001', 'DEV-0001', 'https://ada.example.org', '10.1.2.3', '\x01', '\x02', 'OID-0001',
  'Ada called from 603-555-0101', 'F'),
 (2, 'Bo Brown', '1 Main St', 'Keene', 'Cheshire', '03501', 'NH', '1937-01-01', '2025-12-31', '2026-01-01', 89,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'M'),
 (3, 'Cy Cole', '2 Main St', 'Keene', 'Cheshire', '03502', 'NH', '1936-01-01', '2024-02-29', NULL, 90,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'M'),
 (4, 'Di Dunn', '3 Elm St', 'Bronx', 'Bronx', '10201-1234', 'NY', '1925-07-04', '2025-07-04', NULL, 100,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'F'),
 (5, 'Ed East', '4 Oak St', 'Troy', 'Rensselaer', 'N/A', 'NY', '1952-02-29', '2020-02-29', '2020-03-01', 73,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'M'),
 (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (7, '', '', '', '', '', '', NULL, NULL, NULL, NULL,
  '', '', '', '', '', '', '', '', '', '', '', NULL, '', '', '', '', '');
`

// startProfileProxy creates the table and runs pgmask with one role per HIPAA profile
// on it (and on the clinic's patients): sam is safe_harbor, dana limited_data_set.
func startProfileProxy(t *testing.T) *testProxy {
	t.Helper()
	if err := cluster.Exec(context.Background(), "clinic", profileTableDDL); err != nil {
		t.Fatalf("creating the profile table: %v", err)
	}
	t.Cleanup(func() {
		cluster.Exec(context.Background(), "clinic", "DROP SCHEMA IF EXISTS hipaa_profiles CASCADE")
	})

	now := func() time.Time { return clinic.ReferenceDate }
	return startProxyWith(t, proxy.Options{Now: now}, func(cfg *config.Config) {
		columns := map[string]string{"id": "none"}
		for _, c := range config.Categories {
			columns[c] = c
		}
		cfg.Tables["hipaa_profiles.people"] = config.Table{Columns: columns}
		cfg.Tables["clinic.patients"] = config.Table{Columns: map[string]string{"id": "none", "zip": "zip", "dob": "birth_date"}}
		tables := []string{"hipaa_profiles.people", "clinic.patients"}
		expires := clinic.ReferenceDate.AddDate(1, 0, 0)
		cfg.Roles["support"] = config.Role{Profile: config.ProfileSafeHarbor, Tables: tables}
		cfg.Roles["clinician"] = config.Role{Profile: config.ProfileLimitedDataSet, Tables: tables,
			DataUseAgreement: "DUA-PROFILES", Expires: &expires}
	})
}

// rowsAsText reads every row of query as text, NULL as "NULL", with the column names.
func rowsAsText(t *testing.T, conn *pgx.Conn, query string) (names []string, rows [][]string) {
	t.Helper()
	r, err := conn.Query(context.Background(), query, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, f := range r.FieldDescriptions() {
		names = append(names, f.Name)
	}
	for r.Next() {
		raw := r.RawValues()
		row := make([]string, len(raw))
		for i, v := range raw {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(v)
			}
		}
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return names, rows
}

func checkProfileOutput(t *testing.T, conn *pgx.Conn, wantColumns string, want []string) {
	t.Helper()
	names, rows := rowsAsText(t, conn, "SELECT * FROM hipaa_profiles.people ORDER BY id")
	if got := strings.Join(names, ","); got != wantColumns {
		t.Errorf("columns:\n got %s\nwant %s", got, wantColumns)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, row := range rows {
		if got := strings.Join(row, "|"); got != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i+1, got, want[i])
		}
	}
}

func TestSafeHarborAppliesEveryRuleOfTheRegulation(t *testing.T) {
	p := startProfileProxy(t)
	conn := p.connect(t, "sam")
	// Only the ZIP prefix, the state, the years of dates (none for people 90 or older),
	// ages capped at 90, and the non-identifying column remain.
	checkProfileOutput(t, conn, "id,zip,state,birth_date,event_date,death_date,age,none", []string{
		"1|000|NH|1980-01-01|2025-01-01|NULL|45|F",
		"2|035|NH|1937-01-01|2025-01-01|2026-01-01|89|M",
		"3|035|NH|NULL|2024-01-01|NULL|90|M",
		"4|000|NY|NULL|2025-01-01|NULL|90|F",
		"5|NULL|NY|1952-01-01|2020-01-01|2020-01-01|73|M",
		"6|NULL|NULL|NULL|NULL|NULL|NULL|NULL",
		"7|NULL||NULL|NULL|NULL|NULL|",
	})

	// Every restricted ZIP3 area of the clinic data is 000, its neighbours keep theirs.
	_, rows := rowsAsText(t, conn, fmt.Sprintf("SELECT id, zip FROM clinic.patients WHERE id < %d ORDER BY id", clinic.PatientAge88))
	for _, r := range rows {
		id := 0
		fmt.Sscan(r[0], &id)
		want := "000"
		if id >= clinic.PatientUnrestrictedZIP {
			want = clinic.UnrestrictedZIP3[id-clinic.PatientUnrestrictedZIP]
		}
		if r[1] != want {
			t.Errorf("patient %d: zip %s, want %s", id, r[1], want)
		}
	}
	// Birth years at the 89/90 boundary, and a leap-day birth date.
	_, rows = rowsAsText(t, conn, fmt.Sprintf("SELECT id, dob FROM clinic.patients WHERE id BETWEEN %d AND %d ORDER BY id", clinic.PatientAge88, clinic.PatientLeapDay2000))
	want := []string{"22 1937-01-01", "23 1937-01-01", "24 1936-01-01", "25 NULL", "26 NULL", "27 1952-01-01", "28 2000-01-01"}
	for i, r := range rows {
		if got := r[0] + " " + r[1]; i >= len(want) || got != want[i] {
			t.Errorf("dob row %d = %s, want %s", i, got, want[min(i, len(want)-1)])
		}
	}
}

func TestALimitedDataSetRemovesTheSixteenDirectIdentifiers(t *testing.T) {
	p := startProfileProxy(t)
	conn := p.connect(t, "dana")
	// Town, county, state, full ZIP, every date, every age and other codes stay raw.
	checkProfileOutput(t, conn, "id,city,county,zip,state,birth_date,event_date,death_date,age,other_id,none", []string{
		"1|Berlin|Coos|03601|NH|1980-06-15|2025-03-04|NULL|45|OID-0001|F",
		"2|Keene|Cheshire|03501|NH|1937-01-01|2025-12-31|2026-01-01|89|NULL|M",
		"3|Keene|Cheshire|03502|NH|1936-01-01|2024-02-29|NULL|90|NULL|M",
		"4|Bronx|Bronx|10201-1234|NY|1925-07-04|2025-07-04|NULL|100|NULL|F",
		"5|Troy|Rensselaer|N/A|NY|1952-02-29|2020-02-29|2020-03-01|73|NULL|M",
		"6|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL",
		"7|||||NULL|NULL|NULL|NULL||",
	})
}

func TestAHIPAAProfileCanBeTightenedButNotLoosened(t *testing.T) {
	base := func() *config.Config {
		cfg := baseConfig()
		cfg.Tables["clinic.patients"] = config.Table{SubjectKey: "id", Columns: map[string]string{"id": "none", "ssn": "ssn", "zip": "zip", "dob": "birth_date"}}
		return cfg
	}
	tests := []struct {
		name  string
		role  config.Role
		error string // "" when the policy compiles
	}{
		{"safe harbor with a ZIP excluded and a row filter", config.Role{Profile: config.ProfileSafeHarbor, Tables: []string{"clinic.patients"},
			Transforms: map[string]string{"zip": "exclude"}, Rows: map[string]string{"clinic.patients": "id > 100"}}, ""},
		{"safe harbor with SSN last 4", config.Role{Profile: config.ProfileSafeHarbor, Tables: []string{"clinic.patients"},
			Transforms: map[string]string{"ssn": "last4"}},
			"last4 would loosen profile safe_harbor for category ssn: Safe Harbor (45 CFR 164.514(b)(2)(i)) requires social security numbers (G) to be removed"},
		{"safe harbor with full birth dates", config.Role{Profile: config.ProfileSafeHarbor, Tables: []string{"clinic.patients"},
			Columns: map[string]string{"clinic.patients.dob": "keep"}},
			"keep would loosen profile safe_harbor for clinic.patients.dob (category birth_date): Safe Harbor (45 CFR 164.514(b)(2)(i)) allows only the year of a birth date, and not even that for people over 89 (C)"},
		{"safe harbor with the raw subject key", config.Role{Profile: config.ProfileSafeHarbor, Tables: []string{"clinic.patients"},
			Columns: map[string]string{"clinic.patients.id": "keep"}},
			"allows a subject key only as a 164.514(c) re-identification code"},
		{"a limited data set with a hashed SSN", config.Role{Profile: config.ProfileLimitedDataSet, Tables: []string{"clinic.patients"},
			DataUseAgreement: "DUA-1", Expires: &clinic.ReferenceDate, Transforms: map[string]string{"ssn": "hash"}},
			"hash would loosen profile limited_data_set for category ssn: the limited data set rule (45 CFR 164.514(e)(2)) requires social security numbers to be removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			cfg.Roles["support"] = tt.role
			cfg.Audit.Sink = config.AuditSinkOff
			err := cfg.CheckAndSetDefaults()
			if err == nil {
				var srv *proxy.Server
				if srv, err = proxy.NewServer(proxy.Options{Config: cfg, Logger: testLogger(t)}); err == nil {
					srv.Shutdown(context.Background())
				}
			}
			switch {
			case tt.error == "" && err != nil:
				t.Fatalf("a tightened profile is refused: %v", err)
			case tt.error != "" && (err == nil || !strings.Contains(err.Error(), tt.error)):
				t.Fatalf("error = %v, want it to contain %q", err, tt.error)
			}
		})
	}
}
