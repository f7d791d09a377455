package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
)

// The catalog probe: a table granted to the analyst whose hidden column, hushmarker,
// is involved in every kind of object a catalog query can print the definition of.
// The analyst sees id, nickname and derived_len; no catalog may name hushmarker or the
// objects that involve it, while the full role sees them all.
const catalogProbeSetup = `
DROP PUBLICATION IF EXISTS clientprobe_pub;
DROP SCHEMA IF EXISTS clientprobe CASCADE;
CREATE SCHEMA clientprobe;
CREATE TABLE clientprobe.people (
    id bigint PRIMARY KEY,
    nickname text NOT NULL,
    hushmarker text NOT NULL DEFAULT 'hushmarker default',
    hushmarker_no bigserial,
    derived_len int GENERATED ALWAYS AS (length(hushmarker)) STORED,
    CONSTRAINT people_check CHECK (hushmarker <> nickname),
    CONSTRAINT people_pair UNIQUE (nickname, hushmarker)
);
CREATE INDEX people_nickname_idx ON clientprobe.people (nickname);
CREATE INDEX people_expr_idx ON clientprobe.people (lower(hushmarker));
CREATE INDEX people_partial_idx ON clientprobe.people (nickname) WHERE hushmarker <> '';
CREATE INDEX people_include_idx ON clientprobe.people (id) INCLUDE (hushmarker);
CREATE STATISTICS clientprobe.people_stats ON nickname, hushmarker FROM clientprobe.people;
CREATE POLICY people_policy ON clientprobe.people USING (hushmarker <> '');
CREATE FUNCTION clientprobe.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER people_column_trigger BEFORE UPDATE OF hushmarker ON clientprobe.people
    FOR EACH ROW EXECUTE FUNCTION clientprobe.touch();
CREATE TRIGGER people_when_trigger BEFORE UPDATE ON clientprobe.people
    FOR EACH ROW WHEN (NEW.hushmarker IS DISTINCT FROM OLD.hushmarker) EXECUTE FUNCTION clientprobe.touch();
CREATE TRIGGER people_insert_trigger BEFORE INSERT ON clientprobe.people
    FOR EACH ROW EXECUTE FUNCTION clientprobe.touch();
COMMENT ON COLUMN clientprobe.people.hushmarker IS 'the hushmarker column';
COMMENT ON COLUMN clientprobe.people.nickname IS 'what friends call them';
COMMENT ON CONSTRAINT people_check ON clientprobe.people IS 'hushmarker check';
COMMENT ON INDEX clientprobe.people_expr_idx IS 'hushmarker index';
SET client_min_messages = error; -- wal_level may be too low to publish: that is fine
CREATE PUBLICATION clientprobe_pub FOR TABLE clientprobe.people WHERE (hushmarker <> '');
`

// catalogProbeHidden are the names only the full role may see: the hidden columns and
// the objects that involve them.
var catalogProbeHidden = []string{"hushmarker", "people_check", "people_pair", "people_expr_idx",
	"people_partial_idx", "people_include_idx", "people_stats", "people_policy",
	"people_column_trigger", "people_when_trigger"}

// catalogProbeVisible are names every role with the table must see.
var catalogProbeVisible = []string{"people_pkey", "people_nickname_idx", "people_insert_trigger",
	"derived_len", "what friends call them"}

// catalogProbeQueries read every catalog that lists or defines what belongs to a table.
var catalogProbeQueries = []string{
	`SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	 WHERE i.indrelid = 'clientprobe.people'::regclass`,
	`SELECT a.attrelid::regclass, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	 WHERE c.relnamespace = 'clientprobe'::regnamespace`,
	`SELECT relname FROM pg_class WHERE relnamespace = 'clientprobe'::regnamespace`,
	`SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'clientprobe.people'::regclass`,
	`SELECT adnum, pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'clientprobe.people'::regclass`,
	`SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'clientprobe.people'::regclass`,
	`SELECT polname, pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = 'clientprobe.people'::regclass`,
	`SELECT policyname, qual FROM pg_policies WHERE schemaname = 'clientprobe'`,
	`SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = 'clientprobe.people'::regclass`,
	`SELECT description FROM pg_description WHERE objoid >= 16384`,
	`SELECT p.pubname, pg_get_expr(r.prqual, r.prrelid) FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid`,
	`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'clientprobe'`,
	`SELECT sequencename FROM pg_sequences WHERE schemaname = 'clientprobe'`,
	`SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'clientprobe'`,
	`SELECT column_name, column_default, generation_expression FROM information_schema.columns WHERE table_schema = 'clientprobe'`,
	`SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = 'clientprobe'`,
	`SELECT constraint_name, column_name FROM information_schema.key_column_usage WHERE table_schema = 'clientprobe'`,
	`SELECT constraint_name, column_name FROM information_schema.constraint_column_usage WHERE table_schema = 'clientprobe'`,
	`SELECT trigger_name, action_condition FROM information_schema.triggers WHERE event_object_schema = 'clientprobe'`,
	`SELECT objid, refobjsubid FROM pg_depend WHERE refobjid = 'clientprobe.people'::regclass AND refobjsubid > 0`,
}

// catalogProbePsql are psql commands that describe the probe table.
var catalogProbePsql = []string{`\d+ clientprobe.people`, `\di+ clientprobe.*`, `\ds clientprobe.*`, `\dRp+`}

func TestCatalogsNeverNameAHiddenColumnOrWhatInvolvesIt(t *testing.T) {
	secSuperExec(t, catalogProbeSetup)
	t.Cleanup(func() { secSuperExec(t, "DROP PUBLICATION IF EXISTS clientprobe_pub; DROP SCHEMA clientprobe CASCADE") })
	p := startSecurityProxy(t, func(cfg *config.Config) {
		cfg.Tables["clientprobe.people"] = config.Table{Columns: map[string]string{
			"id": "none", "nickname": "none", "hushmarker": "ssn", "hushmarker_no": "other_id", "derived_len": "none",
		}}
		for _, role := range []string{analystRole.role, clinicianRole.role} {
			r := cfg.Roles[role]
			r.Tables = append(r.Tables, "clientprobe.people")
			cfg.Roles[role] = r
		}
	})
	for _, r := range []clientRole{analystRole, clinicianRole} {
		t.Run(r.role, func(t *testing.T) {
			var all strings.Builder
			conn := r.connect(t, p)
			for _, sql := range catalogProbeQueries {
				results, err := conn.PgConn().Exec(context.Background(), sql).ReadAll()
				if err != nil {
					t.Errorf("%s: %v", sql, err)
					continue
				}
				for _, res := range results {
					for _, row := range res.Rows {
						for _, v := range row {
							fmt.Fprintf(&all, "%s\t", v)
						}
						all.WriteString("\n")
					}
				}
			}
			for _, cmd := range catalogProbePsql {
				res := psqlAs(t, p, r, cmd)
				if res.err != nil {
					t.Errorf("psql %s: %v\n%s", cmd, res.err, res.stderr)
				}
				all.WriteString(res.stdout)
			}
			out := all.String()
			for _, name := range catalogProbeVisible {
				if !strings.Contains(out, name) {
					t.Errorf("the catalogs do not show %s %q, which it may see", r.role, name)
				}
			}
			for _, name := range catalogProbeHidden {
				if shown := strings.Contains(out, name); shown != !r.restricted() {
					t.Errorf("the catalogs show %s %q: %v, want %v", r.role, name, shown, !r.restricted())
				}
			}
			if t.Failed() {
				t.Logf("what %s read:\n%s", r.role, out)
			}
		})
	}
}

// restricted reports whether the role is refused some of what the full role sees.
func (r clientRole) restricted() bool { return r.role != clinicianRole.role }
