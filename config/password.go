package config

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// ResolvePassword returns the password pgmask uses for the upstream server, from
// whichever of password, password_env and password_file is set; "" when none is (trust,
// peer or certificate authentication). It is read when a connection is made rather than
// at load time, so a rotated secret is picked up without a reload.
func (u Upstream) ResolvePassword() (string, error) {
	return resolveSecret("upstream.password", u.Password, u.PasswordEnv, u.PasswordFile)
}

// UpstreamCredentials returns the PostgreSQL user and password pgmask connects as for
// the sessions of the named role: the role's upstream_user and upstream_password* when
// it sets them, [upstream] user and password otherwise.
func (c *Config) UpstreamCredentials(role string) (user, password string, err error) {
	r := c.Roles[role]
	if r.UpstreamUser == "" {
		password, err = c.Upstream.ResolvePassword()
		return c.Upstream.User, password, err
	}
	password, err = resolveSecret(KeyPath("roles", role, "upstream_password"),
		r.UpstreamPassword, r.UpstreamPasswordEnv, r.UpstreamPasswordFile)
	return r.UpstreamUser, password, err
}

// resolveSecret reads a secret given inline, by environment variable or by file; key
// names the inline key in errors (its _env and _file variants are named after it).
func resolveSecret(key, value, env, file string) (string, error) {
	switch {
	case value != "":
		return value, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s_env: environment variable %s is not set", key, env)
		}
		if v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is empty", key, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", key, err)
		}
		// Files written with echo or an editor end with a newline that is not part of
		// the password; anything more is kept, since it might be.
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return "", fmt.Errorf("%s_file: %s is empty", key, file)
		}
		return v, nil
	}
	return "", nil
}

// minKeyBytes is the shortest master key accepted for the keyed transforms.
const minKeyBytes = 16

// ResolveKey returns the master key of the keyed transforms, or nil when none is
// configured (key_file unset and the key_env variable unset or empty).
func (m Masking) ResolveKey() ([]byte, error) {
	v, err := resolveSecret("masking.key", "", m.KeyEnv, m.KeyFile)
	if err != nil || v == "" {
		if err != nil && m.KeyFile == "" && os.Getenv(m.KeyEnv) == "" {
			return nil, nil // an unset variable just means "no key configured"
		}
		return nil, err
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) >= minKeyBytes {
		return b, nil
	}
	if len(v) < minKeyBytes {
		return nil, fmt.Errorf("masking: the master key is %d bytes; use at least %d random bytes (or %d hex digits)", len(v), minKeyBytes, 2*minKeyBytes)
	}
	return []byte(v), nil
}
