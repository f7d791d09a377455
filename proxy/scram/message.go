package scram

import (
	"fmt"
	"strings"
)

// The messages of an exchange are comma-separated attributes "x=value"
// (RFC 5802 §5.1, §7). Values cannot contain commas: a user name encodes
// them as "=2C", and nonces and base64 have none.

// clientFirst is a client-first-message (RFC 5802 §7).
type clientFirst struct {
	gs2Header string // "n,," or "y,,", echoed in the c= attribute of the client-final-message
	bare      string // client-first-message-bare, the start of the AuthMessage
	nonce     string
}

// clientFinal is a client-final-message (RFC 5802 §7).
type clientFinal struct {
	channelBinding string // base64 of the gs2 header, as sent
	nonce          string
	withoutProof   string // client-final-message-without-proof, the end of the AuthMessage
	proof          []byte
}

func parseClientFirst(msg string) (clientFirst, error) {
	// gs2-header = gs2-cbind-flag "," [authzid] ",". PostgreSQL's SASL
	// Authentication docs: the server never offers SCRAM-SHA-256-PLUS here,
	// so "p=" (binding required) is an error, while "y" (client could bind,
	// but thinks the server cannot) is true and fine.
	switch {
	case strings.HasPrefix(msg, "n,,"), strings.HasPrefix(msg, "y,,"):
	case strings.HasPrefix(msg, "p="):
		return clientFirst{}, protocolError("client requires channel binding, which this server does not offer")
	case strings.HasPrefix(msg, "n,a="), strings.HasPrefix(msg, "y,a="):
		// As in PostgreSQL: the role comes from the startup message.
		return clientFirst{}, protocolError("authorization identities are not supported")
	default:
		return clientFirst{}, protocolError("malformed gs2 header")
	}
	cf := clientFirst{gs2Header: msg[:3], bare: msg[3:]}

	// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
	attrs, err := splitAttrs(cf.bare)
	if err != nil {
		return clientFirst{}, err
	}
	if attrs[0].name == 'm' {
		return clientFirst{}, protocolError("mandatory extensions are not supported")
	}
	// The user name is ignored, as PostgreSQL does: the role is the one in
	// the startup message, and libpq sends an empty name.
	if len(attrs) < 2 || attrs[0].name != 'n' || attrs[1].name != 'r' {
		return clientFirst{}, protocolError("client-first-message must be n=<user>,r=<nonce>")
	}
	cf.nonce = attrs[1].value
	if !isPrintable(cf.nonce) {
		return clientFirst{}, protocolError("client nonce is empty or not printable")
	}
	return cf, nil
}

func parseClientFinal(msg string) (clientFinal, error) {
	// client-final-message = channel-binding "," nonce ["," extensions] "," proof
	attrs, err := splitAttrs(msg)
	if err != nil {
		return clientFinal{}, err
	}
	n := len(attrs)
	if n < 3 || attrs[0].name != 'c' || attrs[1].name != 'r' || attrs[n-1].name != 'p' {
		return clientFinal{}, protocolError("client-final-message must be c=<binding>,r=<nonce>,...,p=<proof>")
	}
	for _, a := range attrs[2 : n-1] {
		if a.name == 'p' {
			return clientFinal{}, protocolError("more than one proof")
		}
	}
	proof, err := b64.DecodeString(attrs[n-1].value)
	if err != nil || len(proof) != keyLen {
		return clientFinal{}, protocolError("malformed client proof")
	}
	return clientFinal{
		channelBinding: attrs[0].value,
		nonce:          attrs[1].value,
		withoutProof:   msg[:len(msg)-len(",p=")-len(attrs[n-1].value)],
		proof:          proof,
	}, nil
}

type attr struct {
	name  byte
	value string
}

// splitAttrs splits a message into attributes, each a letter, "=" and a
// value without commas.
func splitAttrs(msg string) ([]attr, error) {
	fields := strings.Split(msg, ",")
	attrs := make([]attr, len(fields))
	for i, f := range fields {
		if len(f) < 2 || !isLetter(f[0]) || f[1] != '=' {
			return nil, protocolError("malformed attribute")
		}
		attrs[i] = attr{name: f[0], value: f[2:]}
	}
	return attrs, nil
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isPrintable reports whether s is a valid nonce: one or more printable
// ASCII characters other than "," (RFC 5802 §7, "printable").
func isPrintable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNonceChar(s[i]) {
			return false
		}
	}
	return true
}

func isNonceChar(c byte) bool {
	return 0x21 <= c && c <= 0x7e && c != ','
}

func protocolError(detail string) error {
	return fmt.Errorf("%w: %s", ErrProtocol, detail)
}
