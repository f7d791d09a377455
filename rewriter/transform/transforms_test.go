package transform

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// testTypes are column types as format_type prints them.
var testTypes = []string{
	"text", "character varying(11)", "character varying", "character(5)", "character", "bpchar", "name",
	"date", "timestamp with time zone", "timestamp without time zone", "timestamp(3) with time zone",
	"smallint", "integer", "bigint", "numeric(12,2)", "numeric", "numeric(3,0)", "double precision", "real",
	"text[]", "integer[]", "character varying(10)[]", "uuid", "jsonb", "json", "bytea", "boolean",
	"interval", "time without time zone", "time(3) with time zone", "bit(8)", "inet", "inet[]",
	"clinic.mood", `clinic."Odd Type"[]`,
}

var testEnv = Env{Key: []byte("0123456789abcdef0123456789abcdef"), Today: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}

// testSpecs gives every transform with typical arguments.
func testSpecs(t *testing.T) []Spec {
	args := map[string]string{
		"partial": "(1,4)", "bucket": "(10)", "round": "(2)", "date_shift": "(30)",
		"expr": `("left(value::text, 1)")`,
	}
	var specs []Spec
	for _, n := range Names() {
		s, err := Parse(n + args[n])
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	return specs
}

func TestEveryTransformGeneratesSelfContainedSQLOrATypeError(t *testing.T) {
	fits := map[string]int{}
	for _, s := range testSpecs(t) {
		if s.Excludes() {
			continue
		}
		for _, typ := range testTypes {
			col := Column{Ref: `t."c"`, Type: typ, Subject: `t."id"`}
			got, err := s.Expr(col, testEnv)
			if err != nil {
				var te *TypeError
				if !errors.As(err, &te) {
					t.Errorf("%s on %s: %v, want a *TypeError or SQL", s, typ, err)
				}
				continue
			}
			fits[s.Name]++
			mustParse(t, got)
			if s.Name == CodeName {
				assertCodeLookup(t, got) // the one transform that reads a table
			} else {
				assertSelfContained(t, got)
			}
			if s.Name != "keep" {
				ct, _ := parseType(typ)
				if !strings.HasSuffix(got, ")::"+ct.cast+")") || !strings.HasPrefix(got, "(") {
					t.Errorf("%s on %s: %s is not cast back to the column type as a whole", s, typ, got)
				}
			}
		}
	}
	for _, n := range Names() {
		if n != "exclude" && fits[n] == 0 {
			t.Errorf("transform %s fits none of the test types", n)
		}
	}
}

func TestGeneratedSQLLooksAsDocumented(t *testing.T) {
	for _, c := range []struct{ spec, typ, want string }{
		{"keep", "text", `t."c"`},
		{"null", "character varying(11)", `((NULL)::character varying(11))`},
		{"null", "date", `((NULL)::pg_catalog.date)`},
		{"redact", "character varying(5)", `(((CASE WHEN (t."c" IS NULL) THEN NULL ELSE 'XXXXX' END))::character varying(5))`},
		{"redact", "integer", `(((CASE WHEN (t."c" IS NULL) THEN NULL ELSE 0 END))::integer)`},
		{"redact", "date", `((NULL)::pg_catalog.date)`},
		{"year", "date", `((pg_catalog.date_trunc(('year'::pg_catalog.text), ((t."c")::timestamp without time zone)))::pg_catalog.date)`},
		{"month", "timestamp with time zone", `((pg_catalog.date_trunc(('month'::pg_catalog.text), t."c"))::timestamp with time zone)`},
		{"age_top90", "integer", `(((CASE WHEN (t."c" OPERATOR(pg_catalog.>) 89) THEN 90 ELSE t."c" END))::integer)`},
		{"round(2)", "double precision", `((pg_catalog.round(((t."c")::numeric), 2))::double precision)`},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Expr(Column{Ref: `t."c"`, Type: c.typ, Subject: `t."id"`}, testEnv)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s on %s:\n got  %s\n want %s", c.spec, c.typ, got, c.want)
		}
	}
}

func TestTypesAreWrittenSoThatTheyResolveToPgCatalog(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"text", "pg_catalog.text"},
		{"character varying(11)", "character varying(11)"},
		{"character varying", "character varying"},
		{"character(5)", "character(5)"},
		{"character", "pg_catalog.bpchar"},
		{"numeric(12,2)", "numeric(12,2)"},
		{"numeric", "numeric"},
		{"timestamp(3) with time zone", "timestamp(3) with time zone"},
		{"date", "pg_catalog.date"},
		{"text[]", "pg_catalog.text[]"},
		{"character varying(10)[]", "character varying(10)[]"},
		{"clinic.mood", "clinic.mood"},
		{`clinic."Odd Type"`, `clinic."Odd Type"`},
		{"inet", "pg_catalog.inet"},
		{"inet[]", "pg_catalog.inet[]"},
		{"time(3) with time zone", "time (3) with time zone"},
		{"interval year to month", "interval year to month"},
	} {
		got, err := parseType(c.in)
		if err != nil {
			t.Errorf("parseType(%q): %v", c.in, err)
			continue
		}
		if got.cast != c.want {
			t.Errorf("parseType(%q).cast = %q, want %q", c.in, got.cast, c.want)
		}
	}
	for _, bad := range []string{"text; DROP TABLE x", "text) || (select 1", "setof text", "text collate \"C\"", "1", "numeric(0,0)", "character varying(0)", "mood", `"Odd Type"`, "citext"} {
		if _, err := parseType(bad); err == nil {
			t.Errorf("parseType(%q) accepted", bad)
		}
	}
}

func TestLiteralsAreQuotedForAnyStringSetting(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abc", "'abc'"},
		{"it's", "'it''s'"},
		{`a\b`, `E'a\\b'`},
		{`'\'`, `E'''\\'''`},
		{"", "''"},
	} {
		if got := lit(c.in); got != c.want {
			t.Errorf("lit(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := num(-5); got != "('-5'::integer)" {
		t.Errorf("num(-5) = %s", got)
	}
	if got := num(-1 << 40); got != "('-1099511627776'::bigint)" {
		t.Errorf("num(-2^40) = %s", got)
	}
}

// mustParse fails the test unless expr parses as the projection of a query.
func mustParse(t *testing.T, expr string) {
	t.Helper()
	if _, err := pg_query.Parse("SELECT " + expr + " AS c FROM t"); err != nil {
		t.Errorf("generated SQL does not parse: %v\n%s", err, expr)
	}
}

// assertSelfContained checks the invariants every generated expression must hold:
// each function, operator and type is pg_catalog's, no CASE compares implicitly, and
// nothing but the column (and subject) is referenced — no subquery, parameter or
// collation.
// refs lists the column references allowed, "t.c" and "t.id" when empty.
func assertSelfContained(t *testing.T, expr string, refs ...string) {
	t.Helper()
	tree, err := pg_query.Parse("SELECT " + expr + " AS c FROM t")
	if err != nil {
		t.Errorf("generated SQL does not parse: %v", err)
		return
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if len(refs) == 0 {
		refs = []string{"t.c", "t.id"}
	}
	qualified := func(names []*pg_query.Node) bool {
		return len(names) == 2 && names[0].GetString_().GetSval() == "pg_catalog"
	}
	walk(sel.TargetList[0].ProtoReflect(), func(m proto.Message) {
		switch n := m.(type) {
		case *pg_query.FuncCall:
			if !qualified(n.Funcname) {
				t.Errorf("unqualified function %v in %s", n.Funcname, expr)
			}
		case *pg_query.A_Expr:
			if !qualified(n.Name) {
				t.Errorf("unqualified operator %v in %s", n.Name, expr)
			}
			switch n.Kind {
			case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
			default:
				t.Errorf("%v in %s looks its operator up implicitly", n.Kind, expr)
			}
		case *pg_query.TypeName:
			if len(n.Names) != 2 || n.Names[0].GetString_().GetSval() == "" {
				t.Errorf("type %v in %s may resolve through search_path", n.Names, expr)
			}
		case *pg_query.CaseExpr:
			if n.Arg != nil {
				t.Errorf("simple CASE in %s compares through search_path", expr)
			}
		case *pg_query.ColumnRef:
			var parts []string
			for _, f := range n.Fields {
				parts = append(parts, f.GetString_().GetSval())
			}
			if r := strings.Join(parts, "."); !slices.Contains(refs, r) {
				t.Errorf("reference to %s in %s", r, expr)
			}
		case *pg_query.SubLink, *pg_query.ParamRef, *pg_query.CollateClause, *pg_query.RangeVar:
			t.Errorf("%T in %s", m, expr)
		}
	})
}

func walk(m protoreflect.Message, f func(proto.Message)) {
	f(m.Interface())
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i, l := 0, v.List(); i < l.Len(); i++ {
				walk(l.Get(i).Message(), f)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message(), f)
		}
		return true
	})
}
