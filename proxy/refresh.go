package proxy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/catalog"
	"github.com/pgmask/pgmask/proxy/reid"
)

// RefreshCatalog reads a new catalog snapshot from the upstream, as the [upstream]
// user, and installs it for the next statement of every session. Until the first
// snapshot is loaded the rewriter refuses every statement of a restricted role.
//
// When a role shows re-identification codes, it first makes sure the table of codes
// exists and gives new subjects a code (ensureCodes), so the snapshot sees the table.
func (s *Server) RefreshCatalog(ctx context.Context) error {
	err := s.refreshCatalog(ctx)
	if err != nil {
		s.metrics.upstreamErrors[upstreamCatalog].Inc()
	}
	return err
}

func (s *Server) refreshCatalog(ctx context.Context) error {
	cfg := s.snapshot.Load().cfg
	password, err := cfg.Upstream.ResolvePassword()
	if err != nil {
		return err
	}
	if reid.Needed(cfg) {
		s.ensureCodes(ctx, cfg, password)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := DialUpstream(ctx, cfg, cfg.Upstream.User, password, map[string]string{"application_name": "pgmask catalog"})
	if err != nil {
		return fmt.Errorf("loading the catalog: %w", err)
	}
	defer conn.Close(context.Background())
	cat, err := catalog.Load(ctx, conn, s.catalogVersion.Add(1))
	if err != nil {
		return fmt.Errorf("loading the catalog: %w", err)
	}
	s.catalog.Store(cat)
	return nil
}

// ensureCodes runs reid.Ensure as the [upstream] user, on a connection of its own so
// that a failure, or a long first run over a large table, cannot cost the catalog
// refresh. A failure is logged and otherwise ignored: without the table the rewriter
// refuses what needs codes, and a subject without a code is shown NULL. The Server's
// reid.Memory lets it skip the tables nothing was written to since their last top-up
// by this process, so that an idle database is not scanned at every refresh.
func (s *Server) ensureCodes(ctx context.Context, cfg *config.Config, password string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := DialUpstream(ctx, cfg, cfg.Upstream.User, password, map[string]string{"application_name": "pgmask codes"})
	if err != nil {
		s.log.Warn("re-identification codes: cannot connect upstream; roles that show codes are refused until the table exists", "err", err.Error())
		return
	}
	defer conn.Close(context.Background())
	rep, err := s.codes.Ensure(ctx, conn, cfg)
	if rep.Created {
		s.log.Info("re-identification codes: created " + reid.Table)
	}
	if rep.NewCodes > 0 {
		s.log.Info("re-identification codes: new subjects coded", "count", rep.NewCodes)
	}
	if len(rep.Unchanged) > 0 {
		s.log.Debug("re-identification codes: tables unchanged since their last top-up, not read",
			"count", len(rep.Unchanged), "tables", strings.Join(rep.Unchanged, ", "))
	}
	if err != nil {
		s.log.Warn("re-identification codes: not fully ensured; roles that show codes are refused until the table exists, and subjects without a code are shown NULL", "err", err.Error())
	}
}

// refreshCatalogs reloads the catalog every [upstream] catalog_refresh until ctx ends,
// so schema changes reach the rewriter without a restart. A failed refresh keeps the
// previous snapshot.
func (s *Server) refreshCatalogs(ctx context.Context) {
	for {
		every := s.snapshot.Load().cfg.Upstream.CatalogRefresh.Duration
		if every <= 0 {
			every = time.Minute
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if err := s.RefreshCatalog(ctx); err != nil {
			s.log.Warn("catalog refresh failed; keeping the previous snapshot", "err", err.Error())
		}
	}
}
