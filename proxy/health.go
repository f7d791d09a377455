package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The operations endpoints, on a listener of their own ([server] metrics_listen), so
// that neither clients nor the load balancer in front of them can reach the other's.
// Everything they say comes from fixed strings and counters: no PHI.

// ServeMetrics serves, over plain HTTP on ln, until Shutdown has drained the sessions:
//
//	/metrics  the Server's Prometheus metrics (metrics.go)
//	/healthz  200 while the process runs
//	/readyz   200 when pgmask can serve clients (see Ready), else 503 and why
func (s *Server) ServeMetrics(ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.MetricsHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.httpServers = append(s.httpServers, hs)
	s.mu.Unlock()
	s.log.Info("serving metrics and health checks", "addr", ln.Addr().String())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// closeHTTP ends the servers of ServeMetrics. Shutdown calls it last, so that /readyz
// says "shutting down" while the sessions drain.
func (s *Server) closeHTTP() {
	s.mu.Lock()
	servers := s.httpServers
	s.httpServers = nil
	s.mu.Unlock()
	for _, hs := range servers {
		hs.Close()
	}
}

// MetricsHandler is the handler ServeMetrics serves, for embedding it elsewhere.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      s.metrics.reg,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Ready(r.Context()); err != nil {
			plain(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		plain(w, http.StatusOK, "ready")
	})
	return mux
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// Ready returns nil when pgmask can serve clients: it is not shutting down, the
// catalog is loaded (without it every restricted statement is refused), the audit log
// accepts records (or is off), and a connection to the upstream can be opened. The
// error lists what is missing, in fixed words.
func (s *Server) Ready(ctx context.Context) error {
	if s.isClosing() {
		return errors.New("shutting down")
	}
	var missing []string
	if s.catalog.Load().Version == 0 {
		missing = append(missing, "catalog not loaded")
	}
	if _, healthy, ok := s.AuditHealth(); ok && healthy != nil {
		missing = append(missing, "audit log cannot be written")
	}
	if err := s.upstreamCheck.run(ctx, s); err != nil {
		missing = append(missing, "upstream unreachable")
	}
	if len(missing) > 0 {
		return errors.New(strings.Join(missing, "; "))
	}
	return nil
}

// Bounds of the readiness check of the upstream. A load balancer that polls /readyz
// every second costs PostgreSQL at most one connection per upstreamCheckEvery.
const (
	upstreamCheckEvery   = 2 * time.Second
	upstreamCheckTimeout = 3 * time.Second
)

// upstreamCheck remembers the last readiness check of the upstream. Checks that come
// in while one runs wait for its result instead of connecting too.
type upstreamCheck struct {
	mu  sync.Mutex
	at  time.Time // zero before the first check
	err error
}

func (c *upstreamCheck) run(ctx context.Context, s *Server) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < upstreamCheckEvery {
		return c.err
	}
	// Not the request's context: a prober that hangs up must not leave a failure
	// cached for the next one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), upstreamCheckTimeout)
	defer cancel()
	err := s.dialCheck(ctx)
	switch {
	case err != nil && c.err == nil:
		s.log.Warn("readiness: cannot connect to the upstream", "err", err.Error())
	case err == nil && c.err != nil && !c.at.IsZero():
		s.log.Info("readiness: the upstream is reachable again")
	}
	c.at, c.err = time.Now(), err
	return err
}

// dialCheck opens and closes a connection to the upstream as the [upstream] user.
func (s *Server) dialCheck(ctx context.Context) error {
	cfg := s.snapshot.Load().cfg
	password, err := cfg.Upstream.ResolvePassword()
	if err != nil {
		return err
	}
	conn, err := DialUpstream(ctx, cfg, cfg.Upstream.User, password, map[string]string{"application_name": "pgmask readiness"})
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}
