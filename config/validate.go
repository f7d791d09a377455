package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults and limits of the [server] and [upstream] sections.
const (
	DefaultListen          = "127.0.0.1:6432"
	DefaultMaxMessageBytes = 64 << 20
	MinMaxMessageBytes     = 1024    // below this not even a startup message fits
	MaxMaxMessageBytes     = 1 << 30 // PostgreSQL's own limit for one message
	DefaultStartupTimeout  = 30 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultUpstreamAddress = "127.0.0.1:5432"
	DefaultSSLMode         = "prefer"
	DefaultSearchPath      = `"$user", public`
	DefaultCatalogRefresh  = time.Minute
	DefaultMaskKeyEnv      = "PGMASK_MASK_KEY"
)

// SSLModes are the accepted values of upstream.sslmode, with libpq's meaning. allow and
// verify-ca are left out: one silently falls back to clear text, the other accepts any
// certificate from the right CA whatever host it names.
var SSLModes = []string{"disable", "prefer", "require", "verify-full"}

// CheckAndSetDefaults validates the configuration and fills in defaults, in one pass
// so that what is checked is exactly what is used. It reports every problem, not just
// the first (see Error). Relative file names are made absolute against the directory
// of Path. It is idempotent; Parse calls it, code that builds a Config calls it too.
func (c *Config) CheckAndSetDefaults() error { return c.check().join() }

func (c *Config) check() errorList {
	v := &validator{c: c}
	v.server()
	v.upstream()
	v.masking()
	v.tables()
	v.roles()
	v.users()
	v.audit()
	return v.errs
}

type validator struct {
	c    *Config
	errs errorList
}

func (v *validator) errorf(path []string, format string, args ...any) {
	v.errs.add(v.c.errorAt(path, fmt.Sprintf(format, args...)))
}

func key(path ...string) []string { return path }

func (v *validator) server() {
	s := &v.c.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	} else if err := checkHostPort(s.Listen, true); err != nil {
		v.errorf(key("server", "listen"), "%v", err)
	}
	if s.MetricsListen != "" {
		if err := checkHostPort(s.MetricsListen, true); err != nil {
			v.errorf(key("server", "metrics_listen"), "%v", err)
		} else if s.MetricsListen == s.Listen && !strings.HasSuffix(s.Listen, ":0") {
			v.errorf(key("server", "metrics_listen"), "must differ from server.listen (%s): metrics are served on a listener of their own", s.Listen)
		}
	}
	switch {
	case s.MaxMessageBytes == 0:
		s.MaxMessageBytes = DefaultMaxMessageBytes
	case s.MaxMessageBytes < MinMaxMessageBytes || s.MaxMessageBytes > MaxMaxMessageBytes:
		v.errorf(key("server", "max_message_bytes"), "must be from %d to %d (1 GiB), got %d", MinMaxMessageBytes, MaxMaxMessageBytes, s.MaxMessageBytes)
	}
	v.duration(key("server", "startup_timeout"), &s.StartupTimeout, DefaultStartupTimeout)
	v.duration(key("server", "idle_timeout"), &s.IdleTimeout, 0)
	v.duration(key("server", "shutdown_timeout"), &s.ShutdownTimeout, DefaultShutdownTimeout)

	switch {
	case s.TLSCert != "" && s.TLSKey == "":
		v.errorf(key("server", "tls_cert"), "server.tls_key is required with server.tls_cert")
	case s.TLSCert == "" && s.TLSKey != "":
		v.errorf(key("server", "tls_key"), "server.tls_cert is required with server.tls_key")
	}
	v.file(key("server", "tls_cert"), &s.TLSCert, true)
	v.file(key("server", "tls_key"), &s.TLSKey, true)
	if s.RequireTLS && s.TLSCert == "" {
		v.errorf(key("server", "require_tls"), "needs server.tls_cert and server.tls_key")
	}
}

// duration fills a zero duration with def and rejects negative ones.
func (v *validator) duration(path []string, d *Duration, def time.Duration) {
	switch {
	case d.Duration < 0:
		v.errorf(path, "must not be negative, got %s", d.Duration)
	case d.Duration == 0:
		d.Duration = def
	}
}

func (v *validator) upstream() {
	u := &v.c.Upstream
	if u.Address == "" {
		u.Address = DefaultUpstreamAddress
	} else if err := checkHostPort(u.Address, false); err != nil {
		v.errorf(key("upstream", "address"), "%v", err)
	}
	if u.Database == "" {
		v.errorf(key("upstream", "database"), "required: the database pgmask connects to")
	}
	if u.User == "" {
		v.errorf(key("upstream", "user"), "required: the PostgreSQL user pgmask connects as")
	}
	v.secret([]string{"upstream"}, "password", u.Password, u.PasswordEnv, &u.PasswordFile)
	if u.SearchPath == "" {
		u.SearchPath = DefaultSearchPath
	}
	v.duration(key("upstream", "catalog_refresh"), &u.CatalogRefresh, DefaultCatalogRefresh)

	if u.SSLMode == "" {
		u.SSLMode = DefaultSSLMode
	} else if !slices.Contains(SSLModes, u.SSLMode) {
		v.errorf(key("upstream", "sslmode"), "%s", unknown("sslmode", u.SSLMode, SSLModes))
	}
	if u.SSLRootCert != "" && u.SSLMode != "verify-full" && u.SSLMode != "require" {
		v.errorf(key("upstream", "sslrootcert"), "is used only with sslmode verify-full or require, not %q", u.SSLMode)
	}
	if u.UnixSocket() && (u.SSLMode == "require" || u.SSLMode == "verify-full") {
		v.errorf(key("upstream", "sslmode"), "%q needs TLS, which a Unix socket (address %q) does not use; set sslmode = \"disable\" or connect over TCP", u.SSLMode, u.Address)
	}
	v.file(key("upstream", "sslrootcert"), &u.SSLRootCert, true)
}

// file makes a relative file name absolute against the directory of the configuration
// file, so the proxy finds it whatever its working directory, and, when mustExist,
// checks that it is there. password_file is not checked here: secrets are often
// mounted only where pgmask runs, while `pgmask check` runs anywhere.
func (v *validator) file(path []string, name *string, mustExist bool) {
	if *name == "" {
		return
	}
	if !filepath.IsAbs(*name) && v.c.Path != "" {
		dir := filepath.Dir(v.c.Path)
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		*name = filepath.Join(dir, *name)
	}
	if !mustExist {
		return
	}
	switch info, err := os.Stat(*name); {
	case errors.Is(err, fs.ErrNotExist):
		v.errorf(path, "file %s does not exist", *name)
	case err != nil:
		v.errorf(path, "cannot use file %s: %v", *name, err)
	case info.IsDir():
		v.errorf(path, "%s is a directory, want a file", *name)
	}
}

// checkHostPort checks "host:port"; a listen address may leave out the host (all
// interfaces) and use port 0 (any free port, for tests).
func checkHostPort(s string, listen bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", s)
	}
	if host == "" && !listen {
		return fmt.Errorf("want host:port, got %q without a host", s)
	}
	n, err := strconv.Atoi(port)
	lowest := 1
	if listen {
		lowest = 0
	}
	if err != nil || n < lowest || n > 65535 {
		return fmt.Errorf("port %q of %q must be a number from %d to 65535", port, s, lowest)
	}
	return nil
}

var (
	roleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)
	userName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$`)
)

func (v *validator) users() {
	for _, name := range sortedKeys(v.c.Users) {
		u := v.c.Users[name]
		if !userName.MatchString(name) {
			v.errorf(key("users", name), "user name %q must start with a letter or _, contain only letters, digits, _ . @ -, and be at most 63 characters", name)
		}
		if u.Password == "" {
			v.errorf(key("users", name, "password"), "required: a SCRAM-SHA-256 verifier (make one with `pgmask passwd`)")
		} else if _, err := ParseVerifier(u.Password); err != nil {
			v.errorf(key("users", name, "password"), "%v", err)
		}
		switch _, ok := v.c.Roles[u.Role]; {
		case u.Role == "":
			v.errorf(key("users", name, "role"), "required: the role the user connects as (defined roles: %s)", v.roleList())
		case !ok:
			v.errorf(key("users", name, "role"), "%s", unknown("role", u.Role, sortedKeys(v.c.Roles)))
		}
		v.purposes(name, u)
	}
}

func (v *validator) roleList() string {
	if len(v.c.Roles) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(v.c.Roles), ", ")
}

// secret checks a password given by at most one of NAME, NAME_env and NAME_file under
// the section at path, and makes NAME_file absolute.
func (v *validator) secret(path []string, name, value, env string, file *string) {
	var set []string
	for _, p := range []struct{ name, value string }{
		{name, value}, {name + "_env", env}, {name + "_file", *file},
	} {
		if p.value != "" {
			set = append(set, p.name)
		}
	}
	if len(set) > 1 {
		v.errorf(append(path, set[1]), "set only one of %s, %s_env and %s_file (found %s)", name, name, name, strings.Join(set, ", "))
	}
	v.file(append(path, name+"_file"), file, false)
}

func (v *validator) masking() {
	m := &v.c.Masking
	if m.KeyEnv != "" && m.KeyFile != "" {
		v.errorf(key("masking", "key_file"), "set only one of key_env and key_file")
	}
	if m.KeyEnv == "" && m.KeyFile == "" {
		m.KeyEnv = DefaultMaskKeyEnv
	}
	v.file(key("masking", "key_file"), &m.KeyFile, false)
	v.file(key("masking", "zip3_file"), &m.Zip3File, true)
}
