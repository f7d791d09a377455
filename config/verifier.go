package config

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// pgmask stores user credentials the way PostgreSQL does (pg_authid.rolpassword), as a
// SCRAM-SHA-256 verifier (RFC 5802, RFC 7677):
//
//	SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
//
// with salt and keys in standard base64. A verifier lets the proxy check a SCRAM login
// with a few HMACs and never lets anyone who reads pgmask.toml log in, which a
// plain-text password would. Verifiers can be copied from PostgreSQL or made with
// `pgmask passwd`.

const (
	scramPrefix = "SCRAM-SHA-256$"
	scramKeyLen = sha256.Size
)

// Verifier is a parsed SCRAM-SHA-256 verifier.
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte // H(ClientKey)
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// ParseVerifier parses a verifier in PostgreSQL's format. Its error says what is wrong
// and, for anything that is not a verifier at all, that plain-text passwords are not
// accepted.
func ParseVerifier(s string) (Verifier, error) {
	rest, ok := strings.CutPrefix(s, scramPrefix)
	if !ok {
		what := "plain-text passwords are"
		if strings.HasPrefix(s, "md5") && len(s) == 35 {
			what = "MD5 password hashes are"
		}
		return Verifier{}, fmt.Errorf("%s not accepted: store a SCRAM-SHA-256 verifier (make one with `pgmask passwd`, or copy rolpassword from pg_authid)", what)
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return Verifier{}, fmt.Errorf("malformed SCRAM-SHA-256 verifier: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
	}
	iter, salt, ok1 := strings.Cut(params, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return Verifier{}, fmt.Errorf("malformed SCRAM-SHA-256 verifier: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
	}
	var v Verifier
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil || v.Iterations < 1 {
		return Verifier{}, fmt.Errorf("malformed SCRAM-SHA-256 verifier: iteration count %q must be an integer ≥ 1", iter)
	}
	if v.Salt, err = base64.StdEncoding.DecodeString(salt); err != nil || len(v.Salt) == 0 {
		return Verifier{}, fmt.Errorf("malformed SCRAM-SHA-256 verifier: salt is not non-empty base64")
	}
	if v.StoredKey, err = decodeKey(stored); err != nil {
		return Verifier{}, fmt.Errorf("malformed SCRAM-SHA-256 verifier: StoredKey %v", err)
	}
	if v.ServerKey, err = decodeKey(server); err != nil {
		return Verifier{}, fmt.Errorf("malformed SCRAM-SHA-256 verifier: ServerKey %v", err)
	}
	return v, nil
}

func decodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("is not base64")
	}
	if len(b) != scramKeyLen {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), scramKeyLen)
	}
	return b, nil
}

// NewVerifier derives the verifier of password. `pgmask passwd` uses it with 16
// random salt bytes and 4096 iterations (PostgreSQL's defaults).
//
// The password is used as its UTF-8 bytes. PostgreSQL first applies SASLprep, which
// changes only passwords with non-ASCII characters; such passwords may not match a
// verifier PostgreSQL made.
func NewVerifier(password string, salt []byte, iterations int) (Verifier, error) {
	if iterations < 1 || len(salt) == 0 {
		return Verifier{}, fmt.Errorf("SCRAM-SHA-256 verifier needs a salt and at least one iteration")
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, scramKeyLen)
	if err != nil {
		return Verifier{}, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return Verifier{
		Iterations: iterations,
		Salt:       salt,
		StoredKey:  stored[:],
		ServerKey:  hmacSHA256(salted, "Server Key"),
	}, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// String returns the verifier in PostgreSQL's format.
func (v Verifier) String() string {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s%d:%s$%s:%s", scramPrefix, v.Iterations, b64(v.Salt), b64(v.StoredKey), b64(v.ServerKey))
}

// Matches reports whether password is the one the verifier was made from. It costs a
// full key derivation, which is why the SCRAM exchange on the login path does not use
// it; tests use it to keep the demo passwords named in examples/pgmask.toml true.
func (v Verifier) Matches(password string) bool {
	w, err := NewVerifier(password, v.Salt, v.Iterations)
	return err == nil && hmac.Equal(w.StoredKey, v.StoredKey) && hmac.Equal(w.ServerKey, v.ServerKey)
}
