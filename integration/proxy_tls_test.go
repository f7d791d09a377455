package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/config"
)

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and localhost and its
// key to dir and returns their paths.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pgmask test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// startTLSProxy starts pgmask with a self-signed certificate and require_tls.
func startTLSProxy(t *testing.T) (*testProxy, string) {
	t.Helper()
	certFile, keyFile := selfSignedCert(t, t.TempDir())
	p := startProxy(t, func(c *config.Config) {
		c.Server.TLSCert = certFile
		c.Server.TLSKey = keyFile
		c.Server.RequireTLS = true
	})
	return p, certFile
}

// tlsDSN is p.dsn(user) with another sslmode and extra settings.
func tlsDSN(p *testProxy, user, sslmode string) string {
	return strings.Replace(p.dsn(user), "sslmode=disable", "sslmode="+sslmode, 1)
}

func TestPgmaskServesClientsOverTLS(t *testing.T) {
	p, certFile := startTLSProxy(t)
	for _, c := range []struct{ name, dsn string }{
		{"sslmode=require", tlsDSN(p, "dana", "require")},
		{"sslmode=verify-full against the certificate", tlsDSN(p, "dana", "verify-full sslrootcert="+certFile)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, c.dsn)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer conn.Close(ctx)
			tlsConn, ok := conn.PgConn().Conn().(*tls.Conn)
			if !ok {
				t.Fatalf("the client connection is a %T, want *tls.Conn", conn.PgConn().Conn())
			}
			if state := tlsConn.ConnectionState(); !state.HandshakeComplete || state.Version < tls.VersionTLS12 {
				t.Errorf("TLS state: handshake complete %v, version %x; want a completed TLS 1.2+ handshake", state.HandshakeComplete, state.Version)
			}
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM clinic.patients").Scan(&n); err != nil || n != clinicOptions.Patients {
				t.Errorf("over TLS: %d patients, %v; want %d", n, err, clinicOptions.Patients)
			}
		})
	}
}

func TestRequireTLSRefusesAPlaintextClientWith28000(t *testing.T) {
	p, _ := startTLSProxy(t)
	_, err := pgx.Connect(context.Background(), p.dsn("dana")) // sslmode=disable
	pgErr := pgError(t, err)
	if pgErr.Code != "28000" || pgErr.Severity != "FATAL" {
		t.Fatalf("plaintext connection: %s %s %q, want FATAL 28000", pgErr.Severity, pgErr.Code, pgErr.Message)
	}
	eventually(t, 2*time.Second, func() bool { return p.srv.ActiveSessions() == 0 }, "the refused session is still open")
}

func TestPsqlConnectsOverTLS(t *testing.T) {
	p, _ := startTLSProxy(t)
	r := runPsql(t, tlsDSN(p, "dana", "require"), "", "-c", `\conninfo`, "-c", "SELECT 6 * 7 AS answer")
	if r.err != nil {
		t.Fatalf("psql: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "SSL connection (protocol: TLSv1.") {
		t.Errorf("psql \\conninfo does not report TLS:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "42") {
		t.Errorf("psql printed %q, want the answer 42", r.stdout)
	}
	r = runPsql(t, p.dsn("dana"), "", "-c", "SELECT 1")
	if r.err == nil || !strings.Contains(r.stderr, "pgmask requires an encrypted connection") {
		t.Errorf("psql with sslmode=disable: err %v, stderr %q; want the require_tls refusal", r.err, r.stderr)
	}
}

func TestACancelRequestReachesASessionThatRequiresTLS(t *testing.T) {
	p, _ := startTLSProxy(t)
	conn := connectDSN(t, tlsDSN(p, "dana", "require"), cancelOnContext)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Exec(ctx, "SELECT pg_sleep(10)")
	if code := sqlState(err); code != "57014" || time.Since(start) > 2*time.Second {
		t.Fatalf("pg_sleep(10) cancelled after 300 ms: %v after %v, want SQLSTATE 57014 within 2 s", err, time.Since(start))
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&n); err != nil {
		t.Fatalf("the TLS session is not usable after the cancel: %v", err)
	}
}
