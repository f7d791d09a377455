package transform

import (
	"errors"
	"slices"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

func TestCodeFitsColumnsThatHoldEveryCodeAndNothingElse(t *testing.T) {
	s, err := Parse("code")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ  string
		fits bool
	}{
		{"integer", true}, {"bigint", true}, {"smallint", false},
		{"numeric", true}, {"numeric(10,0)", true}, {"numeric(12,2)", true}, {"numeric(9,0)", false}, {"numeric(12,3)", false},
		{"text", true}, {"character varying", true}, {"character varying(10)", true}, {"character varying(9)", false},
		{"character(12)", true}, {"character(5)", false}, {"name", true},
		{"uuid", false}, {"date", false}, {"double precision", false}, {"bytea", false}, {"integer[]", false}, {"clinic.mood", false},
	} {
		_, err := s.Expr(Column{Ref: `t."c"`, Type: c.typ, Subject: `t."id"`}, Env{})
		var te *TypeError
		switch {
		case c.fits && err != nil:
			t.Errorf("code on %s: %v, want SQL", c.typ, err)
		case !c.fits && !errors.As(err, &te):
			t.Errorf("code on %s: %v, want a *TypeError", c.typ, err)
		}
	}
}

func TestCodeNeedsTheTablesSubjectKey(t *testing.T) {
	s, _ := Parse("code")
	_, err := s.Expr(Column{Ref: `t."c"`, Type: "bigint"}, Env{})
	if err == nil || !strings.Contains(err.Error(), "subject_key") {
		t.Errorf("code without a subject key: %v, want an error naming subject_key", err)
	}
}

func TestCodeLooksUpTheSubjectsCodeAsDocumented(t *testing.T) {
	s, _ := Parse("code")
	lookup := `(SELECT c.code FROM (SELECT ((t."id")::pg_catalog.text)) AS s(subject) JOIN pgmask.subject_codes AS c ON (c.subject OPERATOR(pg_catalog.=) s.subject))`
	for _, c := range []struct{ typ, want string }{
		{"bigint", "((" + lookup + ")::bigint)"},
		{"integer", "((" + lookup + ")::integer)"},
		{"character varying(12)", "((((" + lookup + ")::pg_catalog.text))::character varying(12))"},
	} {
		got, err := s.Expr(Column{Ref: `t."c"`, Type: c.typ, Subject: `t."id"`}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("code on %s:\n got  %s\n want %s", c.typ, got, c.want)
		}
		assertCodeLookup(t, got)
	}
}

// assertCodeLookup checks what the code transform may read: the subject key (t.id) and
// the mapping table, schema-qualified, and never the column's own value (t.c): a code
// must not be derived from information about the individual (164.514(c)(1)). Every
// function, operator and type is pg_catalog's, as for every other transform.
func assertCodeLookup(t *testing.T, expr string) {
	t.Helper()
	tree, err := pg_query.Parse("SELECT " + expr + " AS c FROM t")
	if err != nil {
		t.Errorf("generated SQL does not parse: %v", err)
		return
	}
	allowed := []string{"t.id", "c.code", "c.subject", "s.subject"}
	tables, sublinks := 0, 0
	walk(tree.Stmts[0].Stmt.GetSelectStmt().TargetList[0].ProtoReflect(), func(m proto.Message) {
		switch n := m.(type) {
		case *pg_query.RangeVar:
			tables++
			if n.Schemaname != CodeSchema || n.Relname != CodeTable || n.Catalogname != "" {
				t.Errorf("code reads %s.%s in %s", n.Schemaname, n.Relname, expr)
			}
		case *pg_query.SubLink:
			sublinks++
			if n.SubLinkType != pg_query.SubLinkType_EXPR_SUBLINK {
				t.Errorf("%v in %s", n.SubLinkType, expr)
			}
		case *pg_query.ColumnRef:
			var parts []string
			for _, f := range n.Fields {
				parts = append(parts, f.GetString_().GetSval())
			}
			if r := strings.Join(parts, "."); !slices.Contains(allowed, r) {
				t.Errorf("reference to %s in %s", r, expr)
			}
		case *pg_query.FuncCall:
			if len(n.Funcname) != 2 || n.Funcname[0].GetString_().GetSval() != "pg_catalog" {
				t.Errorf("unqualified function %v in %s", n.Funcname, expr)
			}
		case *pg_query.A_Expr:
			if len(n.Name) != 2 || n.Name[0].GetString_().GetSval() != "pg_catalog" {
				t.Errorf("unqualified operator %v in %s", n.Name, expr)
			}
		case *pg_query.TypeName:
			if len(n.Names) != 2 || n.Names[0].GetString_().GetSval() == "" {
				t.Errorf("type %v in %s may resolve through search_path", n.Names, expr)
			}
		case *pg_query.ParamRef, *pg_query.CollateClause:
			t.Errorf("%T in %s", m, expr)
		}
	})
	if tables != 1 || sublinks != 1 {
		t.Errorf("code reads %d tables in %d subqueries, want one of each: %s", tables, sublinks, expr)
	}
}
