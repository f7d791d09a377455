package integration

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// connectWith connects to pgmask with a libpq connection string and returns the error.
func connectWith(t *testing.T, dsn string, params map[string]string) error {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		conn.Close(ctx)
	}
	return err
}

// wrongPasswordDSN is a DSN for user with a password that is not theirs.
func wrongPasswordDSN(p *testProxy, user string) string {
	return strings.Replace(p.dsn(user), "password="+password(user), "password=not-"+password(user), 1)
}

func TestAWrongPasswordIsRefusedWith28P01(t *testing.T) {
	p := startProxy(t, nil)
	pgErr := pgError(t, connectWith(t, wrongPasswordDSN(p, "dana"), nil))
	if pgErr.Severity != "FATAL" || pgErr.Code != "28P01" || pgErr.Message != `password authentication failed for user "dana"` {
		t.Errorf("got %s %s %q, want FATAL 28P01 password authentication failed for user \"dana\"", pgErr.Severity, pgErr.Code, pgErr.Message)
	}
}

func TestAnUnknownUserGetsExactlyTheAnswerOfAWrongPassword(t *testing.T) {
	p := startProxy(t, nil)
	known := pgError(t, connectWith(t, wrongPasswordDSN(p, "dana"), nil))
	unknownDSN := strings.NewReplacer("user=dana", "user=mallory").Replace(wrongPasswordDSN(p, "dana"))
	unknown := pgError(t, connectWith(t, unknownDSN, nil))

	normalize := func(e *pgconn.PgError, user string) pgconn.PgError {
		c := *e
		c.Message = strings.ReplaceAll(c.Message, `"`+user+`"`, `"USER"`)
		return c
	}
	if a, b := normalize(known, "dana"), normalize(unknown, "mallory"); a != b {
		t.Errorf("a wrong password for dana and any password for mallory get different errors:\n%+v\n%+v", a, b)
	}

	// The SCRAM challenge looks the same too, and stays the same on every attempt, as a
	// real user's does: the same iteration count and salt length, a stable salt.
	danaFirst := scramServerFirst(t, p, "dana")
	malloryFirst := scramServerFirst(t, p, "mallory")
	malloryAgain := scramServerFirst(t, p, "mallory")
	if danaFirst.iterations != malloryFirst.iterations || len(danaFirst.salt) != len(malloryFirst.salt) || len(danaFirst.nonce) != len(malloryFirst.nonce) {
		t.Errorf("SCRAM server-first for dana %+v and mallory %+v differ in shape", danaFirst, malloryFirst)
	}
	if malloryFirst.salt != malloryAgain.salt {
		t.Errorf("mallory's salt changes between attempts (%q, %q); a real user's does not", malloryFirst.salt, malloryAgain.salt)
	}
	if danaFirst.salt == malloryFirst.salt {
		t.Errorf("mallory gets dana's salt")
	}
}

// serverFirst is the decoded SCRAM server-first-message.
type serverFirst struct {
	nonce, salt string
	iterations  string
}

// scramServerFirst starts a login as user and returns pgmask's SCRAM challenge.
func scramServerFirst(t *testing.T, p *testProxy, user string) serverFirst {
	t.Helper()
	c := rawStartup(t, p, map[string]string{"user": user, "database": "clinic"})
	sasl, ok := c.receive(t).(*pgproto3.AuthenticationSASL)
	if !ok || len(sasl.AuthMechanisms) != 1 || sasl.AuthMechanisms[0] != "SCRAM-SHA-256" {
		t.Fatalf("want AuthenticationSASL offering SCRAM-SHA-256 only, got %+v", sasl)
	}
	const clientNonce = "rOprNGfwEbeRWgbNEkqO"
	c.send(t, &pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=" + clientNonce)})
	cont, ok := c.receive(t).(*pgproto3.AuthenticationSASLContinue)
	if !ok {
		t.Fatalf("want AuthenticationSASLContinue, got %T", cont)
	}
	var sf serverFirst
	for _, attr := range strings.Split(string(cont.Data), ",") {
		k, v, _ := strings.Cut(attr, "=")
		switch k {
		case "r":
			if !strings.HasPrefix(v, clientNonce) {
				t.Fatalf("server nonce %q does not extend the client nonce", v)
			}
			sf.nonce = v
		case "s":
			salt, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatalf("salt %q: %v", v, err)
			}
			sf.salt = string(salt)
		case "i":
			sf.iterations = v
		}
	}
	return sf
}

// rawStartup opens a plain connection to pgmask and sends a StartupMessage with params.
func rawStartup(t *testing.T, p *testProxy, params map[string]string) *rawClient {
	t.Helper()
	conn := p.dial(t)
	c := &rawClient{conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
	c.send(t, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: params})
	return c
}

func TestAnExpiredUserLearnsOfTheExpiryOnlyAfterProvingThePassword(t *testing.T) {
	p := startProxy(t, nil)
	pgErr := pgError(t, connectWith(t, p.dsn("eve"), nil))
	if pgErr.Severity != "FATAL" || pgErr.Code != "28000" || !strings.Contains(pgErr.Message, "expired") {
		t.Errorf("eve with her password: %s %s %q, want FATAL 28000 saying the access expired", pgErr.Severity, pgErr.Code, pgErr.Message)
	}
	pgErr = pgError(t, connectWith(t, wrongPasswordDSN(p, "eve"), nil))
	if pgErr.Code != "28P01" || strings.Contains(pgErr.Message, "expired") {
		t.Errorf("eve with a wrong password: %s %q, want 28P01 without a word of the expiry", pgErr.Code, pgErr.Message)
	}
}

func TestReplicationConnectionsAreRefused(t *testing.T) {
	p := startProxy(t, nil)
	for _, value := range []string{"database", "true", "on", "1"} {
		err := connectWith(t, p.dsn("dana"), map[string]string{"replication": value})
		pgErr := pgError(t, err)
		if pgErr.Severity != "FATAL" || pgErr.Code != "28000" || !strings.Contains(pgErr.Message, "replication") {
			t.Errorf("replication=%s: %s %s %q, want FATAL 28000 refusing replication", value, pgErr.Severity, pgErr.Code, pgErr.Message)
		}
	}
	if err := connectWith(t, p.dsn("dana"), map[string]string{"replication": "false"}); err != nil {
		t.Errorf("replication=false is an ordinary connection, but: %v", err)
	}
}

func TestStartupOptionsCannotChangeTheUpstreamSearchPath(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	var want string // what pgmask pins when the client asks for nothing
	if err := p.connect(t, "dana").QueryRow(ctx, "SHOW search_path").Scan(&want); err != nil {
		t.Fatal(err)
	}
	// The same options on a direct connection do take effect, so the test would notice
	// pgmask forwarding them.
	var direct string
	if err := connectDirect(t, func(c *pgx.ConnConfig) { c.RuntimeParams["options"] = "-c search_path=evil" }).
		QueryRow(ctx, "SHOW search_path").Scan(&direct); err != nil || direct != "evil" {
		t.Fatalf("direct connection with options: search_path %q, %v; the test relies on it being evil", direct, err)
	}

	for name, params := range map[string]map[string]string{
		"options -c":          {"options": "-c search_path=evil"},
		"options --":          {"options": "--search_path=evil"},
		"search_path":         {"search_path": "evil"},
		"mixed-case Options":  {"Options": "-c search_path=evil"},
		"options among valid": {"options": "-csearch_path=evil", "application_name": "ok"},
	} {
		t.Run(name, func(t *testing.T) {
			conn := p.connect(t, "dana", func(c *pgx.ConnConfig) {
				for k, v := range params {
					c.RuntimeParams[k] = v
				}
			})
			var got string
			if err := conn.QueryRow(ctx, "SHOW search_path").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("search_path through pgmask is %q, want %q as without the options", got, want)
			}
		})
	}
}

func TestHarmlessStartupParametersReachTheUpstream(t *testing.T) {
	ctx := context.Background()
	p := startProxy(t, nil)
	conn := p.connect(t, "dana", func(c *pgx.ConnConfig) {
		c.RuntimeParams["application_name"] = "pgmask startup test"
		c.RuntimeParams["TimeZone"] = "Asia/Kolkata"
		c.RuntimeParams["DateStyle"] = "German, DMY"
		c.RuntimeParams["IntervalStyle"] = "iso_8601"
		c.RuntimeParams["extra_float_digits"] = "1"
	})
	for setting, want := range map[string]string{
		"application_name":   "pgmask startup test",
		"TimeZone":           "Asia/Kolkata",
		"DateStyle":          "German, DMY",
		"IntervalStyle":      "iso_8601",
		"extra_float_digits": "1",
	} {
		var got string
		if err := conn.QueryRow(ctx, "SHOW "+setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("SHOW %s through pgmask = %q, want %q", setting, got, want)
		}
		if ps := conn.PgConn().ParameterStatus(setting); ps != "" && ps != want {
			t.Errorf("ParameterStatus %s = %q, want %q", setting, ps, want)
		}
	}
}

func TestADatabaseOtherThanTheUpstreamDatabaseIsRefusedWith3D000(t *testing.T) {
	p := startProxy(t, nil)
	pgErr := pgError(t, connectWith(t, strings.Replace(p.dsn("dana"), "dbname=clinic", "dbname=postgres", 1), nil))
	if pgErr.Severity != "FATAL" || pgErr.Code != "3D000" || pgErr.Message != `database "postgres" does not exist` {
		t.Errorf("dbname=postgres: %s %s %q, want FATAL 3D000 database \"postgres\" does not exist", pgErr.Severity, pgErr.Code, pgErr.Message)
	}

	// Without a database the user name is the database name, as in PostgreSQL.
	pgErr = pgError(t, connectWith(t, strings.Replace(p.dsn("dana"), "dbname=clinic ", "", 1), nil))
	if pgErr.Code != "3D000" || pgErr.Message != `database "dana" does not exist` {
		t.Errorf("no database: %s %q, want 3D000 for database \"dana\"", pgErr.Code, pgErr.Message)
	}

	// As in PostgreSQL, only a caller who proved the password learns which database
	// is served: a wrong password gets the authentication failure, not 3D000.
	wrong := strings.Replace(strings.Replace(p.dsn("dana"), "dbname=clinic", "dbname=postgres", 1), password("dana"), "wrong", 1)
	if pgErr := pgError(t, connectWith(t, wrong, nil)); pgErr.Code != "28P01" {
		t.Errorf("wrong password and wrong database: %s, want 28P01", pgErr.Code)
	}
}

func TestGSSAPIEncryptionIsDeclinedAndTheStartupContinuesInPlaintext(t *testing.T) {
	p := startProxy(t, nil)
	conn := p.dial(t)
	req, err := (&pgproto3.GSSEncRequest{}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer := make([]byte, 1)
	if _, err := conn.Read(answer); err != nil || answer[0] != 'N' {
		t.Fatalf("GSSENCRequest answered %q, %v; want N", answer, err)
	}
	c := &rawClient{conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
	c.send(t, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "dana", "database": "clinic"}})
	if m, ok := c.receive(t).(*pgproto3.AuthenticationSASL); !ok {
		t.Fatalf("after the declined GSSENCRequest the startup got %T, want AuthenticationSASL", m)
	}
}
