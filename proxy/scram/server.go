package scram

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Mechanism is the only SASL mechanism a Server offers.
const Mechanism = "SCRAM-SHA-256"

var (
	// ErrAuthFailed means the client proved no knowledge of the password,
	// or the verifier was a mock. The proxy answers it like PostgreSQL
	// does: "password authentication failed", SQLSTATE 28P01.
	ErrAuthFailed = errors.New("scram: authentication failed")

	// ErrProtocol means a message broke RFC 5802 or PostgreSQL's use of
	// it. Errors wrap it with the detail.
	ErrProtocol = errors.New("scram: protocol violation")
)

const (
	// serverNonceLen printable characters carry about 196 bits of
	// randomness; 30 is the length in RFC 7677's example.
	serverNonceLen = 30

	// maxNonceRead bounds what newNonce reads, so that a broken random
	// source cannot make it loop forever. From a good source 30 of 1024
	// bytes are printable with overwhelming probability (about 370 are).
	maxNonceRead = 1024
)

type step int

const (
	stepFirst step = iota
	stepFinal
	stepDone
)

// A Server runs the server side of one exchange: First, then Final. Any
// error ends the exchange; a Server is not reused.
type Server struct {
	verifier *Verifier
	random   io.Reader
	step     step

	gs2Header  string
	nonce      string // client nonce + server nonce
	authPrefix string // client-first-message-bare "," server-first-message ","
}

// NewServer returns a Server that checks proofs against v. random supplies
// the server nonce; nil means crypto/rand. v may be a MockVerifier, for
// users that do not exist.
func NewServer(v *Verifier, random io.Reader) *Server {
	if random == nil {
		random = rand.Reader
	}
	return &Server{verifier: v, random: random}
}

// Mechanisms returns the SASL mechanisms to offer in AuthenticationSASL.
// It never includes SCRAM-SHA-256-PLUS: without TLS channel binding on the
// client side, offering it would only invite a failure.
func (s *Server) Mechanisms() []string {
	return []string{Mechanism}
}

// First takes the mechanism and client-first-message of SASLInitialResponse
// and returns the server-first-message for AuthenticationSASLContinue.
func (s *Server) First(mechanism string, clientFirst []byte) (serverFirst []byte, err error) {
	if s.step != stepFirst {
		return nil, protocolError("client-first-message out of order")
	}
	s.step = stepDone
	if mechanism != Mechanism {
		return nil, protocolError("unsupported SASL mechanism")
	}
	if err := s.verifier.check(); err != nil {
		return nil, err
	}
	cf, err := parseClientFirst(string(clientFirst))
	if err != nil {
		return nil, err
	}
	serverNonce, err := s.newNonce()
	if err != nil {
		return nil, err
	}

	s.gs2Header = cf.gs2Header
	s.nonce = cf.nonce + serverNonce
	first := "r=" + s.nonce +
		",s=" + b64.EncodeToString(s.verifier.Salt) +
		",i=" + strconv.Itoa(s.verifier.Iterations)
	s.authPrefix = cf.bare + "," + first + ","
	s.step = stepFinal
	return []byte(first), nil
}

// Final takes the client-final-message of SASLResponse and, if the proof is
// right, returns the server-final-message for AuthenticationSASLFinal. A
// wrong proof returns ErrAuthFailed.
func (s *Server) Final(clientFinal []byte) (serverFinal []byte, err error) {
	if s.step != stepFinal {
		return nil, protocolError("client-final-message out of order")
	}
	s.step = stepDone
	cf, err := parseClientFinal(string(clientFinal))
	if err != nil {
		return nil, err
	}
	if cf.channelBinding != b64.EncodeToString([]byte(s.gs2Header)) {
		return nil, protocolError("channel binding does not match the gs2 header")
	}
	if cf.nonce != s.nonce {
		return nil, protocolError("nonce does not match")
	}

	// RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage),
	// and the client knows the password if H(ClientKey) = StoredKey.
	authMessage := []byte(s.authPrefix + cf.withoutProof)
	clientSignature := hmacSHA256(s.verifier.StoredKey, authMessage)
	clientKey := make([]byte, keyLen)
	subtle.XORBytes(clientKey, cf.proof, clientSignature)
	storedKey := sha256.Sum256(clientKey)
	// A mock verifier fails only after the same work, so that the answer
	// takes no less time for an unknown user.
	if !hmac.Equal(storedKey[:], s.verifier.StoredKey) || s.verifier.mock {
		return nil, ErrAuthFailed
	}
	return []byte("v=" + b64.EncodeToString(hmacSHA256(s.verifier.ServerKey, authMessage))), nil
}

// newNonce reads printable nonce characters from the random source,
// dropping the other bytes, which keeps the characters uniform.
func (s *Server) newNonce() (string, error) {
	nonce := make([]byte, 0, serverNonceLen)
	buf := make([]byte, serverNonceLen)
	for read := 0; len(nonce) < serverNonceLen; {
		if read >= maxNonceRead {
			return "", errors.New("scram: random source yields no printable nonce")
		}
		b := buf[:serverNonceLen-len(nonce)]
		if _, err := io.ReadFull(s.random, b); err != nil {
			return "", fmt.Errorf("scram: reading server nonce: %w", err)
		}
		read += len(b)
		for _, c := range b {
			if isNonceChar(c) {
				nonce = append(nonce, c)
			}
		}
	}
	return string(nonce), nil
}
