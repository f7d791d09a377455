package scram

import (
	"errors"
	"strings"
	"testing"
)

// FuzzServer feeds arbitrary client messages to a Server: it must never
// panic, must classify every refusal, and can never succeed against a mock
// verifier.
func FuzzServer(f *testing.F) {
	f.Add(Mechanism, []byte(rfcClientFirst), []byte(rfcClientFinal))
	f.Add(Mechanism, []byte("y,,n=,r=abc,x=1"), []byte("c=eSws,r=abc"+rfcServerNonce+",x=,p="+rfcSalt))
	f.Add(Mechanism, []byte("p=tls-server-end-point,,n=,r=abc"), []byte(""))
	f.Add(Mechanism, []byte("n,a=x,m=,n=,r="), []byte("c=,r=,p=,p="))
	f.Add("SCRAM-SHA-256-PLUS", []byte(""), []byte(","))
	mock := MockVerifier([]byte("fuzz"), "user")
	f.Fuzz(func(t *testing.T, mechanism string, clientFirst, clientFinal []byte) {
		s := rfcServer(mock)
		serverFirst, err := s.First(mechanism, clientFirst)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("First: unclassified error %v", err)
			}
			return
		}
		if !strings.HasPrefix(string(serverFirst), "r=") {
			t.Fatalf("server-first-message %q", serverFirst)
		}
		_, err = s.Final(clientFinal)
		if err == nil {
			t.Fatalf("Final succeeded against a mock verifier")
		}
		if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("Final: unclassified error %v", err)
		}
	})
}

// FuzzParseVerifier checks that ParseVerifier never panics and that what it
// accepts prints back to the same verifier.
func FuzzParseVerifier(f *testing.F) {
	for _, tt := range postgresVerifiers {
		f.Add(tt.verifier)
	}
	f.Add("SCRAM-SHA-256$+0004096:AA==$AA==:AA==")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVerifier(s)
		if err != nil {
			return
		}
		again, err := ParseVerifier(v.String())
		if err != nil || again.String() != v.String() {
			t.Fatalf("ParseVerifier(%q).String() = %q does not parse back: %v", s, v.String(), err)
		}
	})
}
