package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy"
)

func runServe(args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("serve", "--config FILE", stderr)
	path := fs.String("config", "pgmask.toml", "configuration file")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	srv, err := proxy.NewServer(proxy.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		srv.Shutdown(context.Background()) // ends the audit log's chain properly
		return err
	}
	if err := serveMetrics(srv, cfg, log); err != nil {
		ln.Close()
		srv.Shutdown(context.Background())
		return err
	}
	return serveUntilSignal(srv, ln, cfg, *path, log)
}

// serveMetrics starts the metrics and health endpoints when server.metrics_listen is
// set. They stop with srv.Shutdown.
func serveMetrics(srv *proxy.Server, cfg *config.Config, log *slog.Logger) error {
	if cfg.Server.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.Server.MetricsListen)
	if err != nil {
		return fmt.Errorf("server.metrics_listen: %w", err)
	}
	go func() {
		if err := srv.ServeMetrics(ln); err != nil {
			log.Error("the metrics listener stopped", "err", err.Error())
		}
	}()
	return nil
}

// serveUntilSignal runs srv on ln. SIGHUP reloads the configuration file (an invalid
// file keeps the running policy and logs why); SIGINT or SIGTERM stop accepting, drain
// open sessions for server.shutdown_timeout, and close the audit log (an error if
// records could not be written).
func serveUntilSignal(srv *proxy.Server, ln net.Listener, cfg *config.Config, path string, log *slog.Logger) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		select {
		case err := <-served:
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload(srv, path, log)
				continue
			}
			log.Info("shutting down", "signal", sig.String(), "drain", cfg.Server.ShutdownTimeout.Duration.String(),
				"sessions", srv.ActiveSessions())
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Duration)
			err := srv.Shutdown(ctx)
			cancel()
			<-served
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return nil
		}
	}
}

func reload(srv *proxy.Server, path string, log *slog.Logger) {
	cfg, err := config.Load(path)
	if err == nil {
		err = srv.Reload(cfg) // records the reload in the audit log
	} else {
		srv.ReloadFailed(err)
	}
	if err != nil {
		log.Error("reload failed; keeping the running policy", "config", path, "err", err.Error())
		return
	}
	log.Info("configuration reloaded", "config", path)
	if err := srv.RefreshCatalog(context.Background()); err != nil {
		log.Warn("catalog refresh after reload failed; keeping the previous snapshot", "err", err.Error())
	}
}
