package config

import (
	"fmt"
	"os"
	"strings"
)

// ResolvePassword returns the password pgmask uses for the upstream server, from
// whichever of password, password_env and password_file is set; "" when none is (trust,
// peer or certificate authentication). It is read when a connection is made rather than
// at load time, so a rotated secret is picked up without a reload.
func (u Upstream) ResolvePassword() (string, error) {
	switch {
	case u.Password != "":
		return u.Password, nil
	case u.PasswordEnv != "":
		v, ok := os.LookupEnv(u.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("upstream.password_env: environment variable %s is not set", u.PasswordEnv)
		}
		if v == "" {
			return "", fmt.Errorf("upstream.password_env: environment variable %s is empty", u.PasswordEnv)
		}
		return v, nil
	case u.PasswordFile != "":
		b, err := os.ReadFile(u.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("upstream.password_file: %w", err)
		}
		// Files written with echo or an editor end with a newline that is not part of
		// the password; anything more is kept, since it might be.
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return "", fmt.Errorf("upstream.password_file: %s is empty", u.PasswordFile)
		}
		return v, nil
	}
	return "", nil
}
