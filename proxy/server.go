package proxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/proxy/reid"
	"github.com/pgmask/pgmask/rewriter"
	"github.com/pgmask/pgmask/rewriter/transform"
)

// Options configures a Server. Config is required; the rest have defaults.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Now is the clock (expiry checks); defaults to time.Now.
	Now func() time.Time
	// Random supplies nonces, keys and secrets; defaults to crypto/rand.
	Random io.Reader
	// AuditSink, when not nil, replaces the sink the [audit] section names (the
	// Server owns it and closes it). Tests use it to make the audit log fail.
	AuditSink audit.Sink
}

// Server accepts PostgreSQL clients and runs a Session for each.
type Server struct {
	log    *slog.Logger
	now    func() time.Time
	random io.Reader

	snapshot       atomic.Pointer[snapshot]
	catalog        atomic.Pointer[rewriter.Catalog]
	version        atomic.Uint64 // of compiled policies
	catalogVersion atomic.Uint64
	cache          *rewriter.Cache
	metrics        *metrics
	// stop ends the background work of Serve (catalog refresh).
	stop context.CancelFunc

	cancels cancelRegistry
	// denyMarker is the per-process prefix of the function name pgmask sends upstream in
	// place of a denied statement (see deny.go).
	denyMarker string

	// auditLog is the audit log, nil when [audit] sink is "off"; auditCfg is the
	// section it was opened with (a reload cannot change it).
	auditLog   *audit.Logger
	auditCfg   config.Audit
	auditClose sync.Once
	auditErr   error

	// upstreamCheck caches the readiness check of the upstream (health.go).
	upstreamCheck upstreamCheck
	// codes remembers the subject tables topped up with re-identification codes and
	// what their change counters said then (refresh.go).
	codes reid.Memory

	mu          sync.Mutex
	ln          net.Listener
	httpServers []*http.Server // of ServeMetrics
	closing     bool
	sessions    map[*Session]struct{}
	wg          sync.WaitGroup
}

// snapshot is everything a reload replaces at once. Sessions read the current one at
// each statement, so a reload applies to open sessions at their next statement.
type snapshot struct {
	cfg    *config.Config
	policy *rewriter.Policy
	tls    *tls.Config // nil when no certificate is configured
	// mockSecret derives the fake SCRAM verifiers shown to unknown users (see mockSecret).
	mockSecret []byte
}

// NewServer validates the options, compiles the initial policy and opens the audit
// log. It fails when the audit log cannot be written.
func NewServer(opts Options) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("proxy: Options.Config is required")
	}
	s := &Server{
		log:      opts.Logger,
		now:      opts.Now,
		random:   opts.Random,
		sessions: make(map[*Session]struct{}),
		cache:    rewriter.NewCache(rewriteCacheSize),
	}
	s.metrics = newMetrics(s)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	secret := make([]byte, 8)
	if _, err := io.ReadFull(s.random, secret); err != nil {
		return nil, fmt.Errorf("proxy: reading random secret: %w", err)
	}
	s.denyMarker = "pgmask_denied_" + hex.EncodeToString(secret) + "_"
	s.catalog.Store(&rewriter.Catalog{})
	if err := s.Reload(opts.Config); err != nil {
		return nil, err
	}
	if err := s.openAudit(opts.Config.Audit, opts.AuditSink); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload compiles cfg and, if it is valid, makes it the policy for every new statement.
// An invalid cfg leaves the current policy in place and returns why. Either way the
// audit log records it. The [audit] section itself takes effect only at a restart.
func (s *Server) Reload(cfg *config.Config) error {
	err := s.reload(cfg)
	if err == nil && s.auditLog != nil && cfg.Audit != s.auditCfg {
		s.log.Warn("the [audit] section changed: restart pgmask to apply it; the audit log goes on as configured at startup")
	}
	if snap := s.snapshot.Load(); snap != nil {
		s.recordReload(snap.policy.Version, err)
	}
	return err
}

func (s *Server) reload(cfg *config.Config) error {
	secrets, err := ReadSecrets(cfg)
	if err != nil {
		return err
	}
	if secrets.Key == nil {
		s.log.Warn("no masking key configured ([masking] key_env / key_file): hash and date_shift use a random per-process key, so their values change at every restart and differ between instances")
	}
	policy, err := rewriter.CompileWith(cfg, s.version.Add(1), secrets)
	if err != nil {
		return err
	}
	snap := &snapshot{cfg: cfg, policy: policy, mockSecret: mockSecret(cfg)}
	if cfg.Server.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Server.TLSCert, cfg.Server.TLSKey)
		if err != nil {
			return fmt.Errorf("server.tls_cert/tls_key: %w", err)
		}
		snap.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	// Secrets are read again at every connection (so rotation needs no reload), but a
	// reload that names one that cannot be read is refused now rather than at login.
	for name := range cfg.Roles {
		if _, _, err := cfg.UpstreamCredentials(name); err != nil {
			return err
		}
	}
	s.snapshot.Store(snap)
	return nil
}

// SetCatalog installs a new catalog snapshot for the rewriter.
func (s *Server) SetCatalog(c *rewriter.Catalog) { s.catalog.Store(c) }

// rewriteCacheSize is how many distinct (role, statement) rewrites are kept.
const rewriteCacheSize = 10000

// Serve loads the catalog, then accepts connections on ln until Shutdown is called or
// ln fails, refreshing the catalog periodically meanwhile. A catalog that cannot be
// loaded is logged, not fatal: full roles work, restricted ones are refused until a
// later refresh succeeds.
func (s *Server) Serve(ln net.Listener) error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.ln = ln
	s.stop = stop
	s.mu.Unlock()
	if s.catalog.Load().Version == 0 {
		if err := s.RefreshCatalog(ctx); err != nil {
			s.log.Error("catalog not loaded: statements of restricted roles are refused until it is", "err", err.Error())
		}
	}
	go s.refreshCatalogs(ctx)
	s.log.Info("listening", "addr", ln.Addr().String())
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Temporary exhaustion (EMFILE and friends): back off instead of spinning.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.start(conn)
	}
}

func (s *Server) start(conn net.Conn) {
	s.metrics.connections.Inc()
	sess := newSession(s, conn)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.sessions, sess)
			s.mu.Unlock()
		}()
		sess.run()
	}()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops accepting connections and waits for open sessions to end. When ctx
// expires first, the remaining sessions are told the server is shutting down and closed,
// and ctx.Err() is returned. Then it closes the audit log; an error doing so (records
// that could not be written) is returned instead.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.closeHTTP() // last: /readyz says "shutting down" while sessions drain
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	if s.stop != nil {
		s.stop()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.sessions {
			sess.terminate()
		}
		s.mu.Unlock()
		<-done
		err = ctx.Err()
	}
	// After the sessions, so that their last records are in.
	if aerr := s.closeAudit(); aerr != nil {
		s.log.Error("closing the audit log", "err", aerr.Error())
		return aerr
	}
	return err
}

// ActiveSessions reports how many client sessions are open.
func (s *Server) ActiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// mockSecret derives the key of the mock verifiers from the secrets of the configured
// users. It must not change between restarts: a fake salt that changes when a real one
// would not reveals that the user does not exist (PostgreSQL keeps its mock nonce in
// pg_control for the same reason). Nobody without the verifiers can compute it.
func mockSecret(cfg *config.Config) []byte {
	names := make([]string, 0, len(cfg.Users))
	for name := range cfg.Users {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	h.Write([]byte("pgmask mock verifier\x00"))
	for _, name := range names {
		h.Write([]byte(cfg.Users[name].Password))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// ReadSecrets reads what the policy needs besides the file: the masking key and the
// replacement ZIP3 list, if configured.
func ReadSecrets(cfg *config.Config) (rewriter.Secrets, error) {
	key, err := cfg.Masking.ResolveKey()
	if err != nil {
		return rewriter.Secrets{}, err
	}
	secrets := rewriter.Secrets{Key: key}
	if cfg.Masking.Zip3File != "" {
		z, err := transform.LoadZip3(cfg.Masking.Zip3File)
		if err != nil {
			return rewriter.Secrets{}, fmt.Errorf("masking.zip3_file: %w", err)
		}
		secrets.Zip3 = &z
	}
	return secrets, nil
}
