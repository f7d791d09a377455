package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgproto3/v2"
)

// exactReader is the pgproto3.ChunkReader used during startup. It reads exactly what is
// asked for, so nothing the client sends after authentication is swallowed into a
// buffer the session loop cannot see.
type exactReader struct {
	r   *bufio.Reader
	max int
}

func (e *exactReader) Next(n int) ([]byte, error) {
	if n < 0 || n > e.max {
		return nil, &protocolError{fmt.Sprintf("startup message of %d bytes exceeds the %d-byte limit", n, e.max)}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(e.r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// maxStartupMessage bounds messages before authentication completes (PostgreSQL uses
// 10000 bytes for the startup packet, MAX_STARTUP_PACKET_LENGTH).
const maxStartupMessage = 10000

// handshake runs everything before the session loop: encryption negotiation, the
// startup message, authentication and the upstream connection. It returns false
// without error when the connection was a cancel request.
func (s *Session) handshake() (bool, error) {
	snap := s.srv.snapshot.Load()
	s.snap = snap
	cfg := snap.cfg
	deadline := time.Now().Add(cfg.Server.StartupTimeout.Duration)
	if cfg.Server.StartupTimeout.Duration > 0 {
		s.client.SetDeadline(deadline)
	}
	backend := pgproto3.NewBackend(&exactReader{r: s.clientR, max: maxStartupMessage}, s.clientW)
	encrypted := false

	var startup *pgproto3.StartupMessage
	for startup == nil {
		msg, err := backend.ReceiveStartupMessage()
		if err != nil {
			return false, asProtocolError(err)
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if encrypted {
				return false, &protocolError{"SSLRequest on an encrypted connection"}
			}
			if err := s.noPipelinedBytes("SSLRequest"); err != nil {
				return false, err
			}
			if snap.tls == nil {
				if err := s.writeFlush([]byte{'N'}); err != nil {
					return false, err
				}
				continue
			}
			if err := s.writeFlush([]byte{'S'}); err != nil {
				return false, err
			}
			tlsConn := tls.Server(s.client, snap.tls)
			if err := tlsConn.Handshake(); err != nil {
				return false, fmt.Errorf("TLS handshake: %w", err)
			}
			s.client = tlsConn
			s.clientR.Reset(tlsConn)
			s.clientW.Reset(tlsConn)
			encrypted = true
		case *pgproto3.GSSEncRequest:
			// GSSAPI encryption is not offered; the client falls back (protocol docs §55.2.11).
			if err := s.noPipelinedBytes("GSSENCRequest"); err != nil {
				return false, err
			}
			if err := s.writeFlush([]byte{'N'}); err != nil {
				return false, err
			}
		case *pgproto3.CancelRequest:
			s.forwardCancel(cancelKey{pid: m.ProcessID, secret: m.SecretKey})
			return false, nil
		case *pgproto3.StartupMessage:
			startup = m
		}
	}

	if cfg.Server.RequireTLS && !encrypted {
		return false, fatalf(codeInvalidAuthorization, "pgmask requires an encrypted connection",
			"Connect with sslmode=require (or stricter).")
	}
	params, err := canonicalStartup(startup.Parameters)
	if err != nil {
		return false, err
	}
	s.user = params["user"]
	s.params = params

	if err := s.authenticate(backend, snap); err != nil {
		s.auditLoginFailure(err)
		return false, err
	}
	// Checked after authentication, as PostgreSQL does, so only a caller who proved
	// the password learns which database pgmask serves.
	if params["database"] != cfg.Upstream.Database {
		err := fatalf("3D000", fmt.Sprintf("database %q does not exist", params["database"]),
			fmt.Sprintf("pgmask serves the database %q.", cfg.Upstream.Database))
		s.auditLoginFailure(err)
		return false, err
	}

	if err := s.startAccess(snap); err != nil {
		s.auditLoginFailure(err)
		return false, err
	}

	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	up, err := s.connectUpstream(ctx, snap)
	if err != nil {
		return false, err
	}
	if err := s.greet(up); err != nil {
		return false, err
	}
	s.client.SetDeadline(time.Time{})
	return true, nil
}

// noPipelinedBytes refuses clients that send more data right behind an encryption
// request: those bytes would be read as if they had arrived over the encrypted channel
// (the class of bug behind CVE-2021-23214).
func (s *Session) noPipelinedBytes(what string) error {
	if s.clientR.Buffered() > 0 {
		return &protocolError{"unencrypted data after " + what}
	}
	return nil
}

func (s *Session) writeFlush(b []byte) error {
	if _, err := s.clientW.Write(b); err != nil {
		return err
	}
	return s.clientW.Flush()
}

// forwardCancel relays a client's CancelRequest to the upstream backend of the session
// it names. As in PostgreSQL, the requester never learns whether it matched anything.
func (s *Session) forwardCancel(k cancelKey) {
	t, ok := s.srv.cancels.lookup(k)
	if !ok {
		s.log.Info("cancel request for an unknown session")
		return
	}
	if err := t.send(context.Background()); err != nil {
		s.log.Warn("forwarding cancel request failed", "err", err.Error())
	}
}

// forwardedParams are the startup parameters passed on to the upstream. Everything else
// is dropped: in particular "options", which could set any GUC, and search_path, which
// pgmask pins itself.
var forwardedParams = map[string]string{
	"application_name":   "application_name",
	"client_encoding":    "client_encoding",
	"datestyle":          "DateStyle",
	"timezone":           "TimeZone",
	"intervalstyle":      "IntervalStyle",
	"extra_float_digits": "extra_float_digits",
	"bytea_output":       "bytea_output",
}

// canonicalStartup validates a StartupMessage's parameters and returns them as pgmask
// uses them: lower-case keys, database defaulting to the user name as in PostgreSQL.
func canonicalStartup(in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[strings.ToLower(k)] = v
	}
	if out["user"] == "" {
		return nil, fatalf(codeInvalidAuthorization, "no PostgreSQL user name specified in startup packet", "")
	}
	if out["database"] == "" {
		out["database"] = out["user"]
	}
	if v, ok := out["replication"]; ok {
		switch strings.ToLower(v) {
		case "false", "off", "no", "0":
		default:
			return nil, fatalf(codeInvalidAuthorization, "replication connections are not allowed through pgmask",
				"Connect replication clients to PostgreSQL directly.")
		}
	}
	return out, nil
}

// upstreamParams picks the startup parameters forwarded upstream, under their
// canonical PostgreSQL spelling.
func upstreamParams(params map[string]string) map[string]string {
	out := make(map[string]string, len(forwardedParams))
	for k, v := range params {
		if name, ok := forwardedParams[k]; ok {
			out[name] = v
		}
	}
	return out
}

// greet finishes the client's startup the way PostgreSQL does: AuthenticationOk, the
// upstream's ParameterStatus values, pgmask's own BackendKeyData, ReadyForQuery.
func (s *Session) greet(up *upstreamConn) error {
	var buf []byte
	buf, _ = (&pgproto3.AuthenticationOk{}).Encode(buf)
	for _, name := range up.paramOrder {
		buf, _ = (&pgproto3.ParameterStatus{Name: name, Value: up.params[name]}).Encode(buf)
	}
	for {
		var b [8]byte
		if _, err := io.ReadFull(s.srv.random, b[:]); err != nil {
			return err
		}
		s.key = cancelKey{pid: binary.BigEndian.Uint32(b[:4]) &^ (1 << 31), secret: binary.BigEndian.Uint32(b[4:])}
		if s.srv.cancels.add(s.key, up.cancel) {
			break
		}
	}
	buf, _ = (&pgproto3.BackendKeyData{ProcessID: s.key.pid, SecretKey: s.key.secret}).Encode(buf)
	buf, _ = (&pgproto3.ReadyForQuery{TxStatus: up.txStatus}).Encode(buf)
	return s.writeFlush(buf)
}

// asProtocolError classifies a startup decoding failure: a peer that hangs up is a
// disconnect, anything else malformed input.
func asProtocolError(err error) error {
	if isDisconnect(err) {
		return err
	}
	if _, ok := err.(*protocolError); ok {
		return err
	}
	return &protocolError{err.Error()}
}
