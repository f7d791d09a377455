package config

import (
	"strings"
	"testing"
)

// whereDoc exercises the TOML the locator must follow. Its lines are numbered in the
// comments at their ends where a test looks them up.
const whereDoc = `# a comment with [brackets] and key = "value"
[server]                                     # 2
listen = "127.0.0.1:6432"                    # 3

[tables."clinic.patients"]                   # 5
subject_key = "id"                           # 6
columns = { id = "none", ssn = "ssn" }       # 7

[tables.'clinic.notes']                      # 9
columns.body = "free_text"                   # 10
"columns"."note_type" = "none"               # 11

[roles.support]                              # 13
profile = "minimum_necessary"                # 14
tables = [                                   # 15
  "clinic.patients",                         # 16
  # "clinic.claims",
  "clinic.notes",                            # 18
]
rows = { "clinic.notes" = "note_type <> 'x, y}'" }  # 20
note = """
[users.fake]
profile = "not a key"
"""                                          # 24
literal = '''
tables = ["not", "keys"]
'''                                          # 27
transforms = { ssn = "partial(0, 4)", birth_date = 'expr("a, b")' }  # 28

[roles]                                      # 30
analyst.profile = "safe_harbor"              # 31
analyst.tables = [["nested", "arrays"], { inline = "table" }, 1979-05-27 07:32:00]  # 32

[users.alice]                                # 34
password = "SCRAM-SHA-256$4096:a==$b=:c=" # \" quote
role = "support"                             # 36
`

func TestWhereFindsTheLineOfAKeyPath(t *testing.T) {
	c := &Config{Path: "pgmask.toml", lines: indexLines(whereDoc)}
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"server"}, "pgmask.toml:2"},
		{[]string{"server", "listen"}, "pgmask.toml:3"},
		{[]string{"tables", "clinic.patients"}, "pgmask.toml:5"},
		{[]string{"tables", "clinic.patients", "subject_key"}, "pgmask.toml:6"},
		{[]string{"tables", "clinic.patients", "columns", "ssn"}, "pgmask.toml:7"},
		{[]string{"tables", "clinic.notes"}, "pgmask.toml:9"},
		{[]string{"tables", "clinic.notes", "columns", "body"}, "pgmask.toml:10"},
		{[]string{"tables", "clinic.notes", "columns", "note_type"}, "pgmask.toml:11"},
		{[]string{"roles", "support", "profile"}, "pgmask.toml:14"},
		{[]string{"roles", "support", "tables"}, "pgmask.toml:15"},
		{[]string{"roles", "support", "tables", "[0]"}, "pgmask.toml:16"},
		{[]string{"roles", "support", "tables", "[1]"}, "pgmask.toml:18"},
		{[]string{"roles", "support", "rows", "clinic.notes"}, "pgmask.toml:20"},
		{[]string{"roles", "support", "transforms", "birth_date"}, "pgmask.toml:28"},
		{[]string{"roles", "analyst"}, "pgmask.toml:31"},
		{[]string{"roles", "analyst", "tables"}, "pgmask.toml:32"},
		{[]string{"roles", "analyst", "tables", "[1]", "inline"}, "pgmask.toml:32"},
		{[]string{"users", "alice", "role"}, "pgmask.toml:36"},
	}
	for _, tt := range tests {
		if got := c.Where(tt.path...); got != tt.want {
			t.Errorf("Where(%s) = %q, want %q", KeyPath(tt.path...), got, tt.want)
		}
	}
}

func TestWhereDoesNotMistakeStringsOrCommentsForKeys(t *testing.T) {
	c := &Config{Path: "pgmask.toml", lines: indexLines(whereDoc)}
	tests := []struct {
		path []string
		want string
		why  string
	}{
		{[]string{"users", "fake"}, "pgmask.toml:34", "a header inside a multi-line string is not a table"},
		{[]string{"roles", "support", "note"}, "pgmask.toml:21", "a multi-line string is placed where it starts"},
		{[]string{"roles", "support", "literal"}, "pgmask.toml:25", "a literal multi-line string is placed where it starts"},
		{[]string{"roles", "support", "tables", "[2]"}, "pgmask.toml:15", "a commented-out element is not an element"},
		{[]string{"server", "key"}, "pgmask.toml:2", "a key in a comment is not a key"},
	}
	for _, tt := range tests {
		if got := c.Where(tt.path...); got != tt.want {
			t.Errorf("Where(%s) = %q, want %q: %s", KeyPath(tt.path...), got, tt.want, tt.why)
		}
	}
}

func TestWherePlacesAMissingKeyAtItsNearestWrittenAncestor(t *testing.T) {
	c := &Config{Path: "pgmask.toml", lines: indexLines(whereDoc)}
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"server", "tls_cert"}, "pgmask.toml:2"},
		{[]string{"roles", "support", "read_only"}, "pgmask.toml:13"},
		{[]string{"upstream", "database"}, "pgmask.toml"},
		{nil, "pgmask.toml"},
	}
	for _, tt := range tests {
		if got := c.Where(tt.path...); got != tt.want {
			t.Errorf("Where(%s) = %q, want %q", KeyPath(tt.path...), got, tt.want)
		}
	}
}

func TestWhereOfAConfigBuiltInCodeIsEmpty(t *testing.T) {
	var c Config
	if got := c.Where("server", "listen"); got != "" {
		t.Errorf("Where = %q, want empty", got)
	}
	c.lines = indexLines("[server]\nlisten = 1\n")
	if got := c.Where("server", "listen"); got != "line 2" {
		t.Errorf("Where without a file name = %q, want %q", got, "line 2")
	}
}

func TestWhereSurvivesMalformedInput(t *testing.T) {
	// The locator only runs on text the decoder accepted, but it must never hang or
	// panic on anything.
	for _, src := range []string{
		"", "[", "[[", "a", "a =", `a = "`, `a = """`, "a = '''", "a = [", "a = {", "a = { b",
		"a = [1,", "a = { b = }", `"`, "'", "a.", "[a.]", "=", "a = [ } ]", "\\",
		strings.Repeat("[", 100),
	} {
		indexLines(src)
	}
}

func FuzzIndexLines(f *testing.F) {
	f.Add(whereDoc)
	f.Fuzz(func(t *testing.T, src string) {
		for k, line := range indexLines(src) {
			if line < 1 || line > strings.Count(src, "\n")+1 {
				t.Fatalf("key %q on line %d of a %d-line text", k, line, strings.Count(src, "\n")+1)
			}
		}
	})
}

func TestKeyPathQuotesWhatIsNotABareKey(t *testing.T) {
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"roles", "support", "profile"}, "roles.support.profile"},
		{[]string{"tables", "clinic.notes", "columns", "body"}, `tables."clinic.notes".columns.body`},
		{[]string{"roles", "support", "tables", "[2]"}, "roles.support.tables"},
		{[]string{"users", "alice@example.com"}, `users."alice@example.com"`},
		{[]string{"users", ""}, `users.""`},
	}
	for _, tt := range tests {
		if got := KeyPath(tt.path...); got != tt.want {
			t.Errorf("KeyPath(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
}
