package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/examples"
	"github.com/pgmask/pgmask/integration/clinic"
	"github.com/pgmask/pgmask/integration/pgtest"
	"github.com/pgmask/pgmask/proxy"
	"github.com/pgmask/pgmask/proxy/scram"
)

// demoPassword is the password of each demo user: demo data only, never real PHI.
func demoPassword(user string) string { return user + "-demo-password" }

// runDemo starts a throwaway PostgreSQL (or uses --upstream-dsn), loads the synthetic
// clinic data set, and serves the example policy until Ctrl-C.
func runDemo(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[--listen ADDR] [--patients N] [--upstream-dsn DSN]", stderr)
	listen := fs.String("listen", "127.0.0.1:6432", "address pgmask listens on")
	patients := fs.Int("patients", 10000, "number of synthetic patients")
	dsn := fs.String("upstream-dsn", "", "use this PostgreSQL database instead of starting a throwaway cluster (its clinic schema is replaced)")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *dsn == "" {
		fmt.Fprintln(stdout, "Starting a throwaway PostgreSQL cluster...")
		dir, err := os.MkdirTemp("", "pgmask-demo-log-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
		if err != nil {
			return err
		}
		defer logFile.Close()
		cluster, err := pgtest.Start(ctx, pgtest.Options{Log: logFile})
		if err != nil {
			return err
		}
		defer cluster.Stop()
		if err := cluster.CreateDatabase(ctx, "clinic"); err != nil {
			return err
		}
		*dsn = cluster.DSN("clinic")
	}
	upstream, err := pgx.ParseConfig(*dsn)
	if err != nil {
		return fmt.Errorf("--upstream-dsn: %w", err)
	}
	fmt.Fprintf(stdout, "Loading the synthetic clinic data set (%d patients)...\n", *patients)
	if err := loadClinic(ctx, upstream, *patients); err != nil {
		return err
	}

	auditDir, err := os.MkdirTemp("", "pgmask-demo-audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(auditDir)
	auditCfg, err := demoAudit(auditDir)
	if err != nil {
		return err
	}
	cfg, err := demoConfig(upstream, *listen, auditCfg)
	if err != nil {
		return err
	}
	srv, err := proxy.NewServer(proxy.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	printDemoUsers(stdout, cfg, ln.Addr().(*net.TCPAddr))
	printDemoAudit(stdout, cfg.Audit)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "\nStopping pgmask and removing the demo cluster and its audit log...")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-served
	return nil
}

func loadClinic(ctx context.Context, upstream *pgx.ConnConfig, patients int) error {
	conn, err := pgx.ConnectConfig(ctx, upstream)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return clinic.Load(ctx, conn, clinic.Options{Patients: patients})
}

// demoAudit is a file audit log in dir, keyed with a random key written next to it, so
// the demo shows what pgmask records and `pgmask audit verify` can check it.
func demoAudit(dir string) (config.Audit, error) {
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return config.Audit{}, err
	}
	return config.Audit{
		Sink:    config.AuditSinkFile,
		Path:    filepath.Join(dir, "audit.jsonl"),
		KeyFile: keyFile,
	}, nil
}

// demoConfig is the documented example configuration pointed at the demo database, with
// every user's verifier replaced by one for its demo password, and audit as its audit
// log.
func demoConfig(upstream *pgx.ConnConfig, listen string, audit config.Audit) (*config.Config, error) {
	cfg, err := config.Parse(examples.Config, examples.ConfigPath)
	if err != nil {
		return nil, err
	}
	cfg.Server.Listen = listen
	cfg.Upstream = config.Upstream{
		Address:  net.JoinHostPort(upstream.Host, strconv.Itoa(int(upstream.Port))),
		Database: upstream.Database,
		User:     upstream.User,
		Password: upstream.Password,
		SSLMode:  "disable",
	}
	for name, u := range cfg.Users {
		salt := make([]byte, 16)
		rand.Read(salt)
		v, err := scram.NewVerifier(demoPassword(name), salt, scram.DefaultIterations)
		if err != nil {
			return nil, err
		}
		u.Password = v.String()
		u.Expires = nil
		cfg.Users[name] = u
	}
	cfg.Audit = audit
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func printDemoUsers(w io.Writer, cfg *config.Config, addr *net.TCPAddr) {
	names := make([]string, 0, len(cfg.Users))
	for name := range cfg.Users {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\npgmask is listening on %s. Connect as one of the demo users:\n\n", addr)
	for _, name := range names {
		role := cfg.Users[name].Role
		fmt.Fprintf(w, "  # %s: role %s (profile %s)\n", name, role, cfg.Roles[role].Profile)
		fmt.Fprintf(w, "  psql \"host=%s port=%d dbname=%s user=%s password=%s sslmode=disable\"\n\n",
			addr.IP, addr.Port, cfg.Upstream.Database, name, demoPassword(name))
	}
}

func printDemoAudit(w io.Writer, a config.Audit) {
	fmt.Fprintf(w, "Every statement is recorded, without its literals, in the audit log\n  %s\n", a.Path)
	fmt.Fprintln(w, "(kept until the demo stops). Check that no record was changed, removed or added with:")
	fmt.Fprintf(w, "\n  pgmask audit verify --key-file %s %s\n\n", a.KeyFile, a.Path)
	fmt.Fprintln(w, "(from a source checkout: go run ./cmd/pgmask audit verify ...).")
}
