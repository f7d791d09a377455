package proxy

import (
	"errors"
	"fmt"

	"github.com/jackc/pgproto3/v2"

	"github.com/pgmask/pgmask/proxy/scram"
)

// authenticate runs SCRAM-SHA-256 with the client against the verifier in pgmask.toml
// ("SASL Authentication", protocol docs §55.3). Unknown users get an exchange with a
// mock verifier that looks the same and always fails, so the answer never reveals
// whether a user name exists. Channel binding is not offered.
func (s *Session) authenticate(backend *pgproto3.Backend, snap *snapshot) error {
	user, known := snap.cfg.Users[s.user]
	var verifier *scram.Verifier
	if known {
		v, err := scram.ParseVerifier(user.Password)
		if err != nil { // config validation makes this unreachable; fail closed anyway
			known = false
		} else {
			verifier = v
		}
	}
	if !known {
		verifier = scram.MockVerifier(snap.mockSecret, s.user)
	}
	authFailed := fatalf(codeInvalidPassword, fmt.Sprintf("password authentication failed for user %q", s.user), "")

	server := scram.NewServer(verifier, s.srv.random)
	if err := s.send(&pgproto3.AuthenticationSASL{AuthMechanisms: server.Mechanisms()}); err != nil {
		return err
	}
	if err := backend.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return err
	}
	msg, err := backend.Receive()
	if err != nil {
		return asProtocolError(err)
	}
	initial, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return &protocolError{fmt.Sprintf("expected SASLInitialResponse, got %T", msg)}
	}
	serverFirst, err := server.First(initial.AuthMechanism, initial.Data)
	if err != nil {
		return scramError(err, authFailed)
	}
	if err := s.send(&pgproto3.AuthenticationSASLContinue{Data: serverFirst}); err != nil {
		return err
	}
	if err := backend.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return err
	}
	msg, err = backend.Receive()
	if err != nil {
		return asProtocolError(err)
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return &protocolError{fmt.Sprintf("expected SASLResponse, got %T", msg)}
	}
	serverFinal, err := server.Final(resp.Data)
	if err != nil || !known {
		return scramError(err, authFailed)
	}
	if err := s.send(&pgproto3.AuthenticationSASLFinal{Data: serverFinal}); err != nil {
		return err
	}

	// Only a caller who proved the password learns that the account has expired.
	if exp, ok := user.ExpiresAt(); ok && !s.srv.now().Before(exp) {
		return fatalf(codeInvalidAuthorization, fmt.Sprintf("access for user %q expired at %s", s.user, exp.UTC().Format("2006-01-02 15:04:05Z")),
			"Ask the DBA to renew the user's access in pgmask.toml.")
	}
	if !snap.policy.HasRole(user.Role) {
		return fatalf(codeInvalidAuthorization, fmt.Sprintf("user %q has no valid pgmask role", s.user),
			"Ask the DBA to assign the user a role defined in pgmask.toml.")
	}
	s.role = user.Role
	return nil
}

// scramError maps a failed exchange to what the client sees: a malformed exchange is a
// protocol violation, anything else the same "password authentication failed" answer.
func scramError(err, authFailed error) error {
	if err != nil && errors.Is(err, scram.ErrProtocol) {
		return &protocolError{err.Error()}
	}
	return authFailed
}

// send writes one message to the client and flushes it.
func (s *Session) send(msg pgproto3.BackendMessage) error {
	buf, err := msg.Encode(nil)
	if err != nil {
		return err
	}
	return s.writeFlush(buf)
}
