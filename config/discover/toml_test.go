package discover

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// minimal is the smallest rest of a file a proposal loads with.
const minimal = "[upstream]\ndatabase = \"clinic\"\nuser = \"pgmask\"\n\n"

// load parses a rendered proposal as pgmask would.
func load(t *testing.T, proposal string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(minimal+proposal), "proposal.toml")
	if err != nil {
		t.Fatalf("the proposal does not load: %v\n%s", err, proposal)
	}
	return cfg
}

func TestTheProposalLoadsWithTheClassificationProposed(t *testing.T) {
	props := Propose(clinicTables())
	text := TOML(props)
	cfg := load(t, text)
	for _, p := range props {
		table := p.Schema + "." + p.Name
		got := cfg.Tables[table]
		if got.SubjectKey != p.SubjectKey {
			t.Errorf("%s: subject_key %q, proposed %q", table, got.SubjectKey, p.SubjectKey)
		}
		for _, c := range p.Columns {
			if got.Columns[c.Name] != c.Category {
				t.Errorf("%s.%s: loaded %q, proposed %q", table, c.Name, got.Columns[c.Name], c.Category)
			}
		}
	}

	golden := filepath.Join("testdata", "clinic.toml")
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if text != string(want) {
		t.Errorf("the proposal differs from %s (go test -update rewrites it):\n%s", golden, text)
	}
}

func TestEveryLineSaysHowSureAndWhy(t *testing.T) {
	text := TOML(Propose(clinicTables()))
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if line == "" || strings.HasPrefix(line, "[") || strings.HasPrefix(line, "#") {
			continue
		}
		if _, note, ok := strings.Cut(line, "  # "); !ok || len(note) < 6 || note[1] != '.' || note[4] != ':' {
			t.Errorf("%q has no comment with confidence and reason", line)
		}
	}
	review := TOML([]TableProposal{{Schema: "s", Name: "t", Columns: []ColumnProposal{{"x", Guess{"none", 0.4, "no evidence"}}}}})
	if !strings.Contains(review, `x = "none"  # REVIEW 0.40: no evidence`) {
		t.Errorf("an uncertain column is not marked for review:\n%s", review)
	}
}

func TestAwkwardNamesAreQuotedOrLeftOutSoTheFileStillLoads(t *testing.T) {
	g := Guess{config.CategoryName, 0.9, "name: a person's name\nwith a newline"}
	props := []TableProposal{
		{Schema: "Odd Schema", Name: `Mixed "Case" T\`, SubjectKey: "bad.key", Columns: []ColumnProposal{
			{"Email Address", Guess{config.CategoryEmail, 0.95, "r"}},
			{"tab\there", g},
			{"ünïcode", g},
			{"del\x7f", g},
			{"dotted.name", g},
			{" padded", g},
		}},
		{Schema: "s", Name: "with.dot", Columns: []ColumnProposal{{"a", g}}},
		{Schema: "s", Name: "nothing_usable", Columns: []ColumnProposal{{"a.b", g}}},
	}
	text := TOML(props)
	cfg := load(t, text)
	got := cfg.Tables[`Odd Schema.Mixed "Case" T\`]
	for _, name := range []string{"Email Address", "tab\there", "ünïcode", "del\x7f"} {
		if _, ok := got.Columns[name]; !ok {
			t.Errorf("column %q is missing:\n%s", name, text)
		}
	}
	if len(got.Columns) != 4 || got.SubjectKey != "" || len(cfg.Tables) != 1 {
		t.Errorf("unusable names were not left out: %+v\n%s", cfg.Tables, text)
	}
	for _, want := range []string{`# "dotted.name"   = "name"`, `# subject_key: none proposed (pgmask cannot name the column "bad.key")`, `# s.with.dot: pgmask cannot name this relation`, `# [tables."s.with.dot"]`,
		`# s.nothing_usable: no column pgmask can name`, "a person's name with a newline"} {
		if !strings.Contains(text, want) {
			t.Errorf("the proposal lacks %q:\n%s", want, text)
		}
	}
}
