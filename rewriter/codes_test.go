package rewriter

import (
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/rewriter/transform"
)

// catalogWithoutCodes is the fixture catalog as it is before `pgmask init`: without
// the schema pgmask and its table of codes.
func catalogWithoutCodes(t *testing.T) *Catalog {
	t.Helper()
	return fixtureCatalog(t, func(d *CatalogData) {
		var schemas []Schema
		for _, s := range d.Schemas {
			if s.Name != transform.CodeSchema {
				schemas = append(schemas, s)
			}
		}
		var rels []Relation
		for _, r := range d.Relations {
			if r.Schema != transform.CodeSchema {
				rels = append(rels, r)
			}
		}
		d.Schemas, d.Relations = schemas, rels
	})
}

// coderConfig is the fixture policy plus a minimum_necessary role that shows the
// patient key as a code in two tables, and one that codes a table without a subject key.
func coderConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("testdata/pgmask.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Roles["coder"] = config.Role{
		Profile: ProfileMinimumNecessary,
		Tables:  []string{"clinic.patients", "clinic.encounters", "clinic.devices"},
		Columns: map[string]string{
			"clinic.patients.id": "code", "clinic.encounters.patient_id": "code", "clinic.devices.patient_id": "code",
		},
	}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCodeColumnsShowTheSubjectsCodeUnderTheirOwnNameAndType(t *testing.T) {
	p, err := CompileWithKey(coderConfig(t), 1, testKey)
	if err != nil {
		t.Fatal(err)
	}
	_, cat := fixture(t)
	sql := "SELECT p.id, e.patient_id FROM clinic.patients p JOIN clinic.encounters e ON e.patient_id = p.id"
	res := Rewrite(sql, ctx("coder"), p, cat)
	if res.Denial != nil {
		t.Fatalf("refused: %v", res.Denial)
	}
	for _, want := range []string{
		`(((SELECT c.code FROM (SELECT ((id)::pg_catalog.text)) AS s(subject) JOIN pgmask.subject_codes AS c ON (c.subject OPERATOR(pg_catalog.=) s.subject)))::bigint) AS id`,
		`(((SELECT c.code FROM (SELECT ((patient_id)::pg_catalog.text)) AS s(subject) JOIN pgmask.subject_codes AS c ON (c.subject OPERATOR(pg_catalog.=) s.subject)))::bigint) AS patient_id`,
	} {
		if !strings.Contains(res.SQL, want) {
			t.Errorf("the rewrite lacks\n%s\nin\n%s", want, res.SQL)
		}
	}
	if err := checkInvariants(res.SQL, ctx("coder"), p, cat); err != nil {
		t.Error(err)
	}
	found := false
	for _, d := range res.Disclosures {
		if d.Relation == "clinic.patients" && d.Column == "id" {
			found = d.Treatment == Masked("code")
		}
	}
	if !found {
		t.Errorf("disclosures %v do not record clinic.patients.id as masked:code", res.Disclosures)
	}
}

func TestCodeColumnsAreRefusedUntilTheDatabaseHasCodes(t *testing.T) {
	p, err := CompileWithKey(coderConfig(t), 1, testKey)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalogWithoutCodes(t)
	for _, sql := range []string{
		"SELECT id FROM clinic.patients",
		"SELECT state FROM clinic.patients", // the derived table projects the coded key too
		"SELECT count(*) FROM clinic.encounters WHERE patient_id IN (SELECT id FROM clinic.patients)",
	} {
		res := Rewrite(sql, ctx("coder"), p, cat)
		if res.Denial == nil || res.Denial.Code != CodeInsufficientPrivilege || !res.Denial.NeedsCodes() ||
			!strings.Contains(res.Denial.Message, "no re-identification codes") || !strings.Contains(res.Denial.Hint, "pgmask init") {
			t.Errorf("%s: got %+v, want a 42501 refusal that asks for pgmask init", sql, res)
		}
	}
	// Tables without a coded column are not affected, and other refusals are not
	// mistaken for this one.
	if res := Rewrite("SELECT id FROM clinic.patients", ctx("analyst"), p, cat); res.Denial != nil {
		t.Errorf("analyst: %v", res.Denial)
	}
	if res := Rewrite("SELECT * FROM clinic.notes", ctx("coder"), p, cat); res.Denial == nil || res.Denial.NeedsCodes() {
		t.Errorf("coder reading a table it is not granted: %+v, want an ordinary refusal", res.Denial)
	}
}

func TestCodeOnATableWithoutSubjectKeyIsAPolicyError(t *testing.T) {
	p, err := CompileWithKey(coderConfig(t), 1, testKey)
	if err != nil {
		t.Fatal(err)
	}
	_, cat := fixture(t)
	res := Rewrite("SELECT kind FROM clinic.devices", ctx("coder"), p, cat)
	if res.Denial == nil || !strings.Contains(res.Denial.Message, "subject_key") {
		t.Errorf("got %+v, want a refusal naming subject_key", res)
	}
	errs, _ := p.Check(cat)
	var found bool
	for _, e := range errs {
		found = found || strings.Contains(e.Error(), "clinic.devices.patient_id") && strings.Contains(e.Error(), "subject_key")
	}
	if !found {
		t.Errorf("Check does not report code on clinic.devices, which has no subject key: %v", errs)
	}
}

func TestTheTableOfCodesIsNeverReadableByARestrictedRole(t *testing.T) {
	p, err := CompileWithKey(coderConfig(t), 1, testKey)
	if err != nil {
		t.Fatal(err)
	}
	_, cat := fixture(t)
	for _, role := range []string{"coder", "researcher", "support", "analyst"} {
		for _, sql := range []string{
			"SELECT * FROM pgmask.subject_codes",
			"TABLE pgmask.subject_codes",
			"SELECT id FROM clinic.patients WHERE id IN (SELECT code FROM pgmask.subject_codes)",
			"SELECT (SELECT subject FROM pgmask.subject_codes c WHERE c.code = p.id) FROM clinic.patients p",
			"WITH m AS (SELECT * FROM pgmask.subject_codes) SELECT * FROM m",
			"COPY pgmask.subject_codes TO STDOUT",
			"SELECT * FROM subject_codes", // "$user" is pgmask in the tests, so the schema is on the path
			"SELECT count(*) FROM pgmask.subject_codes_pkey",
		} {
			res := Rewrite(sql, ctx(role), p, cat)
			if res.Denial == nil || res.Denial.Code != CodeInsufficientPrivilege {
				t.Errorf("%s: %s: got %+v, want 42501", role, sql, res)
			}
		}
	}
}

func TestNoRoleCanBeGrantedPgmasksOwnSchema(t *testing.T) {
	cfg, err := config.Parse([]byte(`[upstream]
database = "clinic"
user = "pgmask"

[tables."pgmask.subject_codes"]
columns = { subject = "none", code = "none", created_at = "none" }

[roles.r]
profile = "minimum_necessary"
tables = ["pgmask.subject_codes"]
`), "test.toml")
	if err == nil {
		_, err = CompileWithKey(cfg, 1, testKey)
	}
	if err == nil || !strings.Contains(err.Error(), "roles.r.tables") || !strings.Contains(err.Error(), "pgmask") {
		t.Errorf("got %v, want an error at roles.r.tables about pgmask's schema", err)
	}
}
