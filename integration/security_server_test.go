package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Bypass classes that use the server itself: functions that run SQL text, statistics
// and activity views, the system catalogs BI tools browse, EXPLAIN, and role switching.

func TestSecuritySQLExecutingFunctionsAreRefused(t *testing.T) {
	p := startSecurityProxy(t, nil)
	secWithProbeSchema(t, p, `CREATE EXTENSION dblink SCHEMA secprobe; CREATE EXTENSION hstore SCHEMA secprobe;`)
	dblinkDSN := fmt.Sprintf("host=%s port=%d dbname=clinic user=%s password=%s", cluster.Host, cluster.Port, cluster.User, cluster.Password)
	secAttack(t, p, []secProbe{
		{name: "query_to_xml", sql: []string{`SELECT query_to_xml('SELECT * FROM clinic.patients WHERE id = 31', true, false, '')`}},
		{name: "query_to_xml_and_xmlschema", sql: []string{`SELECT query_to_xml_and_xmlschema('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, '')`}},
		{name: "qualified and nested", sql: []string{`SELECT length(pg_catalog.query_to_xml('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, '')::text) > 0, pg_catalog.query_to_xml('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, '')`}},
		{name: "xpath over query_to_xml", sql: []string{`SELECT xpath('//ssn/text()', query_to_xml('SELECT ssn FROM clinic.patients WHERE id = 31', true, false, ''))`}},
		{name: "table_to_xml", sql: []string{`SELECT table_to_xml('clinic.patients', true, false, '')`}},
		{name: "schema_to_xml", sql: []string{`SELECT schema_to_xml('clinic', true, false, '')`}},
		{name: "cursor_to_xml", sql: []string{`BEGIN`, `DECLARE c CURSOR FOR SELECT ssn FROM clinic.patients WHERE id = 31`,
			`SELECT cursor_to_xml('c', 10, false, false, '')`, `ROLLBACK`}},
		{name: "ts_stat", sql: []string{`SELECT word FROM ts_stat('SELECT ssn::tsvector FROM clinic.patients WHERE id = 31')`}},
		{name: "ts_rewrite with a query", sql: []string{`SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ssn::tsquery FROM clinic.patients WHERE id = 31')`}},
		{name: "dblink", sql: []string{
			`SELECT * FROM secprobe.dblink('` + dblinkDSN + `', 'SELECT ssn FROM clinic.patients WHERE id = 31') AS t(s text)`,
			`SELECT * FROM dblink('` + dblinkDSN + `', 'SELECT ssn FROM clinic.patients WHERE id = 31') AS t(s text)`,
		}},
		{name: "hstore of the row", sql: []string{`SELECT secprobe.hstore(p) FROM clinic.patients p WHERE id = 31`, `SELECT p::secprobe.hstore FROM clinic.patients p WHERE id = 31`}},
	})
}

func TestSecurityStatisticsAndActivityViewsAreRefused(t *testing.T) {
	p := startSecurityProxy(t, nil)
	// A copy of the patients with the canary as the most common value and every value
	// in the histogram, so the statistics provably hold it.
	secWithProbeSchema(t, p, `
CREATE TABLE secprobe.stats AS SELECT * FROM clinic.patients;
INSERT INTO secprobe.stats SELECT p.* FROM clinic.patients p, generate_series(1, 50) WHERE p.id = 31;
ALTER TABLE secprobe.stats ALTER ssn SET STATISTICS 10000;
CREATE STATISTICS secprobe.stats_ext (mcv) ON ssn, phone FROM secprobe.stats;
ANALYZE secprobe.stats;
ANALYZE clinic.patients;`)
	// Another session's last statement holds the canary as a literal.
	other := connectDirect(t)
	if _, err := other.Exec(context.Background(), `SELECT count(*) FROM clinic.patients WHERE ssn = '987-65-4329'`); err != nil {
		t.Fatal(err)
	}
	secAttack(t, p, []secProbe{
		{name: "pg_stats", sql: []string{`SELECT attname, most_common_vals::text, histogram_bounds::text FROM pg_stats WHERE schemaname = 'secprobe' OR tablename = 'patients'`}},
		{name: "pg_statistic", sql: []string{`SELECT stavalues1::text, stavalues2::text FROM pg_catalog.pg_statistic WHERE starelid = 'secprobe.stats'::regclass`}},
		{name: "pg_stats_ext", sql: []string{`SELECT most_common_vals::text FROM pg_stats_ext WHERE statistics_schemaname = 'secprobe'`}},
		{name: "pg_mcv_list_items", sql: []string{`SELECT m.values::text FROM pg_statistic_ext s JOIN pg_statistic_ext_data d ON d.stxoid = s.oid, pg_mcv_list_items(d.stxdmcv) m WHERE s.stxname = 'stats_ext'`}},
		{name: "pg_stat_activity.query", sql: []string{`SELECT query FROM pg_stat_activity`, `SELECT query FROM pg_catalog.pg_stat_activity WHERE query LIKE '%987%'`}},
		{name: "pg_stat_get_activity", sql: []string{`SELECT query FROM pg_stat_get_activity(NULL)`}},
		{name: "pg_stat_get_backend_activity", sql: []string{`SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s`}},
		{name: "pg_prepared_statements", sql: []string{`PREPARE q AS SELECT ssn FROM clinic.patients WHERE id = 31`,
			`SELECT statement FROM pg_prepared_statements`, `EXECUTE q`}},
	})
}

// secStrings runs a query on conn and returns its first column, one string per row.
func secStrings(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	res, err := secExec(conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	for _, r := range res {
		for _, row := range r.Rows {
			out = append(out, string(row[0]))
		}
	}
	return out
}

func TestSecurityCatalogsListOnlyTheColumnsAndTablesTheRoleSees(t *testing.T) {
	p := startSecurityProxy(t, nil)
	hidden := map[string][]string{
		"analyst": {"first_name", "last_name", "ssn", "mrn", "dob", "street", "city", "zip", "phone", "email"},
		"support": {"street", "city", "zip"},
	}
	invisible := map[string][]string{"analyst": {"notes"}, "support": {"claims"}}
	queries := []string{
		`SELECT attname::text FROM pg_attribute WHERE attrelid = 'clinic.patients'::regclass AND attnum > 0`,
		`SELECT a.attname::text FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
		 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'clinic' AND c.relname = 'patients' AND NOT a.attisdropped`,
		`SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'clinic' AND table_name = 'patients'`,
		`SELECT column_name::text FROM information_schema.column_privileges WHERE table_schema = 'clinic' AND table_name = 'patients'`,
		`SELECT pg_catalog.pg_get_indexdef(indexrelid) FROM pg_catalog.pg_index WHERE indrelid = 'clinic.patients'::regclass`,
		`SELECT indexdef FROM pg_catalog.pg_indexes WHERE schemaname = 'clinic' AND tablename = 'patients'`,
	}
	tables := []string{
		`SELECT relname::text FROM pg_class WHERE relnamespace = 'clinic'::regnamespace`,
		`SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'clinic'`,
		`SELECT tablename::text FROM pg_tables WHERE schemaname = 'clinic'`,
	}
	for _, user := range []string{"bob", "alice"} {
		role := secRoles[user]
		conn, rec := p.connect(t, user)
		startup := len(rec.Bytes()) // random SCRAM nonces could spell a short column name
		for _, q := range queries {
			got := strings.Join(secStrings(t, conn, q), "\n")
			for _, col := range hidden[role] {
				if strings.Contains(got, col) {
					t.Errorf("role %s: %s\nlists the hidden column %s:\n%s", role, q, col, got)
				}
			}
		}
		for _, q := range tables {
			got := secStrings(t, conn, q)
			if !slices.Contains(got, "patients") {
				t.Errorf("role %s: %s\ndoes not list the granted table patients: %v", role, q, got)
			}
			for _, rel := range invisible[role] {
				if slices.Contains(got, rel) {
					t.Errorf("role %s: %s\nlists the invisible table %s: %v", role, q, rel, got)
				}
			}
		}
		for _, col := range hidden[role] {
			if strings.Contains(string(rec.Bytes()[startup:]), col) {
				t.Errorf("role %s received the name of the hidden column %s", role, col)
			}
		}
	}
	// The control: the full role lists them all.
	conn, _ := p.connect(t, secFullUser)
	got := secStrings(t, conn, queries[2])
	for _, col := range hidden["analyst"] {
		if !slices.Contains(got, col) {
			t.Errorf("the full role does not see column %s: %v", col, got)
		}
	}
}

func TestSecurityExplainIsRefused(t *testing.T) {
	p := startSecurityProxy(t, nil)
	secAttack(t, p, []secProbe{
		{name: "EXPLAIN", sql: []string{`EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM clinic.patients WHERE ssn = '987-65-4329'`}},
		{name: "EXPLAIN ANALYZE", sql: []string{`EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) SELECT * FROM clinic.patients WHERE ssn = '987-65-4329'`}},
		{name: "EXPLAIN after a harmless statement", sql: []string{`SELECT 1; EXPLAIN VERBOSE SELECT * FROM clinic.patients WHERE ssn = '987-65-4329'`}},
	})
	for _, user := range secRestrictedUsers {
		conn, _ := p.connect(t, user)
		secRefused(t, conn, `EXPLAIN SELECT 1`)
	}
}

func TestSecurityRoleSwitchingIsRefused(t *testing.T) {
	p := startSecurityProxy(t, nil)
	then := `SELECT ssn, phone, email FROM clinic.patients WHERE id = 31`
	switches := []string{
		`SET ROLE postgres`, `SET LOCAL ROLE postgres`, `SET ROLE NONE`, `RESET ROLE`,
		`SET SESSION AUTHORIZATION postgres`, `SET SESSION AUTHORIZATION DEFAULT`, `RESET SESSION AUTHORIZATION`,
		`SELECT set_config('role', 'postgres', false)`, `SELECT set_config('session_authorization', 'postgres', false)`,
	}
	var probes []secProbe
	for _, s := range switches {
		probes = append(probes, secProbe{name: s, sql: []string{s, then}})
	}
	secAttack(t, p, probes)
	for _, user := range secRestrictedUsers {
		conn, _ := p.connect(t, user)
		for _, s := range switches {
			secRefused(t, conn, s)
		}
	}
}
