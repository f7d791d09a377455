package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// DefaultIterations is PostgreSQL's default scram_iterations; mock
	// verifiers use it so that they look like verifiers made by PostgreSQL
	// or `pgmask passwd`.
	DefaultIterations = 4096

	// mockSaltLen is PostgreSQL's SCRAM_DEFAULT_SALT_LEN.
	mockSaltLen = 16

	keyLen = sha256.Size
)

// b64 is the encoding of every binary value in verifiers and SCRAM messages.
// Strict decoding refuses non-canonical encodings, so that a parsed verifier
// prints back to the text it was parsed from.
var b64 = base64.StdEncoding.Strict()

// A Verifier is what the server stores instead of the password (RFC 5802
// §3): knowing it lets the server check a proof of the password, but not
// compute one.
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte // H(ClientKey)
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")

	// mock marks a verifier from MockVerifier: the exchange runs as usual,
	// and then fails.
	mock bool
}

// ParseVerifier parses a verifier in the format PostgreSQL stores in
// pg_authid.rolpassword:
//
//	SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
func ParseVerifier(s string) (*Verifier, error) {
	scheme, rest, ok1 := strings.Cut(s, "$")
	params, keys, ok2 := strings.Cut(rest, "$")
	iter, salt, ok3 := strings.Cut(params, ":")
	stored, server, ok4 := strings.Cut(keys, ":")
	if !ok1 || !ok2 || !ok3 || !ok4 || scheme != Mechanism {
		return nil, errors.New("scram: verifier is not in the form SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
	}
	v := &Verifier{}
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil {
		return nil, fmt.Errorf("scram: verifier iteration count: %w", err)
	}
	if v.Salt, err = b64.DecodeString(salt); err != nil {
		return nil, fmt.Errorf("scram: verifier salt: %w", err)
	}
	if v.StoredKey, err = b64.DecodeString(stored); err != nil {
		return nil, fmt.Errorf("scram: verifier StoredKey: %w", err)
	}
	if v.ServerKey, err = b64.DecodeString(server); err != nil {
		return nil, fmt.Errorf("scram: verifier ServerKey: %w", err)
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	return v, nil
}

// String returns the verifier in PostgreSQL's format, the one ParseVerifier
// reads.
func (v *Verifier) String() string {
	return fmt.Sprintf("%s$%d:%s$%s:%s", Mechanism, v.Iterations,
		b64.EncodeToString(v.Salt), b64.EncodeToString(v.StoredKey), b64.EncodeToString(v.ServerKey))
}

// check reports whether the server can run an exchange with v.
func (v *Verifier) check() error {
	if v == nil {
		return errors.New("scram: no verifier")
	}
	if err := checkParams(v.Iterations, v.Salt); err != nil {
		return err
	}
	if len(v.StoredKey) != keyLen || len(v.ServerKey) != keyLen {
		return fmt.Errorf("scram: verifier keys must be %d bytes", keyLen)
	}
	return nil
}

// checkParams checks the salt and the iteration count, which PostgreSQL
// stores as an int.
func checkParams(iterations int, salt []byte) error {
	if iterations < 1 || iterations > math.MaxInt32 {
		return fmt.Errorf("scram: iteration count %d is out of range", iterations)
	}
	if len(salt) == 0 {
		return errors.New("scram: empty salt")
	}
	return nil
}

// NewVerifier derives the verifier of password, as PostgreSQL does for
// `ALTER ROLE ... PASSWORD` with password_encryption = scram-sha-256. This is
// the one place that costs PBKDF2; it is meant for `pgmask passwd`. The
// password is prepared with SASLprep; when that fails, or the password is not
// valid UTF-8, the raw bytes are used, as PostgreSQL and libpq do.
func NewVerifier(password string, salt []byte, iterations int) (*Verifier, error) {
	if password == "" {
		return nil, errors.New("scram: empty password")
	}
	if err := checkParams(iterations, salt); err != nil {
		return nil, err
	}
	if prepared, ok := saslprep(password); ok {
		password = prepared
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("scram: %w", err)
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	return &Verifier{
		Iterations: iterations,
		Salt:       append([]byte(nil), salt...),
		StoredKey:  storedKey[:],
		ServerKey:  hmacSHA256(salted, []byte("Server Key")),
	}, nil
}

// MockVerifier returns a fake verifier for a user that does not exist, so
// that the exchange cannot tell unknown users from known ones (PostgreSQL
// does the same, see scram_mock_salt in auth-scram.c). It is deterministic in
// secret and user: the same user always gets the same salt, as a real one
// would. secret must be random, kept secret and stable across restarts;
// otherwise the salts give away which users do not exist. Authentication
// with a mock verifier always fails.
func MockVerifier(secret []byte, user string) *Verifier {
	return &Verifier{
		Iterations: DefaultIterations,
		Salt:       hmacSHA256(secret, []byte(user))[:mockSaltLen],
		// Keys nobody knows a password for, in case the verifier leaks out
		// through String; the mock flag alone decides the outcome.
		StoredKey: hmacSHA256(secret, []byte("StoredKey\x00"+user)),
		ServerKey: hmacSHA256(secret, []byte("ServerKey\x00"+user)),
		mock:      true,
	}
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
