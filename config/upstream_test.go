package config

import (
	"strings"
	"testing"
)

func TestARoleConnectsUpstreamAsItsOwnUserWhenItNamesOne(t *testing.T) {
	t.Setenv("PGMASK_TEST_SUPPORT_PW", "s3cret")
	src := doc{
		upstream: okUpstream + "password = \"main-pw\"\n",
		roles: okRoles + `upstream_user = "pgmask_support"
upstream_password_env = "PGMASK_TEST_SUPPORT_PW"

[roles.clinician]
profile = "full"
`,
	}.String()
	c, err := Parse([]byte(src), "pgmask.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ role, user, password string }{
		{"support", "pgmask_support", "s3cret"},
		{"clinician", "pgmask", "main-pw"},
	} {
		user, pw, err := c.UpstreamCredentials(tc.role)
		if err != nil || user != tc.user || pw != tc.password {
			t.Errorf("UpstreamCredentials(%q) = %q, %q, %v; want %q, %q", tc.role, user, pw, err, tc.user, tc.password)
		}
	}
	if c.Upstream.SearchPath != DefaultSearchPath {
		t.Errorf("search_path default = %q, want %q", c.Upstream.SearchPath, DefaultSearchPath)
	}
}

func TestAnUpstreamPasswordWithoutUpstreamUserIsRejected(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{`upstream_password = "x"  # <-`, "roles.support.upstream_user: required"},
		{"upstream_user = \"u\"\nupstream_password = \"x\"\nupstream_password_env = \"Y\"  # <-", "set only one of upstream_password"},
	} {
		src := doc{roles: okRoles + tc.extra + "\n"}.String()
		_, err := Parse([]byte(src), "pgmask.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("with %q: error %v, want it to contain %q", tc.extra, err, tc.want)
		}
	}
}

func TestTheMaskingKeyIsReadFromTheConfiguredSource(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/key"
	for _, tc := range []struct {
		name    string
		m       Masking
		env     string
		want    string
		wantErr string
	}{
		{name: "hex from the environment", m: Masking{KeyEnv: "PGMASK_TEST_KEY"}, env: strings.Repeat("ab", 16), want: strings.Repeat("\xab", 16)},
		{name: "raw bytes from the environment", m: Masking{KeyEnv: "PGMASK_TEST_KEY"}, env: "a long enough raw secret", want: "a long enough raw secret"},
		{name: "an unset variable means no key", m: Masking{KeyEnv: "PGMASK_TEST_KEY"}},
		{name: "a short key is refused", m: Masking{KeyEnv: "PGMASK_TEST_KEY"}, env: "short", wantErr: "at least 16"},
		{name: "a missing file is an error", m: Masking{KeyFile: file + ".missing"}, wantErr: "masking.key_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("PGMASK_TEST_KEY", tc.env)
			}
			got, err := tc.m.ResolveKey()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("ResolveKey() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
