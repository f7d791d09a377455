package catalog

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgconn"
)

// writeFixture regenerates rewriter/testdata/catalog.json from a live server:
//
//	PGMASK_CATALOG_DSN='host=/tmp port=5432 dbname=clinic' go test ./proxy/catalog -write-fixture
//
// after loading rewriter/testdata/schema.sql into that database.
var writeFixture = flag.Bool("write-fixture", false, "write rewriter/testdata/catalog.json from PGMASK_CATALOG_DSN")

func TestLoadReadsTheClinicSchemaFromALiveServer(t *testing.T) {
	dsn := os.Getenv("PGMASK_CATALOG_DSN")
	if dsn == "" {
		t.Skip("set PGMASK_CATALOG_DSN to a database holding rewriter/testdata/schema.sql")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	cat, err := Load(ctx, conn, 7)
	if err != nil {
		t.Fatal(err)
	}
	if cat.Version != 7 {
		t.Errorf("Version = %d, want 7", cat.Version)
	}
	p := cat.Relation("clinic", "patients")
	if p == nil || len(p.Columns) != 13 || p.Columns[5].Name != "dob" || p.Columns[5].Type != "date" {
		t.Fatalf("clinic.patients = %+v", p)
	}
	if r := cat.Relation("pg_catalog", "pg_class"); r == nil || r.Kind != "r" {
		t.Errorf("pg_catalog.pg_class = %+v", r)
	}
	v := cat.Relation("clinic", "vitals_2024")
	if v == nil || len(v.Parents) != 1 || cat.RelationByOID(v.Parents[0]).Name != "vitals" {
		t.Errorf("clinic.vitals_2024 = %+v", v)
	}
	view := cat.Relation("clinic", "patient_names")
	if view == nil || len(view.Reads) != 1 || view.Reads[0] != p.OID {
		t.Errorf("clinic.patient_names = %+v", view)
	}
	idx := cat.Relation("clinic", "patients_mrn_key")
	if idx == nil || idx.Owner != p.OID {
		t.Errorf("clinic.patients_mrn_key = %+v", idx)
	}
	if *writeFixture {
		d, err := read(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.MarshalIndent(d, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../../rewriter/testdata/catalog.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildTurnsTextRowsIntoCatalogData(t *testing.T) {
	row := func(f ...string) [][]byte {
		out := make([][]byte, len(f))
		for i, s := range f {
			out[i] = []byte(s)
		}
		return out
	}
	d, err := build(map[string][][][]byte{
		"schemas":    {row("11", "pg_catalog"), row("2200", "public")},
		"relations":  {row("16400", "2200", "t", "r"), row("16405", "2200", "t_pkey", "i"), row("16410", "2200", "c", "r")},
		"columns":    {row("16400", "1", "id", "bigint"), row("16400", "2", "name", "text")},
		"inherits":   {row("16410", "16400")},
		"owners":     {row("16405", "16400")},
		"functions":  {row("16500", "public", "f")},
		"operators":  {row("16501", "public", "===")},
		"types":      {row("16502", "public", "mood", "e", "0", "0"), row("16503", "public", "_mood", "b", "0", "16502")},
		"view reads": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Relations) != 3 || len(d.Relations[0].Columns) != 2 || d.Relations[1].Owner != 16400 || d.Relations[2].Parents[0] != 16400 {
		t.Errorf("relations = %+v", d.Relations)
	}
	if len(d.Functions) != 1 || len(d.Operators) != 1 || d.Types[0].Kind != "e" || d.Types[1].Element != 16502 {
		t.Errorf("functions, operators, types = %+v %+v %+v", d.Functions, d.Operators, d.Types)
	}
	if _, err := build(map[string][][][]byte{"schemas": {row("x", "public")}}); err == nil {
		t.Error("a malformed OID was accepted")
	}
}
