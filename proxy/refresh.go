package proxy

import (
	"context"
	"fmt"
	"time"

	"github.com/pgmask/pgmask/proxy/catalog"
)

// RefreshCatalog reads a new catalog snapshot from the upstream, as the [upstream]
// user, and installs it for the next statement of every session. Until the first
// snapshot is loaded the rewriter refuses every statement of a restricted role.
func (s *Server) RefreshCatalog(ctx context.Context) error {
	cfg := s.snapshot.Load().cfg
	password, err := cfg.Upstream.ResolvePassword()
	if err != nil {
		return err
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
