package rewriter

import "testing"

func TestSessionCommandsAreRecognizedInEveryForm(t *testing.T) {
	tests := []struct {
		sql  string
		want SessionCommand
	}{
		{"SET pgmask.purpose = 'treatment'", SessionCommand{SessionSet, SettingPurpose, "treatment"}},
		{"set PGMASK.Purpose to treatment;", SessionCommand{SessionSet, SettingPurpose, "treatment"}},
		{"SET SESSION pgmask.purpose = 'operations'", SessionCommand{SessionSet, SettingPurpose, "operations"}},
		{"RESET pgmask.purpose", SessionCommand{SessionReset, SettingPurpose, ""}},
		{"SET pgmask.purpose TO DEFAULT", SessionCommand{SessionReset, SettingPurpose, ""}},
		{"SHOW pgmask.role", SessionCommand{SessionShow, SettingRole, ""}},
		{"show pgmask.purpose", SessionCommand{SessionShow, SettingPurpose, ""}},
		{"SET pgmask.break_glass = 'patient crashing in ER bay 3, attending unavailable'",
			SessionCommand{SessionSet, SettingBreakGlass, "patient crashing in ER bay 3, attending unavailable"}},
		{"RESET pgmask.break_glass", SessionCommand{SessionReset, SettingBreakGlass, ""}},
	}
	for _, tt := range tests {
		cmd, d, ok := SessionCommandOf(tt.sql)
		if !ok || d != nil || cmd == nil || *cmd != tt.want {
			t.Errorf("SessionCommandOf(%q) = %+v, %v, %t; want %+v", tt.sql, cmd, d, ok, tt.want)
		}
	}
}

func TestSessionCommandsPgmaskCannotCarryOutAreRefused(t *testing.T) {
	tests := []struct{ sql, code string }{
		{"SET LOCAL pgmask.purpose = 'treatment'", CodeFeatureNotSupported},
		{"SET pgmask.role = 'clinician'", CodeCantChangeRuntime},
		{"SET pgmask.purpos = 'treatment'", CodeUndefinedObject},
		{"SHOW pgmask.key", CodeUndefinedObject},
		{"SET pgmask.purpose = 'treatment'; SELECT 1", CodeFeatureNotSupported},
		{"SELECT 1; SHOW pgmask.role", CodeFeatureNotSupported},
		{"SET pgmask.purpose = 'a', 'b'", CodeInvalidParameter},
		{"SET pgmask.purpose = 42", CodeInvalidParameter},
	}
	for _, tt := range tests {
		cmd, d, ok := SessionCommandOf(tt.sql)
		if !ok || d == nil || cmd != nil || d.Code != tt.code {
			t.Errorf("SessionCommandOf(%q) = %+v, %+v, %t; want a %s denial", tt.sql, cmd, d, ok, tt.code)
		}
	}
}

func TestOtherStatementsAreNotSessionCommands(t *testing.T) {
	for _, sql := range []string{
		"SELECT 1",
		"SELECT * FROM pgmask.subject_codes",
		"SELECT current_setting('pgmask.purpose')",
		"SET search_path = pgmask",
		"SELECT 'pgmask.purpose'",
		"not even SQL pgmask",
	} {
		if cmd, d, ok := SessionCommandOf(sql); ok {
			t.Errorf("SessionCommandOf(%q) = %+v, %+v, true; want not a session command", sql, cmd, d)
		}
	}
}

func BenchmarkSessionCommandOfAnOrdinaryStatement(b *testing.B) {
	sql := "SELECT abalance FROM pgbench_accounts WHERE aid = 48213"
	for b.Loop() {
		SessionCommandOf(sql)
	}
}
