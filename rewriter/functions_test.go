package rewriter

import (
	"strings"
	"testing"
)

func TestFunctionDenylist(t *testing.T) {
	for _, tc := range []struct {
		sql, role string
		denied    bool
	}{
		{"SELECT upper('a'), now(), pg_sleep(0), txid_current()", "support", false},
		{"SELECT pg_catalog.query_to_xml('select 1', true, true, '')", "support", true},
		{"SELECT query_to_xml_and_xmlschema('select 1', true, true, '')", "support", true},
		{"SELECT database_to_xml(true, true, '')", "support", true},
		{"SELECT set_config('a.b', 'c', false)", "support", true},
		{"SELECT pg_read_binary_file('x')", "support", true},
		{"SELECT pg_ls_waldir()", "support", true},
		{"SELECT lo_import('/etc/passwd')", "support", true},
		{"SELECT pg_create_logical_replication_slot('s', 'p')", "support", true},
		{"SELECT pg_reload_conf()", "support", true},
		{"SELECT pg_stat_get_backend_activity(1)", "support", true},
		{"SELECT * FROM pg_cursor()", "support", true},
		{"SELECT nextval('s')", "support", true},
		{"SELECT nextval('s')", "writer", false},
		{"SELECT currval('s')", "support", false},
		{"SELECT pg_catalog.plus_one(1)", "analyst", false}, // a built-in name that does not exist: PostgreSQL answers
		{"SELECT public.plus_one(1)", "support", true},
		{"SELECT plus_one(1)", "support", true},
		{"SELECT clinic.clinic.upper('a')", "support", true},
		{"SELECT clinic.pg_catalog.upper('a')", "support", false},
		{"SELECT otherdb.pg_catalog.upper('a')", "support", true},
	} {
		r := rewriteAs(t, tc.role, tc.sql)
		if (r.Denial != nil) != tc.denied {
			t.Errorf("%s as %s: %+v, denied=%v wanted", tc.sql, tc.role, r.Denial, tc.denied)
		}
	}
}

func TestNoPgCatalogFunctionIsShadowedWhenAUserFunctionOfTheSameNameIsOnThePath(t *testing.T) {
	p, cat := fixture(t)
	c := ctx("support")
	c.SearchPath = "public"
	if r := Rewrite("SELECT lower('A')", c, p, cat); r.Denial == nil || !strings.Contains(r.Denial.Message, "public.lower") {
		t.Errorf("public.lower on the path: %+v", r)
	}
	c.SearchPath = "clinic"
	if r := Rewrite("SELECT lower('A')", c, p, cat); r.Denial != nil {
		t.Errorf("public not on the path: %+v", r.Denial)
	}
	c.SearchPath = `"$user"`
	c.User = ""
	if r := Rewrite("SELECT lower('A')", c, p, cat); r.Denial == nil {
		t.Errorf("unknown $user must be assumed to be any schema")
	}
}

func TestEveryNeverAllowedFunctionIsRefusedEvenWhenAllowlisted(t *testing.T) {
	for _, f := range []string{"query_to_xml", "pg_catalog.set_config", "ts_stat", "cursor_to_xmlschema"} {
		if !neverAllowlistable(f) {
			t.Errorf("%s is allowlistable", f)
		}
	}
	if neverAllowlistable("pg_catalog.lo_get") || neverAllowlistable("public.query_to_xml") {
		t.Error("allowlistable functions refused")
	}
}
