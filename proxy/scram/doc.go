// Package scram is the server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as
// PostgreSQL speaks it ("SASL Authentication" in the protocol chapter of the
// PostgreSQL docs). The proxy uses it to authenticate clients against the
// verifiers in pgmask.toml, before it connects upstream.
//
// It sits under proxy: it does no I/O besides reading randomness for nonces,
// and knows nothing of the wire protocol; the proxy carries its messages in
// SASLInitialResponse, AuthenticationSASLContinue and so on. The server side
// never sees a password, only a Verifier, so a login costs a few HMACs rather
// than PBKDF2. Errors never contain the messages they complain about, and
// nothing here may log: proofs and nonces are not for logs.
//
// Channel binding (SCRAM-SHA-256-PLUS) is never offered.
package scram
