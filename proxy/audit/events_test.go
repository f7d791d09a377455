package audit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRowsAddsUpCommandCompleteTags(t *testing.T) {
	var r Rows
	if _, ok := r.Count(); ok {
		t.Error("zero Rows has a count")
	}
	for _, tag := range []string{"SELECT 5", "INSERT 0 2\x00", "SET", "CREATE TABLE", "FETCH 10", "COPY 3"} {
		r.AddTag([]byte(tag))
	}
	if n, ok := r.Count(); !ok || n != 20 {
		t.Errorf("Count = %d, %v; want 20", n, ok)
	}
}

func TestConstructorsFillTheFieldsOfTheirKind(t *testing.T) {
	until := time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("x", 3600))
	long := strings.Repeat("é", 2000)
	tests := []struct {
		name  string
		rec   Record
		check func(Record) bool
	}{
		{"connect", Connect(session), func(r Record) bool {
			return r.Kind == KindConnect && r.User == "alice" && r.Client == "10.0.0.7:50123" && r.Database == "clinic"
		}},
		{"auth failure", AuthFailure(Session{User: "mallory", Client: "10.0.0.9:1"}, "password authentication failed"), func(r Record) bool {
			return r.Kind == KindAuthFailure && r.Decision == Denied && r.Reason != ""
		}},
		{"disconnect", Disconnect(session, 90*time.Second, "client closed"), func(r Record) bool {
			return *r.DurationMS == 90000 && r.Reason == "client closed"
		}},
		{"purpose change", PurposeChange(Session{User: "alice", Role: "clinician", Purpose: "treatment"}, "operations"), func(r Record) bool {
			return r.Purpose == "treatment" && r.PreviousPurpose == "operations"
		}},
		{"break-glass start", BreakGlassStart(session, long, until), func(r Record) bool {
			return r.BreakGlass && len(r.Justification) <= maxJustificationBytes && r.Until.Location() == time.UTC
		}},
		{"break-glass end", BreakGlassEnd(session, "expired"), func(r Record) bool { return r.BreakGlass && r.Reason == "expired" }},
		{"expiry", Expiry(Session{User: "rita", Role: "researcher", DataUseAgreement: "DUA-2026-07"}, "data use agreement expired"), func(r Record) bool {
			return r.DataUseAgreement == "DUA-2026-07" && r.Decision == Denied
		}},
		{"reload applied", Reload(7, nil), func(r Record) bool { return r.PolicyVersion == 7 && r.Decision == Allowed }},
		{"reload refused", Reload(8, errors.New("pgmask.toml:3: bad")), func(r Record) bool { return r.Decision == Denied && r.Reason != "" }},
		{"statement", stmt(1), func(r Record) bool {
			return r.StatementKind == "SELECT" && r.Decision == Rewritten && *r.Rows == 1 && *r.DurationMS == 1.5 &&
				len(r.Access) == 2 && r.Fingerprint != "" && strings.Contains(r.SQL, "id = ?")
		}},
		{"long names are capped", Connect(Session{User: long, ApplicationName: long}), func(r Record) bool {
			return len(r.User) <= maxNameBytes && len(r.ApplicationName) <= maxNameBytes
		}},
	}
	for _, tc := range tests {
		if !tc.check(tc.rec) {
			t.Errorf("%s: %+v", tc.name, tc.rec)
		}
	}
}

func TestConfigFillsDefaultsAndNamesBadKeys(t *testing.T) {
	c := Config{KeyEnv: "K"}
	if err := c.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.Sink != SinkFile || c.Path != DefaultPath || c.MaxBytes != DefaultMaxBytes || c.QueueLimit != DefaultQueueLimit ||
		c.FlushInterval != DefaultFlushInterval || c.RotateKeyInterval != time.Hour || c.RotateKeyEvery != DefaultRotateKeyEvery {
		t.Errorf("defaults: %+v", c)
	}
	bad := Config{Sink: "kafka", KeyEnv: "K", KeyFile: "f", QueueLimit: -1}
	err := bad.CheckAndSetDefaults()
	for _, want := range []string{"audit.sink", "audit.key_env", "audit.queue_limit"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	pg := Config{Sink: SinkPostgres, KeyEnv: "K"}
	if err := pg.CheckAndSetDefaults(); err == nil || !strings.Contains(err.Error(), "dsn_env") {
		t.Errorf("postgres without a DSN: %v", err)
	}
}

func TestParseKeyTakesHexOrRawBytes(t *testing.T) {
	if k, err := ParseKey(strings.Repeat("ab", 16)); err != nil || len(k) != 16 {
		t.Errorf("hex: %x, %v", k, err)
	}
	if k, err := ParseKey("a passphrase of some length"); err != nil || string(k) != "a passphrase of some length" {
		t.Errorf("raw: %q, %v", k, err)
	}
	if _, err := ParseKey("short"); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestLoadKeyReadsTheEnvironmentOrAFile(t *testing.T) {
	t.Setenv("PGMASK_TEST_AUDIT_KEY", strings.Repeat("0f", 32))
	c := Config{KeyEnv: "PGMASK_TEST_AUDIT_KEY"}
	if k, err := c.LoadKey(); err != nil || len(k) != 32 {
		t.Errorf("env: %d bytes, %v", len(k), err)
	}
	path := t.TempDir() + "/key"
	writeFile(t, path, "raw key material, 32 bytes long\n")
	c = Config{KeyFile: path}
	if k, err := c.LoadKey(); err != nil || string(k) != "raw key material, 32 bytes long" {
		t.Errorf("file: %q, %v", k, err)
	}
}
