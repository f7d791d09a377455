package scram

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgproto3/v2"
)

// TestPgconnLogsInThroughServer runs a real client, pgconn, against a tiny
// PostgreSQL server that authenticates with Server, the way the proxy does.
func TestPgconnLogsInThroughServer(t *testing.T) {
	salt := []byte("0123456789abcdef")
	verifiers := map[string]*Verifier{
		"alice": mustVerifier(t, "correct horse battery staple", salt),
		"bob":   mustVerifier(t, "p\u00e4ssw\u00f6rd", salt),
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	addr := serveSCRAM(t, func(user string) *Verifier {
		if v, ok := verifiers[user]; ok {
			return v
		}
		return MockVerifier(secret, user)
	})

	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"the right password logs in", "alice", "correct horse battery staple", true},
		{"a wrong password is refused", "alice", "Correct horse battery staple", false},
		{"an empty password is refused", "alice", "", false},
		{"a non-ASCII password logs in", "bob", "p\u00e4ssw\u00f6rd", true},
		{"the decomposed spelling of a non-ASCII password logs in", "bob", "pa\u0308sswo\u0308rd", true},
		{"an unknown user is refused", "mallory", "correct horse battery staple", false},
		{"an unknown user is refused with any password", "mallory", "p\u00e4ssw\u00f6rd", false},
		{"an unknown user is refused with an empty password", "mallory", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := pgconn.ParseConfig("sslmode=disable host=" + addr.IP.String() + " port=" + itoa(addr.Port))
			if err != nil {
				t.Fatal(err)
			}
			cfg.User, cfg.Password = tt.user, tt.password
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := pgconn.ConnectConfig(ctx, cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				conn.Close(ctx)
				return
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
				t.Errorf("connect: got %v, want SQLSTATE 28P01", err)
			}
			if conn != nil {
				conn.Close(ctx)
			}
		})
	}
}

func mustVerifier(t *testing.T, password string, salt []byte) *Verifier {
	t.Helper()
	v, err := NewVerifier(password, salt, DefaultIterations)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }

// serveSCRAM serves authentication only, on a loopback listener, until the
// test ends.
func serveSCRAM(t *testing.T, lookup func(user string) *Verifier) *net.TCPAddr {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				if err := authenticate(conn, lookup); err != nil {
					t.Errorf("test server: %v", err)
				}
			})
		}
	})
	return ln.Addr().(*net.TCPAddr)
}

// authenticate runs startup and SASL authentication, then idles until the
// client terminates. Authentication failures are answered like PostgreSQL
// answers them; only unexpected client behaviour is an error.
func authenticate(conn net.Conn, lookup func(user string) *Verifier) error {
	backend := pgproto3.NewBackend(pgproto3.NewChunkReader(conn), conn)
	msg, err := backend.ReceiveStartupMessage()
	if err != nil {
		return err
	}
	startup, ok := msg.(*pgproto3.StartupMessage)
	if !ok {
		return errors.New("expected a StartupMessage")
	}
	user := startup.Parameters["user"]
	s := NewServer(lookup(user), nil)

	if err := backend.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: s.Mechanisms()}); err != nil {
		return err
	}
	backend.SetAuthType(pgproto3.AuthTypeSASL)
	msg, err = backend.Receive()
	if err != nil {
		return err
	}
	initial, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return errors.New("expected a SASLInitialResponse")
	}
	serverFirst, err := s.First(initial.AuthMechanism, initial.Data)
	if err != nil {
		return refuse(backend, user, err)
	}
	if err := backend.Send(&pgproto3.AuthenticationSASLContinue{Data: serverFirst}); err != nil {
		return err
	}
	backend.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, err = backend.Receive()
	if err != nil {
		return err
	}
	response, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return errors.New("expected a SASLResponse")
	}
	serverFinal, err := s.Final(response.Data)
	if err != nil {
		return refuse(backend, user, err)
	}
	for _, m := range []pgproto3.BackendMessage{
		&pgproto3.AuthenticationSASLFinal{Data: serverFinal},
		&pgproto3.AuthenticationOk{},
		&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: 2},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	} {
		if err := backend.Send(m); err != nil {
			return err
		}
	}
	if msg, err := backend.Receive(); err == nil {
		if _, ok := msg.(*pgproto3.Terminate); !ok {
			return errors.New("expected a Terminate")
		}
	}
	return nil
}

func refuse(backend *pgproto3.Backend, user string, err error) error {
	if !errors.Is(err, ErrAuthFailed) {
		return err
	}
	return backend.Send(&pgproto3.ErrorResponse{
		Severity: "FATAL",
		Code:     "28P01",
		Message:  "password authentication failed for user \"" + user + "\"",
	})
}
