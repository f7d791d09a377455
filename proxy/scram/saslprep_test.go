package scram

import "testing"

func TestSASLprepPreparesPasswordsLikePostgreSQL(t *testing.T) {
	tests := []struct {
		name, password, want string
		ok                   bool
	}{
		{"ASCII is kept as is", "pencil", "pencil", true},
		{"ASCII control characters are kept as is", "a\tb\x7f", "a\tb\x7f", true},
		{"non-ASCII spaces become SPACE", "a\u00a0b\u3000c", "a b c", true},
		{"the zero-width space is a space, not nothing", "\u200bx", " x", true},
		{"soft hyphens and joiners are dropped", "I\u00adX\u200d", "IX", true},
		{"decomposed characters are composed", "pa\u0308ss", "p\u00e4ss", true},
		{"compatibility characters are normalized with NFKC", "\u2168\ufb01\u00aa", "IXfia", true},
		{"a right-to-left string passes", "\u0627\u0628", "\u0627\u0628", true},
		{"a right-to-left string ending in a digit fails", "\u0627\u0031", "", false},
		{"mixed directions fail", "x\u0627", "", false},
		{"a password of ignored characters fails", "\u00ad\ufeff", "", false},
		{"a control character in a non-ASCII password fails", "\u00e4\tb", "", false},
		{"a private-use character fails", "\ue000x", "", false},
		{"a non-character fails", "\u00e4\ufffe", "", false},
		{"a character unassigned in Unicode 3.2 fails", "\U0001F600", "", false},
		{"invalid UTF-8 fails", "\xff\xfe", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := saslprep(tt.password)
			if got != tt.want || ok != tt.ok {
				t.Errorf("saslprep(%q) = %q, %v; want %q, %v", tt.password, got, ok, tt.want, tt.ok)
			}
		})
	}
}
