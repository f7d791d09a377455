// Package config is the pgmask file format: the TOML structures a DBA writes, their
// defaults, loading and validation. It is the first step of the data flow
// config → rewriter → proxy → cmd/pgmask and must never open a network connection or
// know anything about SQL beyond what validation needs.
package config

import (
	"strings"
	"time"
)

// Config is one pgmask.toml file.
type Config struct {
	Server   Server           `toml:"server"`
	Upstream Upstream         `toml:"upstream"`
	Masking  Masking          `toml:"masking"`
	Tables   map[string]Table `toml:"tables"`
	Roles    map[string]Role  `toml:"roles"`
	Users    map[string]User  `toml:"users"`
	Audit    Audit            `toml:"audit"`

	// Path is the file the configuration was loaded from ("" when built in code).
	Path string `toml:"-"`

	// lines locates keys in the source for error messages (nil when built in code).
	lines lineIndex
}

// Server is the client-facing side of the proxy.
type Server struct {
	Listen          string   `toml:"listen"`
	TLSCert         string   `toml:"tls_cert"`
	TLSKey          string   `toml:"tls_key"`
	RequireTLS      bool     `toml:"require_tls"`
	MaxMessageBytes int      `toml:"max_message_bytes"`
	StartupTimeout  Duration `toml:"startup_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// MetricsListen is where Prometheus metrics, /healthz and /readyz are served, on a
	// listener of their own; "" serves none.
	MetricsListen string `toml:"metrics_listen"`
}

// Upstream is the PostgreSQL server pgmask connects to on behalf of its clients.
type Upstream struct {
	// Address is host:port, or a Unix-socket directory and port
	// ("/var/run/postgresql:5432", the socket file being .s.PGSQL.5432 in it, as in libpq).
	Address      string `toml:"address"`
	Database     string `toml:"database"`
	User         string `toml:"user"`
	Password     string `toml:"password"`
	PasswordEnv  string `toml:"password_env"`
	PasswordFile string `toml:"password_file"`
	SSLMode      string `toml:"sslmode"`
	SSLRootCert  string `toml:"sslrootcert"`
	// SearchPath is pinned on every upstream session; clients cannot change it, so
	// pgmask resolves unqualified names exactly as PostgreSQL will.
	SearchPath string `toml:"search_path"`
	// CatalogRefresh is how often pgmask rereads the upstream's schema.
	CatalogRefresh Duration `toml:"catalog_refresh"`
}

// UnixSocket reports whether Address names a Unix-socket directory rather than a host.
func (u Upstream) UnixSocket() bool { return strings.HasPrefix(u.Address, "/") }

// Masking holds what the masking transforms need besides the policy: the master key of
// the keyed transforms (hash, date_shift) and the Safe Harbor ZIP3 list.
type Masking struct {
	// KeyEnv and KeyFile name where the master key is: hex (at least 32 digits) or raw
	// bytes (at least 16). Every pgmask instance must share it for hashes to stay
	// joinable across restarts and instances.
	KeyEnv  string `toml:"key_env"`
	KeyFile string `toml:"key_file"`
	// Zip3File replaces the restricted three-digit ZIP prefixes shipped with pgmask.
	Zip3File string `toml:"zip3_file"`
}

// Audit is the disclosure audit log: where records go, the key of their tamper-evident
// chain, and when pgmask stops disclosing because the log cannot keep up. The fields
// mirror proxy/audit.Config, which the proxy fills from this section (this package may
// not import it); docs/audit.md describes the log, docs/configuration.md every key.
type Audit struct {
	// Sink is "file" (the default), "postgres", or "off".
	Sink string `toml:"sink"`

	// File sink: the active file and when to rotate it.
	Path     string   `toml:"path"`
	MaxBytes int64    `toml:"max_bytes"`
	MaxAge   Duration `toml:"max_age"`

	// PostgreSQL sink: where the connection string of pgmask's admin identity is
	// (exactly one of the two), and this instance's chain name.
	DSNEnv  string `toml:"dsn_env"`
	DSNFile string `toml:"dsn_file"`
	Chain   string `toml:"chain"`

	// KeyEnv or KeyFile hold the initial chain key; with neither, KeyEnv is
	// DefaultAuditKeyEnv.
	KeyEnv            string   `toml:"key_env"`
	KeyFile           string   `toml:"key_file"`
	RotateKeyEvery    int      `toml:"rotate_key_every"`
	RotateKeyInterval Duration `toml:"rotate_key_interval"`

	// Fail closed past QueueLimit waiting records; write batches of BatchSize, at
	// least every FlushInterval.
	QueueLimit    int      `toml:"queue_limit"`
	BatchSize     int      `toml:"batch_size"`
	FlushInterval Duration `toml:"flush_interval"`
}

// Table classifies the columns of one relation ("schema.table").
type Table struct {
	// SubjectKey names the column that identifies the patient (the HIPAA "individual").
	SubjectKey string `toml:"subject_key"`
	// Columns maps column name to its category (name, ssn, birth_date, ..., none).
	Columns map[string]string `toml:"columns"`
}

// Role is what a kind of caller may see.
type Role struct {
	Profile    string            `toml:"profile"`
	Tables     []string          `toml:"tables"`
	Transforms map[string]string `toml:"transforms"` // category → transform
	Columns    map[string]string `toml:"columns"`    // "schema.table.column" → transform
	Rows       map[string]string `toml:"rows"`       // "schema.table" → SQL boolean expression
	Functions  []string          `toml:"functions"`
	Statements []string          `toml:"statements"`
	// ReadOnly defaults to true for every profile but full; nil means "not set".
	// CheckAndSetDefaults fills it in.
	ReadOnly *bool `toml:"read_only"`

	// UpstreamUser is the PostgreSQL user pgmask connects as for this role's sessions,
	// with its password given by one of the three keys below; "" means [upstream] user.
	UpstreamUser         string `toml:"upstream_user"`
	UpstreamPassword     string `toml:"upstream_password"`
	UpstreamPasswordEnv  string `toml:"upstream_password_env"`
	UpstreamPasswordFile string `toml:"upstream_password_file"`

	// DataUseAgreement names the data use agreement a limited_data_set role discloses
	// under (45 CFR 164.514(e)(4)); required for that profile and written into every
	// audit record of the role.
	DataUseAgreement string `toml:"data_use_agreement"`
	// Expires is when the role's access ends (for a limited data set, when its data use
	// agreement ends); nil means never. Written like users.X.expires (see expires.go).
	Expires *time.Time `toml:"expires"`
}

// ExpiresAt returns when the role's access ends, and false when it never does.
func (r Role) ExpiresAt() (time.Time, bool) { return expiresAt(r.Expires) }

// IsReadOnly reports whether the role may only run statements that do not write
// (see IsWriteStatement). An unset read_only is read-only unless the profile is full.
func (r Role) IsReadOnly() bool {
	if r.ReadOnly != nil {
		return *r.ReadOnly
	}
	return r.Profile != ProfileFull
}

// User is someone who may connect to pgmask.
type User struct {
	// Password is a SCRAM-SHA-256 verifier in PostgreSQL's own format:
	// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
	Password string `toml:"password"`
	Role     string `toml:"role"`
	// Expires is when the user's access ends; nil means never. The file may give an
	// offset datetime, a local datetime (taken as UTC) or a local date (access lasts
	// through that day in UTC, i.e. it ends at the following midnight UTC); Parse turns
	// all three into this one instant (see expires.go).
	Expires *time.Time `toml:"expires"`

	// Purposes maps a purpose of use the user may declare (SET pgmask.purpose) to the
	// role it gives; see Purposes for the names.
	Purposes map[string]string `toml:"purposes"`
	// BreakGlass, when set, lets the user elevate to another role in an emergency
	// (SET pgmask.break_glass = 'justification') for at most its Max.
	BreakGlass *BreakGlass `toml:"break_glass"`
}

// ExpiresAt returns when the user's access ends, and false when it never does.
func (u User) ExpiresAt() (time.Time, bool) { return expiresAt(u.Expires) }

func expiresAt(t *time.Time) (time.Time, bool) {
	if t == nil {
		return time.Time{}, false
	}
	return *t, true
}

// BreakGlass is a user's emergency elevation: the role and how long it may last.
type BreakGlass struct {
	Role string   `toml:"role"`
	Max  Duration `toml:"max"`
}

// Duration is a time.Duration written in TOML as a Go duration string ("30s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler for TOML strings.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
