package rewriter

import (
	"strings"
	"testing"
)

// In the fixture (testdata/schema.sql), support is granted clinic.patients but not
// clinic.secrets, clinic.claims or public.patients. Type OIDs from testdata/catalog.json:
const (
	secretsRowType   = "16497" // clinic.secrets
	secretsArrayType = "16496" // clinic._secrets
	patientsRowType  = "16388" // clinic.patients
	claimsRowType    = "16426" // clinic.claims
)

// fixtureWithElements is the fixture catalog as a loader that records pg_type.typelem
// would produce it: arrays are linked by Element, not by name.
func fixtureWithElements(t *testing.T) *Catalog {
	t.Helper()
	return fixtureCatalog(t, func(d *CatalogData) {
		oids := map[qualifiedName]uint32{}
		for _, ty := range d.Types {
			oids[qualifiedName{ty.Schema, ty.Name}] = ty.OID
		}
		n := 0
		for i, ty := range d.Types {
			if elem, ok := oids[qualifiedName{ty.Schema, strings.TrimPrefix(ty.Name, "_")}]; ok && strings.HasPrefix(ty.Name, "_") {
				d.Types[i].Element = elem
				n++
			}
		}
		if n == 0 {
			t.Fatal("no array types in the fixture")
		}
	})
}

func TestTypesWrittenAsConstantsAreCheckedLikeRelationNames(t *testing.T) {
	cases := []struct {
		role, sql string
		denied    bool
	}{
		// the row type of a relation the role may not see, by name
		{"support", "SELECT 'clinic.secrets'::regtype", true},
		{"support", "SELECT 'secrets'::regtype", true}, // clinic is on the search_path
		{"support", `SELECT '"clinic"."secrets"'::regtype`, true},
		{"support", "SELECT 'CLINIC.Secrets'::regtype", true},
		{"support", "SELECT 'clinic.clinic.secrets'::regtype", true},
		{"support", "SELECT 'public.patients'::regtype", true},
		{"support", "SELECT 'clinic.claims'::regtype", true},
		{"support", "SELECT 'clinic.patient_cities'::regtype", true}, // a view not granted
		{"support", "SELECT 'clinic.vitals_2024'::regtype", true},    // a partition of a granted table
		{"support", "SELECT 'pgmask.subject_codes'::regtype", true},
		// its array type, in both spellings
		{"support", "SELECT 'clinic._secrets'::regtype", true},
		{"support", "SELECT '_secrets'::regtype", true},
		{"support", "SELECT 'clinic.secrets[]'::regtype", true},
		{"support", "SELECT 'secrets[3]'::regtype", true},
		{"support", "SELECT 'clinic.secrets ARRAY'::regtype", true},
		// through casts, calls and functions that resolve a type name
		{"support", "SELECT 'clinic.secrets'::text::regtype", true},
		{"support", "SELECT CAST('clinic.secrets' AS pg_catalog.regtype)", true},
		{"support", "SELECT regtype 'clinic.secrets'", true},
		{"support", "SELECT pg_catalog.regtype('clinic.secrets')", true},
		{"support", "SELECT to_regtype('clinic.secrets')", true},
		{"support", "SELECT to_regtype('secrets[]')", true},
		{"support", "SELECT regtypein('clinic.secrets')", true},
		{"support", "SELECT has_type_privilege('clinic.secrets', 'USAGE')", true},
		{"support", "SELECT has_type_privilege('postgres', 'clinic._secrets', 'USAGE')", true},
		{"support", "SELECT pg_input_is_valid('(1,x)', 'clinic.secrets')", true},
		{"support", "SELECT ARRAY['clinic.patients', 'clinic.secrets']::regtype[]", true},
		{"support", "SELECT '{clinic.patients}'::regtype[]", true}, // an array literal is not read
		{"support", "SELECT ('clinic.' || 'secrets')::regtype", true},
		{"support", "SELECT to_regtype(concat('clinic.', 'secrets'))", true},
		// types that do not exist answer the same
		{"support", "SELECT 'clinic.nosuch'::regtype", true},
		{"support", "SELECT 'nosuch'::regtype", true},
		{"support", "SELECT to_regtype('nosuch[]')", true},
		// visible relations, other user types, pg_catalog and information_schema
		{"support", "SELECT 'clinic.patients'::regtype, 'patients'::regtype, 'clinic._patients'::regtype, 'patients[]'::regtype", false},
		{"support", `SELECT 'clinic."Appointments"'::regtype, to_regtype('clinic."Appointments"[]')`, false},
		{"support", "SELECT 'clinic.note_kind'::regtype, '_note_kind'::regtype, 'public.us_zip'::regtype", false},
		{"support", "SELECT 'pg_class'::regtype, '_pg_class'::regtype, 'pg_catalog.pg_stats'::regtype, 'information_schema.sql_identifier'::regtype", false},
		{"analyst", "SELECT 'clinic.claims'::regtype, to_regtype('claims[]')", false},
		// ordinary built-in types, in every spelling
		{"support", "SELECT 'integer'::regtype, 'int4'::regtype, 'text'::regtype, '_int4'::regtype, 'int4[]'::regtype", false},
		{"support", `SELECT 'timestamp with time zone'::regtype, 'character varying(10)'::regtype, 'varchar'::regtype, 'double precision'::regtype, '"char"'::regtype`, false},
		{"support", "SELECT to_regtype('integer'), to_regtype('pg_catalog.nosuch'), 'pg_catalog.int4'::regtype", false},
		{"support", "SELECT 'int4 FROM clinic.secrets'::regtype", false}, // not a type name: PostgreSQL refuses it
		// OIDs given as types
		{"support", "SELECT " + secretsRowType + "::regtype", true},
		{"support", "SELECT " + secretsArrayType + "::regtype", true},
		{"support", "SELECT '" + secretsRowType + "'::oid::regtype", true},
		{"support", "SELECT '" + secretsRowType + "'::regtype", true},
		{"support", "SELECT " + secretsRowType + "::bigint::regtype", true},
		{"support", "SELECT 999999::regtype", true}, // a user OID the snapshot does not know
		{"support", "SELECT (-5)::regtype", true},   // OID 4294967291
		{"support", "SELECT " + patientsRowType + "::regtype, 16387::regtype, 0::regtype, 23::regtype, '1043'::oid::regtype", false},
		{"analyst", "SELECT " + claimsRowType + "::regtype", false},
		// format_type and other functions of a type OID
		{"support", "SELECT format_type(" + secretsRowType + ", NULL)", true},
		{"support", "SELECT pg_catalog.format_type(" + secretsArrayType + ", -1)", true},
		{"support", "SELECT format_type('" + secretsRowType + "', NULL)", true},
		{"support", "SELECT format_type(" + secretsRowType + "::oid, 0)", true},
		{"support", "SELECT format_type(16496 + 1, NULL)", true},
		{"support", "SELECT pg_type_is_visible(" + secretsRowType + ")", true},
		{"support", "SELECT record_in('(1)', " + secretsRowType + ", -1)", true},
		{"support", "SELECT enum_in('x', " + secretsRowType + ")", true},
		{"support", "SELECT regtypeout(" + secretsRowType + ")", true},
		{"support", "SELECT format_type(" + patientsRowType + ", NULL), format_type(23, -1), format_type(0, NULL)", false},
		// columns and parameters, as catalog queries pass them
		{"support", "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a", false},
		{"support", "SELECT t.oid::regtype, format_type(t.oid, NULL), NULL::regtype FROM pg_type t", false},
		{"support", "SELECT format_type($1, NULL), $2::regtype, to_regtype($3)", false},
		// a cast to a type names it too
		{"support", "SELECT NULL::secrets", true},
		{"support", "SELECT NULL::nosuch", true},
		{"support", "SELECT NULL::clinic.nosuch", true},
		{"support", "SELECT NULL::text, NULL::int4, NULL::pg_class, NULL::regtype, NULL::\"char\"", false},
	}
	p, fixtureCat := fixture(t)
	for name, cat := range map[string]*Catalog{"arrays linked by name": fixtureCat, "arrays linked by typelem": fixtureWithElements(t)} {
		for _, tc := range cases {
			r := Rewrite(tc.sql, ctx(tc.role), p, cat)
			if (r.Denial != nil) != tc.denied {
				t.Errorf("%s: %s as %s: denial %v, want denied=%v", name, tc.sql, tc.role, r.Denial, tc.denied)
			}
		}
	}
}

func TestAnUnknownUserSchemaOnThePathMayHoldAHiddenRowType(t *testing.T) {
	p, cat := fixture(t)
	c := ctx("support")
	c.SearchPath = `"$user", clinic`
	if r := Rewrite("SELECT 'patients'::regtype", c, p, cat); r.Denial != nil {
		t.Errorf("session user known: %v", r.Denial)
	}
	c.User = "" // "$user" may be public, whose patients support may not see
	if r := Rewrite("SELECT 'patients'::regtype", c, p, cat); r.Denial == nil {
		t.Error("unknown session user: public.patients may be what 'patients' names")
	}
}

func TestAHiddenTypeGetsTheAnswerOfAMissingOne(t *testing.T) {
	for _, tc := range []struct{ hidden, missing, from, to string }{
		{"SELECT 'clinic.secrets'::regtype", "SELECT 'clinic.nosuch'::regtype", "secrets", "nosuch"},
		{"SELECT 'secrets'::regtype", "SELECT 'nosuch'::regtype", "secrets", "nosuch"},
		{"SELECT 'clinic.secrets[]'::regtype", "SELECT 'clinic.nosuch[]'::regtype", "secrets", "nosuch"},
		{"SELECT to_regtype('clinic._secrets')", "SELECT to_regtype('clinic._nosuch')", "secrets", "nosuch"},
		{"SELECT " + secretsRowType + "::regtype", "SELECT 16999::regtype", secretsRowType, "16999"},
		{"SELECT format_type(" + secretsRowType + ", NULL)", "SELECT format_type(16999, NULL)", secretsRowType, "16999"},
		{"SELECT NULL::secrets", "SELECT NULL::nosuch", "secrets", "nosuch"},
	} {
		h, m := rewriteAs(t, "support", tc.hidden).Denial, rewriteAs(t, "support", tc.missing).Denial
		if h == nil || m == nil {
			t.Errorf("%s: %v; %s: %v; want both refused", tc.hidden, h, tc.missing, m)
			continue
		}
		if h.Code != m.Code || strings.ReplaceAll(h.Message, tc.from, tc.to) != m.Message ||
			strings.ReplaceAll(h.Hint, tc.from, tc.to) != m.Hint {
			t.Errorf("hidden and missing answer differently:\n%s: %s %q %q\n%s: %s %q %q",
				tc.hidden, h.Code, h.Message, h.Hint, tc.missing, m.Code, m.Message, m.Hint)
		}
	}
}

func TestADecisionOnATypeConstantIsNeverTemplated(t *testing.T) {
	p, cat := fixture(t)
	for _, tc := range []struct{ allowed, refused string }{
		{"SELECT 'clinic.patients'::regtype", "SELECT 'clinic.secrets'::regtype"},
		{"SELECT to_regtype('patients')", "SELECT to_regtype('secrets')"},
		{"SELECT " + patientsRowType + "::regtype", "SELECT " + secretsRowType + "::regtype"},
		{"SELECT format_type(" + patientsRowType + ", NULL)", "SELECT format_type(" + secretsRowType + ", NULL)"},
	} {
		if r := Rewrite(tc.allowed, ctx("support"), p, cat); r.Denial != nil || r.shapeOnly {
			t.Errorf("%s: denial %v, shapeOnly %v; want allowed and not reusable for other literals", tc.allowed, r.Denial, r.shapeOnly)
		}
		c := NewCache(100)
		for range 3 {
			c.Rewrite(tc.allowed, ctx("support"), p, cat)
		}
		if r := c.Rewrite(tc.refused, ctx("support"), p, cat); r.Denial == nil {
			t.Errorf("%s: allowed through a cached template: %s", tc.refused, r.SQL)
		}
	}
}

func TestArrayTypesAreLinkedToTheirElementType(t *testing.T) {
	_, cat := fixture(t)
	secrets, arr := cat.typeOf("clinic", "secrets"), cat.typeOf("clinic", "_secrets")
	if got := cat.elementOf(arr); got != secrets {
		t.Errorf("by name: element of clinic._secrets = %+v", got)
	}
	if got := cat.elementOf(secrets); got != nil {
		t.Errorf("a row type has no element: %+v", got)
	}
	// With typelem recorded, an array PostgreSQL had to name otherwise is found, and a
	// base type that merely looks like an array name is not taken for one.
	rec, err := NewCatalog(1, CatalogData{
		Schemas:   []Schema{{OID: 1, Name: "s"}},
		Relations: []Relation{{OID: 10, Schema: "s", Name: "t", Kind: KindTable}, {OID: 20, Schema: "s", Name: "u", Kind: KindTable}},
		Types: []Type{
			{OID: 11, Schema: "s", Name: "t", Kind: "c", Relation: 10},
			{OID: 12, Schema: "s", Name: "_t_1", Kind: "b", Element: 11},
			{OID: 21, Schema: "s", Name: "u", Kind: "c", Relation: 20},
			{OID: 22, Schema: "s", Name: "_u", Kind: "b"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.elementOf(rec.typeOf("s", "_t_1")); got == nil || got.OID != 11 {
		t.Errorf("by typelem: element of s._t_1 = %+v", got)
	}
	if got := rec.elementOf(rec.typeOf("s", "_u")); got != nil {
		t.Errorf("s._u records no element but was linked to %+v", got)
	}
}

func TestRegclassArraysAndCallsAreCheckedLikeCasts(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		denied bool
	}{
		{"SELECT regclass('clinic.secrets')", true},
		{"SELECT pg_catalog.regclass('clinic.nosuch')", true},
		{"SELECT '{clinic.patients}'::regclass[]", true},
		{"SELECT ARRAY['clinic.patients', 'clinic.secrets']::regclass[]", true},
		{"SELECT regclass('clinic.patients'), ARRAY['clinic.patients', 16386]::regclass[], c.oid::regclass FROM pg_class c", false},
	} {
		if r := rewriteAs(t, "support", tc.sql); (r.Denial != nil) != tc.denied {
			t.Errorf("%s: denial %v, want denied=%v", tc.sql, r.Denial, tc.denied)
		}
	}
}
