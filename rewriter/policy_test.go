package rewriter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
)

func parseConfig(t *testing.T, toml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("[upstream]\ndatabase = \"clinic\"\nuser = \"pgmask\"\n"+toml), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const notesTable = `
[tables."clinic.notes"]
subject_key = "patient_id"
columns = { id = "none", patient_id = "none", encounter_id = "none", note_type = "none", body = "free_text", written_at = "event_date" }
`

func TestCompileReportsPolicyErrorsWithFileAndLine(t *testing.T) {
	cfg := parseConfig(t, notesTable+`
[roles.r]
profile = "minimum_necessary"
tables = ["clinic.notes"]
rows = { "clinic.notes" = "patient_id IN (SELECT 1)" }
`)
	_, err := CompileWithKey(cfg, 1, testKey)
	if err == nil || !strings.Contains(err.Error(), "test.toml:12") || !strings.Contains(err.Error(), `roles.r.rows."clinic.notes"`) ||
		!strings.Contains(err.Error(), "subqueries") {
		t.Errorf("got %v, want a located error about the subquery", err)
	}
}

func TestDeIdentificationProfilesMayOnlyBeTightened(t *testing.T) {
	for _, tc := range []struct {
		profile, override string
		ok                bool
	}{
		{"safe_harbor", `event_date = "month"`, false},
		{"safe_harbor", `event_date = "exclude"`, true},
		{"safe_harbor", `event_date = "year"`, true},
		{"safe_harbor", `free_text = "redact_patterns"`, false},
		// patient_id is the subject key: a hash of it is derived from the individual.
		{"safe_harbor", `none = "hash"`, false},
		{"safe_harbor", `none = "code"`, true},
		{"safe_harbor", `mrn = "code"`, true},
		{"limited_data_set", `name = "last4"`, false},
		{"limited_data_set", `event_date = "date_shift(10)"`, true},
		{"minimum_necessary", `free_text = "keep"`, true},
	} {
		cfg := parseConfig(t, notesTable+fmt.Sprintf(`
[roles.r]
profile = %q
tables = ["clinic.notes"]
transforms = { %s }
data_use_agreement = "DUA-1"
expires = 2099-01-01
`, tc.profile, tc.override))
		_, err := CompileWithKey(cfg, 1, testKey)
		if (err == nil) != tc.ok {
			t.Errorf("%s with %s: err = %v, want ok=%v", tc.profile, tc.override, err, tc.ok)
		}
	}
}

func TestRestrictedRolesCannotListKindsPgmaskCannotCheck(t *testing.T) {
	cfg := parseConfig(t, notesTable+`
[roles.r]
profile = "minimum_necessary"
tables = ["clinic.notes"]
read_only = false
statements = ["select", "do"]
functions = ["pg_catalog.query_to_xml"]
`)
	_, err := CompileWithKey(cfg, 1, testKey)
	if err == nil || !strings.Contains(err.Error(), `"do" cannot be allowed`) || !strings.Contains(err.Error(), "can never be allowed") {
		t.Errorf("got %v", err)
	}
}

func TestPolicyNeverPrintsItsKey(t *testing.T) {
	p, _ := fixture(t)
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p)} {
		if strings.Contains(s, string(testKey)) || strings.Contains(s, fmt.Sprint([]byte(testKey))) {
			t.Fatalf("policy printed its key: %s", s)
		}
	}
	if fmt.Sprint(p.key) != "[redacted]" {
		t.Errorf("key prints as %v", p.key)
	}
}

func TestColumnTreatmentsFollowProfileThenCategoryThenColumn(t *testing.T) {
	p, _ := fixture(t)
	for _, tc := range []struct{ role, table, column, want string }{
		{"support", "clinic.patients", "ssn", "last4"},         // category override
		{"support", "clinic.patients", "street", "exclude"},    // profile: identifier
		{"support", "clinic.patients", "state", "keep"},        // profile: state
		{"support", "clinic.notes", "body", "redact_patterns"}, // column override
		{"researcher", "clinic.patients", "zip", "zip3"},
		{"researcher", "clinic.patients", "dob", "age_top90"},
		{"lds", "clinic.patients", "city", "keep"},
		{"lds", "clinic.encounters", "admitted_at", "null"},
	} {
		cp, ok := p.roles[tc.role].tables[tc.table].columns[tc.column]
		if !ok || cp.spec.String() != tc.want {
			t.Errorf("%s %s.%s = %v, want %s", tc.role, tc.table, tc.column, cp.spec, tc.want)
		}
	}
}

func TestCheckFindsWhatDoesNotFitTheCatalog(t *testing.T) {
	cfg := parseConfig(t, notesTable+`
[tables."clinic.gone"]
columns = { id = "none" }

[roles.r]
profile = "minimum_necessary"
tables = ["clinic.notes"]
columns = { "clinic.notes.id" = "year" }
`)
	p, err := CompileWithKey(cfg, 1, testKey)
	if err != nil {
		t.Fatal(err)
	}
	_, cat := fixture(t)
	errs, warnings := p.Check(cat)
	all := fmt.Sprint(errs)
	if !strings.Contains(all, "clinic.gone does not exist") || !strings.Contains(all, "transform year does not apply to a column of type bigint") {
		t.Errorf("errors = %v", errs)
	}
	_, warnings = fixturePol.Check(cat)
	if !strings.Contains(fmt.Sprint(warnings), "view clinic.patient_cities reads protected relation clinic.patients") {
		t.Errorf("warnings = %v", warnings)
	}
}

func TestFullProfileIsForwardedWithoutParsing(t *testing.T) {
	r := rewriteAs(t, "clinician", "this is not SQL at all")
	if !r.Unchanged || r.SQL != "this is not SQL at all" || r.Denial != nil {
		t.Errorf("got %+v", r)
	}
}

func TestMissingCatalogOrPolicyDeniesEverything(t *testing.T) {
	p, _ := fixture(t)
	if r := Rewrite("SELECT * FROM clinic.patients", ctx("support"), p, nil); r.Denial == nil {
		t.Errorf("no catalog: %+v", r)
	}
	if r := Rewrite("SELECT * FROM clinic.patients", ctx("support"), p, &Catalog{}); r.Denial == nil {
		t.Errorf("empty catalog: %+v", r)
	}
	if r := Rewrite("SELECT 1", ctx("support"), nil, nil); r.Denial == nil {
		t.Errorf("no policy: %+v", r)
	}
}
