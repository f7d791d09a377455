package config

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// The SCRAM-SHA-256 exchange of RFC 7677, section 3 (user "user", password "pencil").
const (
	rfcSalt       = "W22ZaJ0SNY7soEsUEjb6gQ=="
	rfcAuthMsg    = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	rfcProof      = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerSign = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func TestAVerifierAuthenticatesTheRFC7677Exchange(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString(rfcSalt)
	v, err := NewVerifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	// What the proxy does on login: recover ClientKey from the proof, hash it, and
	// compare with StoredKey; then sign for the client with ServerKey.
	proof, _ := base64.StdEncoding.DecodeString(rfcProof)
	clientKey := hmacSHA256(v.StoredKey, rfcAuthMsg)
	for i := range clientKey {
		clientKey[i] ^= proof[i]
	}
	if got := sha256.Sum256(clientKey); !bytes.Equal(got[:], v.StoredKey) {
		t.Error("the RFC's client proof does not match StoredKey")
	}
	if got := base64.StdEncoding.EncodeToString(hmacSHA256(v.ServerKey, rfcAuthMsg)); got != rfcServerSign {
		t.Errorf("server signature = %s, want %s", got, rfcServerSign)
	}
	if !hmac.Equal(hmacSHA256(v.ServerKey, rfcAuthMsg), mustB64(t, rfcServerSign)) {
		t.Error("ServerKey does not sign the exchange")
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAVerifierRoundTripsThroughItsTextForm(t *testing.T) {
	v, err := ParseVerifier(aliceVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != aliceVerifier {
		t.Errorf("String() = %s, want %s", v, aliceVerifier)
	}
	if v.Iterations != 4096 || len(v.Salt) != 16 {
		t.Errorf("iterations %d, salt %d bytes; want 4096 and 16", v.Iterations, len(v.Salt))
	}
	if !v.Matches("alice-demo-password") || v.Matches("alice-demo-password ") {
		t.Error("Matches does not tell the right password from a wrong one")
	}
}

func TestMalformedVerifiersAreRejectedWithTheReason(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	short := base64.StdEncoding.EncodeToString(make([]byte, 31))
	tests := []struct {
		in, want string
	}{
		{"hunter2", "plain-text passwords are not accepted"},
		{"", "plain-text passwords are not accepted"},
		{"md5" + strings.Repeat("a", 32), "MD5 password hashes are not accepted"},
		{"scram-sha-256$4096:c2FsdA==$" + key + ":" + key, "plain-text passwords are not accepted"},
		{"SCRAM-SHA-256$4096:c2FsdA==", "malformed SCRAM-SHA-256 verifier: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"},
		{"SCRAM-SHA-256$4096$" + key + ":" + key, "malformed SCRAM-SHA-256 verifier: want"},
		{"SCRAM-SHA-256$0:c2FsdA==$" + key + ":" + key, `iteration count "0" must be an integer ≥ 1`},
		{"SCRAM-SHA-256$x:c2FsdA==$" + key + ":" + key, `iteration count "x" must be an integer ≥ 1`},
		{"SCRAM-SHA-256$4096:$" + key + ":" + key, "salt is not non-empty base64"},
		{"SCRAM-SHA-256$4096:!!$" + key + ":" + key, "salt is not non-empty base64"},
		{"SCRAM-SHA-256$4096:c2FsdA==$" + short + ":" + key, "StoredKey decodes to 31 bytes, want 32"},
		{"SCRAM-SHA-256$4096:c2FsdA==$" + key + ":" + key + "x", "ServerKey is not base64"},
	}
	for _, tt := range tests {
		_, err := ParseVerifier(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseVerifier(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestNewVerifierNeedsASaltAndIterations(t *testing.T) {
	if _, err := NewVerifier("pw", nil, 4096); err == nil {
		t.Error("no error without a salt")
	}
	if _, err := NewVerifier("pw", []byte("salt"), 0); err == nil {
		t.Error("no error with 0 iterations")
	}
}
