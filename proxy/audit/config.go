package audit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Sink kinds of Config.Sink.
const (
	SinkFile     = "file"
	SinkPostgres = "postgres"
	SinkOff      = "off"
)

// Config is the [audit] section of pgmask.toml, as plain data: package config (which may
// import only the standard library and toml) declares the TOML form and copies it into
// this struct, so the file format and the behaviour stay in their own packages. The
// comments name the TOML keys; docs/audit.md documents them.
type Config struct {
	// Sink is "file" (the default), "postgres", or "off" (no audit: for demos only;
	// pgmask then keeps no record of what it disclosed). Key: sink.
	Sink string

	// Path is the active log file of the file sink; rotated files are written next to
	// it as <stem>-<UTC timestamp><ext>. Default "pgmask-audit.jsonl". Key: path.
	Path string
	// MaxBytes rotates the file when it reaches this size. Default 64 MiB. Key: max_bytes.
	MaxBytes int64
	// MaxAge rotates a non-empty file this long after it was started. Default 24h.
	// Key: max_age.
	MaxAge time.Duration

	// DSNEnv or DSNFile (exactly one, for the postgres sink) hold the connection string
	// of pgmask's admin identity, which owns the pgmask_audit schema. Keys: dsn_env,
	// dsn_file.
	DSNEnv, DSNFile string
	// Chain names this pgmask instance's chain in the table, so that several instances
	// can share it. Default: the host name. Key: chain.
	Chain string

	// KeyEnv or KeyFile (exactly one) hold the initial chain key: hex (at least 32 hex
	// digits) or, if it is not all hex, raw bytes (at least 16). A file's trailing
	// newline is ignored. Keys: key_env, key_file.
	KeyEnv, KeyFile string
	// RotateKeyEvery rotates the key after this many records; 0 means only by time.
	// Default 10000. Key: rotate_key_every.
	RotateKeyEvery int
	// RotateKeyInterval rotates the key at least this often, and at every file rotation.
	// Default 1h. Key: rotate_key_interval.
	RotateKeyInterval time.Duration

	// QueueLimit is how many records may wait for the sink before pgmask refuses
	// statements (fail closed). Default 10000. Key: queue_limit.
	QueueLimit int
	// BatchSize writes a batch as soon as this many records are queued. Default 256.
	// Key: batch_size.
	BatchSize int
	// FlushInterval writes whatever is queued at least this often. Default 50ms.
	// Key: flush_interval.
	FlushInterval time.Duration

	// Not in the file: tests shorten them.
	RetryMin, RetryMax time.Duration // backoff between failed writes; 100ms and 5s
	CloseTimeout       time.Duration // how long Close keeps retrying; 5s
}

// Defaults of Config.
const (
	DefaultPath              = "pgmask-audit.jsonl"
	DefaultMaxBytes          = 64 << 20
	DefaultMaxAge            = 24 * time.Hour
	DefaultRotateKeyEvery    = 10000
	DefaultRotateKeyInterval = time.Hour
	DefaultQueueLimit        = 10000
	DefaultBatchSize         = 256
	DefaultFlushInterval     = 50 * time.Millisecond
)

// CheckAndSetDefaults validates c and fills in the defaults. Errors name the TOML key.
func (c *Config) CheckAndSetDefaults() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("audit.%s: "+format, append([]any{key}, args...)...))
	}
	if c.Sink == "" {
		c.Sink = SinkFile
	}
	switch c.Sink {
	case SinkOff:
		return nil
	case SinkFile:
		if c.Path == "" {
			c.Path = DefaultPath
		}
		if c.MaxBytes == 0 {
			c.MaxBytes = DefaultMaxBytes
		}
		if c.MaxBytes < 4096 {
			bad("max_bytes", "must be at least 4096, got %d", c.MaxBytes)
		}
		if c.MaxAge == 0 {
			c.MaxAge = DefaultMaxAge
		}
		if c.MaxAge < 0 {
			bad("max_age", "must not be negative")
		}
	case SinkPostgres:
		if (c.DSNEnv == "") == (c.DSNFile == "") {
			bad("dsn_env", "exactly one of dsn_env and dsn_file is required with sink = %q", SinkPostgres)
		}
		if c.Chain == "" {
			host, err := os.Hostname()
			if err != nil || host == "" {
				bad("chain", "required: the host name is unknown (%v)", err)
			}
			c.Chain = host
		}
	default:
		bad("sink", "want %q, %q or %q, got %q", SinkFile, SinkPostgres, SinkOff, c.Sink)
	}
	if (c.KeyEnv == "") == (c.KeyFile == "") {
		bad("key_env", "exactly one of key_env and key_file is required")
	}
	if c.RotateKeyEvery == 0 {
		c.RotateKeyEvery = DefaultRotateKeyEvery
	}
	if c.RotateKeyEvery < 0 {
		bad("rotate_key_every", "must not be negative")
	}
	if c.RotateKeyInterval == 0 {
		c.RotateKeyInterval = DefaultRotateKeyInterval
	}
	if c.RotateKeyInterval < time.Second {
		bad("rotate_key_interval", "must be at least 1s")
	}
	if c.QueueLimit == 0 {
		c.QueueLimit = DefaultQueueLimit
	}
	if c.QueueLimit < 1 {
		bad("queue_limit", "must be positive")
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		bad("batch_size", "must be between 1 and 10000")
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.FlushInterval < time.Millisecond || c.FlushInterval > 10*time.Second {
		bad("flush_interval", "must be between 1ms and 10s")
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 100 * time.Millisecond
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(5*time.Second, c.RetryMin)
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
	return errors.Join(errs...)
}

// Enabled reports whether pgmask keeps an audit log.
func (c *Config) Enabled() bool { return c.Sink != SinkOff }

// LoadKey reads the initial chain key named by KeyEnv or KeyFile.
func (c *Config) LoadKey() ([]byte, error) {
	var raw, from string
	switch {
	case c.KeyEnv != "":
		from = "$" + c.KeyEnv
		v, ok := os.LookupEnv(c.KeyEnv)
		if !ok {
			return nil, fmt.Errorf("audit.key_env: %s is not set", from)
		}
		raw = v
	case c.KeyFile != "":
		from = c.KeyFile
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit.key_file: %w", err)
		}
		raw = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	default:
		return nil, errors.New("audit: no key_env or key_file")
	}
	key, err := ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("audit key from %s: %w", from, err)
	}
	return key, nil
}

// ParseKey decodes a key as LoadKey does: hex if it is all hex digits (at least 32),
// raw bytes otherwise (at least MinKeyBytes).
func ParseKey(s string) ([]byte, error) {
	if len(s) >= 2*MinKeyBytes && len(s)%2 == 0 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	if len(s) < MinKeyBytes {
		return nil, fmt.Errorf("too short: want at least %d bytes or %d hex digits", MinKeyBytes, 2*MinKeyBytes)
	}
	return []byte(s), nil
}

// DSN reads the connection string of the postgres sink.
func (c *Config) DSN() (string, error) {
	if c.DSNEnv != "" {
		v, ok := os.LookupEnv(c.DSNEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("audit.dsn_env: $%s is not set", c.DSNEnv)
		}
		return v, nil
	}
	b, err := os.ReadFile(c.DSNFile)
	if err != nil {
		return "", fmt.Errorf("audit.dsn_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
