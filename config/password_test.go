package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolvePasswordReadsWhicheverSourceIsSet(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("PGMASK_TEST_PW", "from-env")
	t.Setenv("PGMASK_TEST_EMPTY", "")
	tests := []struct {
		name    string
		u       Upstream
		want    string
		wantErr string
	}{
		{"no source means no password", Upstream{}, "", ""},
		{"an inline password is used as is", Upstream{Password: " s3cret "}, " s3cret ", ""},
		{"an environment variable is read", Upstream{PasswordEnv: "PGMASK_TEST_PW"}, "from-env", ""},
		{"an unset environment variable is an error", Upstream{PasswordEnv: "PGMASK_TEST_UNSET_VAR"}, "", "upstream.password_env: environment variable PGMASK_TEST_UNSET_VAR is not set"},
		{"an empty environment variable is an error", Upstream{PasswordEnv: "PGMASK_TEST_EMPTY"}, "", "environment variable PGMASK_TEST_EMPTY is empty"},
		{"a file loses one trailing newline", Upstream{PasswordFile: write("nl", "pw\n")}, "pw", ""},
		{"a file loses one trailing CRLF", Upstream{PasswordFile: write("crlf", "pw\r\n")}, "pw", ""},
		{"a file keeps a second newline", Upstream{PasswordFile: write("nl2", "pw\n\n")}, "pw\n", ""},
		{"a file keeps surrounding spaces", Upstream{PasswordFile: write("sp", " pw ")}, " pw ", ""},
		{"an empty file is an error", Upstream{PasswordFile: write("empty", "\n")}, "", "is empty"},
		{"a missing file is an error", Upstream{PasswordFile: filepath.Join(dir, "none")}, "", "upstream.password_file: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.u.ResolvePassword()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			case got != tt.want:
				t.Errorf("password = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestARelativePasswordFileIsReadNextToTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg.pw"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := doc{upstream: okUpstream + "password_file = \"pg.pw\"\n"}.String()
	c, err := Parse([]byte(src), filepath.Join(dir, "pgmask.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Upstream.ResolvePassword(); err != nil || got != "pw" {
		t.Errorf("ResolvePassword() = %q, %v", got, err)
	}
}
