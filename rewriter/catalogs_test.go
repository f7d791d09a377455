package rewriter

import (
	"context"
	"slices"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
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
			continue
		}
		if _, err := pg_query.Parse(r.SQL); err != nil {
			t.Errorf("%s: the rewritten statement does not parse: %v", name, err)
		}
	}
}

// With PGMASK_REWRITER_DSN (see golden_test.go), every filtered catalog is read on
// PostgreSQL as each restricted role: the filters are valid SQL for the real catalogs,
// whatever their column types.
func TestEveryCatalogFilterRunsOnPostgreSQL(t *testing.T) {
	live := liveConn(t)
	if live == nil {
		t.Skip("PGMASK_REWRITER_DSN is not set")
	}
	for name, rule := range catalogRules {
		if rule.where == nil {
			continue
		}
		for _, role := range []string{"support", "analyst", "researcher"} {
			r := rewriteAs(t, role, "SELECT * FROM "+name)
			if r.Denial != nil {
				t.Errorf("%s as %s: %s", name, role, r.Denial.Message)
				continue
			}
			if _, err := live.Exec(context.Background(), "BEGIN READ ONLY; "+r.SQL+"; ROLLBACK").ReadAll(); err != nil {
				t.Errorf("%s as %s: %v", name, role, err)
				live.Exec(context.Background(), "ROLLBACK").ReadAll()
			}
		}
	}
}

func TestObjectsThatInvolveAHiddenColumnAreHidden(t *testing.T) {
	p, cat := fixture(t)
	rw, _ := newRewrite(ctx("analyst"), p, p.roles["analyst"], cat)
	v := rw.visibility()
	// The index on mrn is owned by patients but must not be listed: pg_class and
	// pg_index exclude what depends on a hidden column (patients_mrn_key on mrn).
	if !slices.Contains(v.owned, cat.Relation("clinic", "patients_mrn_key").OID) {
		t.Fatalf("patients_mrn_key is not among the owned relations: %v", v.owned)
	}
	for _, c := range []struct {
		catalog, want string
	}{
		{"pg_catalog.pg_class", "NOT oid OPERATOR(pg_catalog.=) ANY (WITH RECURSIVE pgmask_h"},
		{"pg_catalog.pg_index", "NOT indexrelid OPERATOR(pg_catalog.=) ANY (WITH RECURSIVE pgmask_h"},
		{"pg_catalog.pg_attribute", "NOT attrelid OPERATOR(pg_catalog.=) ANY (WITH RECURSIVE pgmask_h"},
		{"pg_catalog.pg_constraint", "pgmask_h.classid OPERATOR(pg_catalog.=) 2606"},
		{"pg_catalog.pg_attrdef", "pgmask_h.classid OPERATOR(pg_catalog.=) 2604"},
		{"pg_catalog.pg_trigger", "pgmask_h.classid OPERATOR(pg_catalog.=) 2620"},
		{"pg_catalog.pg_policy", "pgmask_h.classid OPERATOR(pg_catalog.=) 3256"},
		{"pg_catalog.pg_statistic_ext", "pgmask_h.classid OPERATOR(pg_catalog.=) 3381"},
		{"pg_catalog.pg_publication_rel", "pgmask_h.classid OPERATOR(pg_catalog.=) 6106"},
		{"pg_catalog.pg_description", "NOT ROW(classoid, objoid) OPERATOR(pg_catalog.=) ANY (WITH RECURSIVE pgmask_h"},
		{"pg_catalog.pg_depend", "NOT ROW(classid, objid) OPERATOR(pg_catalog.=) ANY (WITH RECURSIVE pgmask_h"},
		{"pg_catalog.pg_indexes", "ROW(schemaname, indexname) OPERATOR(pg_catalog.=) ANY"},
		{"information_schema.table_constraints", "ROW(constraint_schema, constraint_name) OPERATOR(pg_catalog.=) ANY"},
	} {
		sql := catalogRules[c.catalog].where(v)
		if !strings.Contains(sql, c.want) {
			t.Errorf("%s: the filter lacks %q:\n%s", c.catalog, c.want, sql)
		}
		// The seed of the recursion: the columns of patients other than the analyst's
		// id, state and sex, so a column added since the snapshot counts as hidden.
		if strings.Contains(c.want, "pgmask_h") && !strings.Contains(sql, "pgmask_d.refobjid OPERATOR(pg_catalog.=) 16386 AND pgmask_d.refobjsubid OPERATOR(pg_catalog.>) 0 AND NOT pgmask_d.refobjsubid OPERATOR(pg_catalog.=) ANY ('{1,9,13}'::pg_catalog.int4[])") {
			t.Errorf("%s: the filter does not seed with patients' hidden columns:\n%s", c.catalog, sql)
		}
	}
}

func TestCatalogHelperFunctionsAreAllowedAndOthersAreNot(t *testing.T) {
	for _, c := range []struct {
		sql     string
		allowed bool
	}{
		{"SELECT (information_schema._pg_expandarray(ARRAY[1,2])).n", true},
		{"SELECT information_schema._pg_index_position(1, 1::int2)", true},
		{"SELECT information_schema._pg_char_max_length(25, -1)", true},
		{"SELECT information_schema.no_such_helper(1)", false},
		{"SELECT public.get_ssn(1)", false},
	} {
		r := rewriteAs(t, "analyst", c.sql)
		if (r.Denial == nil) != c.allowed {
			t.Errorf("%s: denial %v, want allowed=%v", c.sql, r.Denial, c.allowed)
		}
	}
}
