package transform

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

func TestDeriveKeyDiffersPerRoleRelationAndColumn(t *testing.T) {
	master := []byte("master secret")
	base := DeriveKey(master, "support", "clinic.patients", "mrn")
	if len(base) != sha256.Size {
		t.Fatalf("key length %d, want %d", len(base), sha256.Size)
	}
	m := hmac.New(sha256.New, master)
	m.Write([]byte("support\x00clinic.patients\x00mrn"))
	if !bytes.Equal(base, m.Sum(nil)) {
		t.Error("DeriveKey is not HMAC-SHA-256(master, role NUL relation NUL column)")
	}
	for name, other := range map[string][]byte{
		"role":     DeriveKey(master, "researcher", "clinic.patients", "mrn"),
		"relation": DeriveKey(master, "support", "clinic.encounters", "mrn"),
		"column":   DeriveKey(master, "support", "clinic.patients", "ssn"),
		"master":   DeriveKey([]byte("other master"), "support", "clinic.patients", "mrn"),
		// The separator keeps ("ab", "c") and ("a", "bc") apart.
		"boundary": DeriveKey(master, "support", "clinic.patientsmrn", ""),
		"subject":  DeriveSubjectKey(master, "support"),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("changing the %s gives the same key", name)
		}
	}
	if !bytes.Equal(DeriveSubjectKey(master, "support"), DeriveSubjectKey(master, "support")) {
		t.Error("DeriveSubjectKey is not deterministic")
	}
	if bytes.Equal(DeriveSubjectKey(master, "support"), DeriveSubjectKey(master, "researcher")) {
		t.Error("DeriveSubjectKey is the same for two roles")
	}
}

// The SQL HMAC uses padded keys computed in Go; recomputing the HMAC from those
// constants must give crypto/hmac's answer, for short, block-sized and long keys.
func TestHMACConstantsMatchCryptoHMAC(t *testing.T) {
	hexConst := regexp.MustCompile(`decode\('([0-9a-f]+)', 'hex'\)`)
	msg := []byte("MRN-0042")
	for _, key := range [][]byte{[]byte("k"), bytes.Repeat([]byte{7}, 64), bytes.Repeat([]byte{9}, 100)} {
		sql := hmacSQL(key, "m")
		consts := hexConst.FindAllStringSubmatch(sql, -1)
		if len(consts) != 2 {
			t.Fatalf("want 2 padded keys in %s", sql)
		}
		outer, _ := hex.DecodeString(consts[0][1])
		inner, _ := hex.DecodeString(consts[1][1])
		in := sha256.Sum256(append(inner, msg...))
		got := sha256.Sum256(append(outer, in[:]...))
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if !bytes.Equal(got[:], m.Sum(nil)) {
			t.Errorf("key of %d bytes: SQL HMAC differs from crypto/hmac", len(key))
		}
		if bytes.Contains([]byte(sql), []byte(hex.EncodeToString(key))) {
			t.Errorf("key of %d bytes appears in the SQL", len(key))
		}
	}
}
