package proxy

import (
	"errors"
	"testing"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/audit"
)

// config checks the [audit] section so that errors name their line; the audit package
// checks it again when the log opens. The two must accept exactly the same values.
func TestConfigAndTheAuditLogAcceptTheSameAuditSettings(t *testing.T) {
	d := func(v time.Duration) config.Duration { return config.Duration{Duration: v} }
	tests := []struct {
		name string
		set  func(*config.Audit)
	}{
		{"the defaults", func(*config.Audit) {}},
		{"max_bytes at its minimum", func(a *config.Audit) { a.MaxBytes = config.MinAuditMaxBytes }},
		{"max_bytes below it", func(a *config.Audit) { a.MaxBytes = config.MinAuditMaxBytes - 1 }},
		{"a negative max_age", func(a *config.Audit) { a.MaxAge = d(-time.Second) }},
		{"rotate_key_interval at its minimum", func(a *config.Audit) { a.RotateKeyInterval = d(config.MinAuditRotateKeyInterval) }},
		{"rotate_key_interval below it", func(a *config.Audit) { a.RotateKeyInterval = d(config.MinAuditRotateKeyInterval - 1) }},
		{"a negative rotate_key_every", func(a *config.Audit) { a.RotateKeyEvery = -1 }},
		{"a queue_limit of one", func(a *config.Audit) { a.QueueLimit = 1 }},
		{"a negative queue_limit", func(a *config.Audit) { a.QueueLimit = -1 }},
		{"batch_size at its maximum", func(a *config.Audit) { a.BatchSize = config.MaxAuditBatchSize }},
		{"batch_size above it", func(a *config.Audit) { a.BatchSize = config.MaxAuditBatchSize + 1 }},
		{"a negative batch_size", func(a *config.Audit) { a.BatchSize = -1 }},
		{"flush_interval at its minimum", func(a *config.Audit) { a.FlushInterval = d(config.MinAuditFlushInterval) }},
		{"flush_interval below it", func(a *config.Audit) { a.FlushInterval = d(config.MinAuditFlushInterval - 1) }},
		{"flush_interval at its maximum", func(a *config.Audit) { a.FlushInterval = d(config.MaxAuditFlushInterval) }},
		{"flush_interval above it", func(a *config.Audit) { a.FlushInterval = d(config.MaxAuditFlushInterval + 1) }},
		{"the postgres sink", func(a *config.Audit) { a.Sink, a.DSNEnv, a.Chain = "postgres", "DSN", "pgmask-1" }},
		{"the postgres sink without a connection string", func(a *config.Audit) { a.Sink, a.Chain = "postgres", "pgmask-1" }},
		{"two keys", func(a *config.Audit) { a.KeyEnv, a.KeyFile = "K", "/k" }},
		{"an unknown sink", func(a *config.Audit) { a.Sink = "syslog" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Upstream: config.Upstream{Database: "clinic", User: "pgmask"}}
			tt.set(&cfg.Audit)
			cfgErr := cfg.CheckAndSetDefaults()
			raw := config.Audit{}
			tt.set(&raw)
			if raw.KeyEnv == "" && raw.KeyFile == "" {
				raw.KeyEnv = config.DefaultAuditKeyEnv // the one default only config fills
			}
			ac := auditConfig(raw)
			auditErr := ac.CheckAndSetDefaults()
			if (cfgErr == nil) != (auditErr == nil) {
				t.Errorf("config says %v, the audit package says %v", cfgErr, auditErr)
			}
			if cfgErr == nil {
				checked := auditConfig(cfg.Audit)
				if err := checked.CheckAndSetDefaults(); err != nil {
					t.Errorf("the section config accepted is refused by the audit package: %v", err)
				}
			}
		})
	}
}

// A client refused because the audit log cannot be written learns why, in pgmask's
// words: never the sink's own error, which can name files, hosts or database roles.
func TestAClientRefusedForTheAuditLogIsToldWhyButNotTheSinksError(t *testing.T) {
	sinkErr := errors.New("audit: writing /var/log/pgmask/audit.jsonl: no space left on device")
	tests := []struct {
		name string
		why  error
		want string
	}{
		{"the sink failed", &audit.UnavailableError{Cause: sinkErr},
			"pgmask cannot write its audit log: writing to the audit sink failed"},
		{"the log is behind", &audit.UnavailableError{Lag: 10001, Limit: 10000},
			"pgmask cannot write its audit log: the audit log is 10001 records behind (queue_limit 10000)"},
		{"the log is closed", audit.ErrClosed, "pgmask cannot write its audit log: pgmask is shutting down"},
		{"an error of unknown kind", sinkErr, "pgmask cannot write its audit log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := auditRefusal(tt.why)
			if d.Code != "58000" || d.Message != tt.want || d.Hint != errAuditUnavailable.Hint {
				t.Errorf("auditRefusal = %+v, want 58000 %q", d, tt.want)
			}
		})
	}
	if errAuditUnavailable.Message != "pgmask cannot write its audit log" {
		t.Errorf("auditRefusal changed the shared denial: %q", errAuditUnavailable.Message)
	}
}
