package scram

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// The example exchange of RFC 7677 §3: user "user", password "pencil".
const (
	rfcPassword    = "pencil"
	rfcSalt        = "W22ZaJ0SNY7soEsUEjb6gQ=="
	rfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	rfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	rfcNonce       = "rOprNGfwEbeRWgbNEkqO" + rfcServerNonce
	rfcServerFirst = "r=" + rfcNonce + ",s=" + rfcSalt + ",i=4096"
	rfcClientFinal = "c=biws,r=" + rfcNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func rfcVerifier(t testing.TB) *Verifier {
	t.Helper()
	salt, err := b64.DecodeString(rfcSalt)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(rfcPassword, salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rfcServer returns a Server whose random source yields the RFC's server
// nonce: every byte of it is printable, so it is used as it is.
func rfcServer(v *Verifier) *Server {
	return NewServer(v, strings.NewReader(rfcServerNonce))
}

func TestServerRunsTheRFC7677Example(t *testing.T) {
	s := rfcServer(rfcVerifier(t))
	if got := s.Mechanisms(); len(got) != 1 || got[0] != "SCRAM-SHA-256" {
		t.Errorf("Mechanisms() = %q, want [SCRAM-SHA-256]", got)
	}
	serverFirst, err := s.First("SCRAM-SHA-256", []byte(rfcClientFirst))
	if err != nil {
		t.Fatal(err)
	}
	if string(serverFirst) != rfcServerFirst {
		t.Errorf("server-first-message = %s, want %s", serverFirst, rfcServerFirst)
	}
	serverFinal, err := s.Final([]byte(rfcClientFinal))
	if err != nil {
		t.Fatal(err)
	}
	if string(serverFinal) != rfcServerFinal {
		t.Errorf("server-final-message = %s, want %s", serverFinal, rfcServerFinal)
	}
}

// clientProof computes the proof a client that knows password sends.
func clientProof(t testing.TB, password, clientFirstBare, serverFirst, withoutProof string) string {
	t.Helper()
	var salt []byte
	var iterations int
	for _, a := range strings.Split(serverFirst, ",") {
		var err error
		switch a[0] {
		case 's':
			salt, err = b64.DecodeString(a[2:])
		case 'i':
			iterations, err = strconv.Atoi(a[2:])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	signature := hmacSHA256(storedKey[:], []byte(clientFirstBare+","+serverFirst+","+withoutProof))
	subtle.XORBytes(signature, signature, clientKey)
	return b64.EncodeToString(signature)
}

func TestServerAcceptsWhatRFC5802Allows(t *testing.T) {
	tests := []struct {
		name, clientFirst, finalBinding, finalExtensions string
	}{
		{"a client without channel binding", "n,,n=,r=abc", "biws", ""},
		{"a client that could bind but thinks the server cannot", "y,,n=,r=abc", "eSws", ""},
		{"any user name, which is ignored", "n,,n=some=2Cone,r=abc", "biws", ""},
		{"extensions after the nonce", "n,,n=,r=abc,x=1,y=", "biws", ",z=2"},
	}
	v := rfcVerifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rfcServer(v)
			serverFirst, err := s.First(Mechanism, []byte(tt.clientFirst))
			if err != nil {
				t.Fatal(err)
			}
			withoutProof := "c=" + tt.finalBinding + ",r=abc" + rfcServerNonce + tt.finalExtensions
			proof := clientProof(t, rfcPassword, tt.clientFirst[3:], string(serverFirst), withoutProof)
			if _, err := s.Final([]byte(withoutProof + ",p=" + proof)); err != nil {
				t.Errorf("Final: %v", err)
			}
		})
	}
}

func TestServerRejectsMalformedClientFirstMessages(t *testing.T) {
	tests := []struct {
		name, mechanism, clientFirst string
	}{
		{"SCRAM-SHA-256-PLUS, which is never offered", "SCRAM-SHA-256-PLUS", rfcClientFirst},
		{"another mechanism", "SCRAM-SHA-1", rfcClientFirst},
		{"an empty message", Mechanism, ""},
		{"a request for channel binding", Mechanism, "p=tls-server-end-point,,n=,r=abc"},
		{"an authorization identity", Mechanism, "n,a=admin,n=,r=abc"},
		{"an unknown channel-binding flag", Mechanism, "x,,n=,r=abc"},
		{"a missing gs2 header", Mechanism, "n=,r=abc"},
		{"a gs2 header alone", Mechanism, "n,,"},
		{"a mandatory extension", Mechanism, "n,,m=ext,n=,r=abc"},
		{"a missing user name", Mechanism, "n,,r=abc"},
		{"a missing nonce", Mechanism, "n,,n=user"},
		{"an empty nonce", Mechanism, "n,,n=user,r="},
		{"a non-printable nonce", Mechanism, "n,,n=user,r=ab\x01c"},
		{"a non-ASCII nonce", Mechanism, "n,,n=user,r=\u00e4bc"},
		{"a trailing comma", Mechanism, "n,,n=user,r=abc,"},
		{"an attribute without a value", Mechanism, "n,,n=user,r=abc,x"},
	}
	v := rfcVerifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := rfcServer(v).First(tt.mechanism, []byte(tt.clientFirst)); !errors.Is(err, ErrProtocol) {
				t.Errorf("got error %v, want %v", err, ErrProtocol)
			}
		})
	}
}

func TestServerRejectsWrongClientFinalMessages(t *testing.T) {
	const (
		proof      = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
		wrongProof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVM="
	)
	tests := []struct {
		name, clientFinal string
		want              error
	}{
		{"a wrong proof", "c=biws,r=" + rfcNonce + ",p=" + wrongProof, ErrAuthFailed},
		{"a wrong nonce", "c=biws,r=" + rfcNonce + "x,p=" + proof, ErrProtocol},
		{"only the client nonce", "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=" + proof, ErrProtocol},
		{"a missing nonce", "c=biws,p=" + proof, ErrProtocol},
		{"a missing proof", "c=biws,r=" + rfcNonce, ErrProtocol},
		{"a proof that is not base64", "c=biws,r=" + rfcNonce + ",p=proof!", ErrProtocol},
		{"a short proof", "c=biws,r=" + rfcNonce + ",p=" + rfcSalt, ErrProtocol},
		{"two proofs", "c=biws,r=" + rfcNonce + ",p=" + proof + ",p=" + proof, ErrProtocol},
		{"an attribute after the proof", "c=biws,r=" + rfcNonce + ",p=" + proof + ",x=1", ErrProtocol},
		{"channel binding that does not match the gs2 header", "c=eSws,r=" + rfcNonce + ",p=" + proof, ErrProtocol},
		{"channel binding data", "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws,r=" + rfcNonce + ",p=" + proof, ErrProtocol},
		{"a missing channel binding", "r=" + rfcNonce + ",p=" + proof, ErrProtocol},
		{"an empty message", "", ErrProtocol},
	}
	v := rfcVerifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rfcServer(v)
			if _, err := s.First(Mechanism, []byte(rfcClientFirst)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Final([]byte(tt.clientFinal)); !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestServerRunsOneExchangeInOrder(t *testing.T) {
	v := rfcVerifier(t)
	tests := []struct {
		name string
		run  func(s *Server) error
	}{
		{"Final before First is refused", func(s *Server) error {
			_, err := s.Final([]byte(rfcClientFinal))
			return err
		}},
		{"a second First is refused", func(s *Server) error {
			s.First(Mechanism, []byte(rfcClientFirst))
			_, err := s.First(Mechanism, []byte(rfcClientFirst))
			return err
		}},
		{"a second Final is refused, even after success", func(s *Server) error {
			s.First(Mechanism, []byte(rfcClientFirst))
			s.Final([]byte(rfcClientFinal))
			_, err := s.Final([]byte(rfcClientFinal))
			return err
		}},
		{"no retry after a failed First", func(s *Server) error {
			s.First(Mechanism, []byte("garbage"))
			_, err := s.First(Mechanism, []byte(rfcClientFirst))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(rfcServer(v)); !errors.Is(err, ErrProtocol) {
				t.Errorf("got error %v, want %v", err, ErrProtocol)
			}
		})
	}
}

func TestServerRefusesUnusableVerifiersAndRandomness(t *testing.T) {
	v := rfcVerifier(t)
	tests := []struct {
		name   string
		server *Server
	}{
		{"no verifier", NewServer(nil, nil)},
		{"a verifier with short keys", NewServer(&Verifier{Iterations: 4096, Salt: v.Salt, StoredKey: v.Salt, ServerKey: v.Salt}, nil)},
		{"a failing random source", NewServer(v, iotest.ErrReader(io.ErrClosedPipe))},
		{"a short random source", NewServer(v, strings.NewReader("abc"))},
		{"a random source without printable bytes", NewServer(v, zeros{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.server.First(Mechanism, []byte(rfcClientFirst)); err == nil {
				t.Error("First succeeded")
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestServerNoncesArePrintableAndFresh(t *testing.T) {
	v := rfcVerifier(t)
	seen := map[string]bool{}
	for range 100 {
		first, err := NewServer(v, nil).First(Mechanism, []byte("n,,n=,r=c"))
		if err != nil {
			t.Fatal(err)
		}
		nonce, _, _ := strings.Cut(strings.TrimPrefix(string(first), "r=c"), ",")
		if len(nonce) != serverNonceLen || !isPrintable(nonce) || seen[nonce] {
			t.Fatalf("server nonce %q is short, not printable or repeated", nonce)
		}
		seen[nonce] = true
	}
}

func TestMockVerifierAlwaysFails(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	known := rfcVerifier(t)
	// A mock built from a real password's verifier: only the mock flag
	// stands between the right proof and success.
	mockedKnown := *known
	mockedKnown.mock = true
	tests := []struct {
		name     string
		verifier *Verifier
	}{
		{"a mock verifier refuses a proof of any password", MockVerifier(secret, "user")},
		{"a mock verifier refuses even the proof that matches its keys", &mockedKnown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rfcServer(tt.verifier)
			serverFirst, err := s.First(Mechanism, []byte(rfcClientFirst))
			if err != nil {
				t.Fatal(err)
			}
			withoutProof := "c=biws,r=" + rfcNonce
			proof := clientProof(t, rfcPassword, rfcClientFirst[3:], string(serverFirst), withoutProof)
			if _, err := s.Final([]byte(withoutProof + ",p=" + proof)); !errors.Is(err, ErrAuthFailed) {
				t.Errorf("got error %v, want %v", err, ErrAuthFailed)
			}
		})
	}
}

func TestMockExchangeLooksLikeARealOne(t *testing.T) {
	known, err := NewVerifier("secret", []byte("0123456789abcdef"), DefaultIterations)
	if err != nil {
		t.Fatal(err)
	}
	mock := MockVerifier([]byte("0123456789abcdef0123456789abcdef"), "nobody")
	knownFirst, err := rfcServer(known).First(Mechanism, []byte(rfcClientFirst))
	if err != nil {
		t.Fatal(err)
	}
	mockFirst, err := rfcServer(mock).First(Mechanism, []byte(rfcClientFirst))
	if err != nil {
		t.Fatal(err)
	}
	// Same nonce, same salt length, same iteration count: only the salt's
	// bytes differ.
	if len(knownFirst) != len(mockFirst) || !strings.HasSuffix(string(mockFirst), ",i=4096") {
		t.Errorf("server-first-message for an unknown user %s differs in shape from %s", mockFirst, knownFirst)
	}
}

// BenchmarkExchange measures a whole server-side exchange, First and Final:
// a few HMACs, microseconds, where one PBKDF2 with 4096 iterations takes
// about a millisecond (compare BenchmarkNewVerifier).
func BenchmarkExchange(b *testing.B) {
	v := rfcVerifier(b)
	clientFirst, clientFinal := []byte(rfcClientFirst), []byte(rfcClientFinal)
	b.ReportAllocs()
	for b.Loop() {
		s := rfcServer(v)
		if _, err := s.First(Mechanism, clientFirst); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Final(clientFinal); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewVerifier(b *testing.B) {
	salt := []byte("0123456789abcdef")
	for b.Loop() {
		if _, err := NewVerifier(rfcPassword, salt, DefaultIterations); err != nil {
			b.Fatal(err)
		}
	}
}
