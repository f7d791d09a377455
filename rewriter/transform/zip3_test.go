package transform

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultZip3IsTheHHSListFrom2000Census(t *testing.T) {
	z := DefaultZip3()
	want := []string{"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830",
		"831", "878", "879", "884", "890", "893"}
	if !reflect.DeepEqual(z.Prefixes, want) {
		t.Errorf("prefixes = %v, want %v", z.Prefixes, want)
	}
	if z.Vintage != "2000 Census" {
		t.Errorf("vintage = %q, want %q", z.Vintage, "2000 Census")
	}
}

func TestLoadZip3ReadsAReplacementFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zip3.txt")
	if err := os.WriteFile(path, []byte("# vintage: 2020 Census (local review)\n\n123\n  456  \n# comment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	z, err := LoadZip3(path)
	if err != nil {
		t.Fatal(err)
	}
	if z.Vintage != "2020 Census (local review)" || !reflect.DeepEqual(z.Prefixes, []string{"123", "456"}) {
		t.Errorf("LoadZip3 = %+v", z)
	}
}

func TestLoadZip3RefusesBadFilesWithTheLine(t *testing.T) {
	for _, c := range []struct{ content, wantErr string }{
		{"036\n", `missing "# vintage: <Census data>" line`},
		{"# vintage: 2000\n036\n12\n", `:3: "12" is not a three-digit ZIP prefix`},
		{"# vintage: 2000\n0360\n", `:2: "0360" is not a three-digit ZIP prefix`},
		{"# vintage: 2000\nabc\n", `:2: "abc" is not a three-digit ZIP prefix`},
		{"# vintage: 2000\n036 # note\n", `:2:`},
		{"# vintage: 2000\n036\n036\n", ":3: prefix 036 already listed on line 2"},
		{"# vintage: 2000\n# vintage: 2010\n", ":2: second vintage line"},
		{"# vintage:\n", ":1: empty vintage"},
	} {
		path := filepath.Join(t.TempDir(), "zip3.txt")
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadZip3(path)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("LoadZip3(%q) = %v, want an error containing %q", c.content, err, c.wantErr)
		}
	}
	if _, err := LoadZip3(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("LoadZip3 of a missing file succeeded")
	}
}
