package config

import "time"

// Sinks of audit.sink.
const (
	AuditSinkFile     = "file"
	AuditSinkPostgres = "postgres"
	AuditSinkOff      = "off"
)

// AuditSinks are the accepted values of audit.sink.
var AuditSinks = []string{AuditSinkFile, AuditSinkPostgres, AuditSinkOff}

// Defaults of the [audit] section that depend on where the file is. The other defaults
// (sizes, intervals) are proxy/audit's: a zero value here means "its default".
const (
	DefaultAuditPath   = "pgmask-audit.jsonl"
	DefaultAuditKeyEnv = "PGMASK_AUDIT_KEY"
)

// Limits of the [audit] section. proxy/audit.Config checks the same ones when the
// proxy starts; they are repeated here so that `pgmask check` and a reload name the
// line, and a test in proxy holds the two together.
const (
	MinAuditMaxBytes          = 4096
	MinAuditRotateKeyInterval = time.Second
	MaxAuditBatchSize         = 10000
	MinAuditFlushInterval     = time.Millisecond
	MaxAuditFlushInterval     = 10 * time.Second
)

// Enabled reports whether pgmask keeps an audit log (sink is not "off").
func (a Audit) Enabled() bool { return a.Sink != AuditSinkOff }

// audit checks the [audit] section, fills in the sink, the file sink's path and the
// key's environment variable, and makes file names absolute. Whether the key and the
// sink can actually be used is checked when the proxy starts: secrets are often
// mounted only where pgmask runs, while `pgmask check` runs anywhere.
func (v *validator) audit() {
	a := &v.c.Audit
	at := func(k string) []string { return key("audit", k) }
	switch a.Sink {
	case "":
		a.Sink = AuditSinkFile
	case AuditSinkFile, AuditSinkPostgres, AuditSinkOff:
	default:
		v.errorf(at("sink"), "%s", unknown("sink", a.Sink, AuditSinks))
		return
	}
	if a.Sink == AuditSinkOff {
		return // the other keys may stay, so the log can be turned back on by one line
	}
	onlyWith := func(sink string, keys map[string]bool) {
		for _, k := range sortedKeys(keys) {
			if keys[k] {
				v.errorf(at(k), "is used only with sink = %q, not %q", sink, a.Sink)
			}
		}
	}
	if a.Sink == AuditSinkFile {
		onlyWith(AuditSinkPostgres, map[string]bool{"dsn_env": a.DSNEnv != "", "dsn_file": a.DSNFile != "", "chain": a.Chain != ""})
		if a.Path == "" {
			a.Path = DefaultAuditPath
		}
		v.file(at("path"), &a.Path, false)
		if a.MaxBytes != 0 && a.MaxBytes < MinAuditMaxBytes {
			v.errorf(at("max_bytes"), "must be at least %d, got %d", MinAuditMaxBytes, a.MaxBytes)
		}
		v.duration(at("max_age"), &a.MaxAge, 0)
	} else {
		onlyWith(AuditSinkFile, map[string]bool{"path": a.Path != "", "max_bytes": a.MaxBytes != 0, "max_age": a.MaxAge.Duration != 0})
		switch {
		case a.DSNEnv != "" && a.DSNFile != "":
			v.errorf(at("dsn_file"), "set only one of dsn_env and dsn_file")
		case a.DSNEnv == "" && a.DSNFile == "":
			v.errorf(at("sink"), "sink = %q needs dsn_env or dsn_file: the connection string of pgmask's admin identity", AuditSinkPostgres)
		}
		v.file(at("dsn_file"), &a.DSNFile, false)
	}

	switch {
	case a.KeyEnv != "" && a.KeyFile != "":
		v.errorf(at("key_file"), "set only one of key_env and key_file")
	case a.KeyEnv == "" && a.KeyFile == "":
		a.KeyEnv = DefaultAuditKeyEnv
	}
	v.file(at("key_file"), &a.KeyFile, false)
	if a.RotateKeyEvery < 0 {
		v.errorf(at("rotate_key_every"), "must not be negative, got %d", a.RotateKeyEvery)
	}
	if d := a.RotateKeyInterval.Duration; d != 0 && d < MinAuditRotateKeyInterval {
		v.errorf(at("rotate_key_interval"), "must be at least %s, got %s", MinAuditRotateKeyInterval, d)
	}
	if a.QueueLimit < 0 {
		v.errorf(at("queue_limit"), "must be positive, got %d", a.QueueLimit)
	}
	if a.BatchSize < 0 || a.BatchSize > MaxAuditBatchSize {
		v.errorf(at("batch_size"), "must be from 1 to %d, got %d", MaxAuditBatchSize, a.BatchSize)
	}
	if d := a.FlushInterval.Duration; d != 0 && (d < MinAuditFlushInterval || d > MaxAuditFlushInterval) {
		v.errorf(at("flush_interval"), "must be from %s to %s, got %s", MinAuditFlushInterval, MaxAuditFlushInterval, d)
	}
}
