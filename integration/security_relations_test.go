package integration

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/config"
)

// Bypass classes that reach a protected table through another relation or another
// name: views over it, partitions and inheritance children, and names that resolve
// differently (search_path, temporary tables, CTEs, quoting).

func TestSecurityViewsOverProtectedTablesAreRefused(t *testing.T) {
	p := startSecurityProxy(t, nil)
	secWithProbeSchema(t, p, `
CREATE VIEW secprobe.patients_v AS SELECT * FROM clinic.patients;
CREATE VIEW secprobe.psychotherapy_v WITH (security_barrier) AS SELECT * FROM clinic.notes WHERE note_type = 'psychotherapy';
CREATE MATERIALIZED VIEW secprobe.patients_mv AS SELECT id, ssn, phone FROM clinic.patients;
CREATE VIEW public.patients AS SELECT * FROM clinic.patients;`)
	t.Cleanup(func() { secSuperExec(t, `DROP VIEW IF EXISTS public.patients`) })
	secAttack(t, p, []secProbe{
		{name: "a view", sql: []string{`SELECT * FROM secprobe.patients_v WHERE id = 31`}},
		{name: "a security-barrier view over filtered rows", full: &secPsychotherapy, sql: []string{`SELECT body FROM secprobe.psychotherapy_v WHERE patient_id = 31`}},
		{name: "a materialized view", sql: []string{`SELECT * FROM secprobe.patients_mv WHERE id = 31`}},
		{name: "a view on the search_path named like the table", sql: []string{`SELECT * FROM patients WHERE id = 31`}},
		{name: "a view in a subquery", sql: []string{`SELECT (SELECT ssn FROM secprobe.patients_v WHERE id = 31)`}},
		{name: "TABLE of a view", sql: []string{`SELECT * FROM (TABLE secprobe.patients_v) v WHERE id = 31`}},
		{name: "COPY of a view", run: func(conn *pgx.Conn) { secCopyOut(conn, `COPY (SELECT * FROM secprobe.patients_v) TO STDOUT`) }},
	})
}

// partitionedCopy grants the probe schema's partitioned copy of clinic.patients to
// the restricted roles, classified like clinic.patients.
func partitionedCopy(cfg *config.Config) {
	cfg.Tables["secprobe.patients_part"] = cfg.Tables["clinic.patients"]
	for _, name := range []string{"support", "analyst", "researcher"} {
		r := cfg.Roles[name]
		r.Tables = append(append([]string(nil), r.Tables...), "secprobe.patients_part")
		cfg.Roles[name] = r
	}
}

func TestSecurityPartitionsAndInheritanceChildrenAreCoveredByTheirParentsPolicy(t *testing.T) {
	p := startSecurityProxy(t, partitionedCopy)
	secWithProbeSchema(t, p, `
CREATE TABLE secprobe.patients_part (LIKE clinic.patients) PARTITION BY RANGE (id);
CREATE TABLE secprobe.patients_part_low PARTITION OF secprobe.patients_part FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE secprobe.patients_part_high PARTITION OF secprobe.patients_part FOR VALUES FROM (1000) TO (MAXVALUE);
INSERT INTO secprobe.patients_part SELECT * FROM clinic.patients;
-- An inheritance child of the protected table itself, with a copy of the canary.
CREATE TABLE secprobe.patients_child (secret text) INHERITS (clinic.patients);
INSERT INTO secprobe.patients_child SELECT p.*, 'child row' FROM clinic.patients p WHERE p.id = 31;
UPDATE secprobe.patients_child SET id = 900031;`)
	secAttack(t, p, []secProbe{
		{name: "the partitioned parent is masked", sql: []string{`SELECT * FROM secprobe.patients_part WHERE id = 31`, `SELECT p FROM secprobe.patients_part p WHERE id = 31`}},
		{name: "a partition directly", sql: []string{`SELECT * FROM secprobe.patients_part_low WHERE id = 31`}},
		{name: "a partition in a join", sql: []string{`SELECT l.ssn FROM secprobe.patients_part p JOIN secprobe.patients_part_low l USING (id) WHERE id = 31`}},
		{name: "COPY of a partition", run: func(conn *pgx.Conn) { secCopyOut(conn, `COPY secprobe.patients_part_low TO STDOUT`) }},
		{name: "the inheritance parent with its child is masked", sql: []string{`SELECT * FROM clinic.patients WHERE id = 900031`, `SELECT p FROM clinic.patients p WHERE id = 900031`}},
		{name: "the inheritance child directly", sql: []string{`SELECT * FROM secprobe.patients_child`}},
		{name: "the child through its row type", sql: []string{`SELECT c::text FROM secprobe.patients_child c`, `SELECT NULL::secprobe.patients_child`}},
	})
}

func TestSecuritySearchPathAndTemporaryTablesCannotShadowProtectedTables(t *testing.T) {
	p := startSecurityProxy(t, func(cfg *config.Config) { cfg.Upstream.SearchPath = "clinic, public" })
	secAttack(t, p, []secProbe{
		{name: "an unqualified name is resolved like PostgreSQL does", sql: []string{`SELECT * FROM patients WHERE id = 31`}},
		{name: "quoting and case folding", sql: []string{`SELECT * FROM "patients" WHERE id = 31`, `SELECT * FROM CLINIC.PATIENTS WHERE id = 31`, `SELECT * FROM "clinic"."patients" WHERE id = 31`}},
		{name: "SET search_path", sql: []string{`SET search_path = public, clinic`, `SET search_path TO pg_temp, clinic`, `SET LOCAL search_path = clinic`,
			`RESET search_path`, `SELECT * FROM patients WHERE id = 31`}},
		{name: "set_config of search_path", sql: []string{`SELECT set_config('search_path', 'pg_temp, clinic', false)`, `SELECT * FROM patients WHERE id = 31`}},
		{name: "a temporary table named like the table", sql: []string{
			`CREATE TEMP TABLE patients AS SELECT * FROM clinic.patients WHERE id = 31`,
			`SELECT * INTO TEMP TABLE patients2 FROM clinic.patients WHERE id = 31`,
			`SELECT * FROM pg_temp.patients`, `SELECT * FROM patients WHERE id = 31`}},
		{name: "RESET ALL and DISCARD keep the pinned path", sql: []string{`RESET ALL`, `DISCARD ALL`, `SELECT * FROM patients WHERE id = 31`}},
		{name: "CTE names shadow only where PostgreSQL's do", sql: []string{
			`WITH x AS (SELECT * FROM patients) SELECT * FROM x WHERE id = 31`,
			`WITH patients AS (SELECT * FROM patients WHERE id = 31) SELECT * FROM patients`,
			`WITH a AS (SELECT * FROM patients WHERE id = 31), patients AS (SELECT 1 AS id) SELECT * FROM a`,
			`SELECT b.* FROM (WITH patients AS (SELECT 1 AS id) SELECT * FROM patients) a, patients b WHERE b.id = 31`,
			`WITH RECURSIVE r AS (SELECT * FROM patients WHERE id = 31) SELECT * FROM r`,
		}},
	})
}
