package rewriter

import (
	"strings"
	"testing"
)

func TestCatalogFiltersListOnlyWhatTheRoleMaySee(t *testing.T) {
	p, cat := fixture(t)
	rw, _ := newRewrite(ctx("analyst"), p, p.roles["analyst"], cat)
	v := rw.visibility()
	patients := cat.Relation("clinic", "patients")
	notes := cat.Relation("clinic", "notes")
	mrnIndex := cat.Relation("clinic", "patients_mrn_key")
	if !v.relation(patients) || v.relation(notes) || !v.relation(mrnIndex) || !v.relation(cat.Relation("pg_catalog", "pg_class")) {
		t.Errorf("visibility of patients/notes/index/pg_class wrong: %v", v.oids)
	}
	if got := strings.Join(v.names[qualifiedName{"clinic", "patients"}], ","); got != "id,state,sex" {
		t.Errorf("analyst sees patients columns %s, want id,state,sex", got)
	}
	cols := v.columnNamesSQL("table_schema", "table_name", "column_name")
	if !strings.Contains(cols, `'{"id","state","sex"}'::pg_catalog.name[]`) || strings.Contains(cols, "ssn") || strings.Contains(cols, "notes") {
		t.Errorf("information_schema.columns filter: %s", cols)
	}
	if strings.Contains(v.classSQL(), "16406") {
		t.Errorf("pg_class filter shows clinic.notes: %s", v.classSQL())
	}
}

func TestEveryCatalogRuleGeneratesValidSQL(t *testing.T) {
	_, cat := fixture(t)
	for name, rule := range catalogRules {
		schema, rel, _ := strings.Cut(name, ".")
		if cat.Relation(schema, rel) == nil && name != "pg_catalog.pg_user_mapping" && name != "pg_catalog.pg_stats_ext_exprs" {
			t.Errorf("%s is on the allowlist but not in PostgreSQL 15's catalog", name)
		}
		if rule.where == nil && rule.refuse == "" {
			continue
		}
		sql := "SELECT * FROM " + name
		r := rewriteAs(t, "support", sql)
		if rule.refuse != "" {
			if r.Denial == nil || !strings.Contains(r.Denial.Hint, rule.refuse) {
				t.Errorf("%s: %+v, want refused", name, r)
			}
			continue
		}
		if r.Denial != nil {
			t.Errorf("%s: %s", name, r.Denial.Message)
		}
	}
}
