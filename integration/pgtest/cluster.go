// Package pgtest starts throwaway PostgreSQL clusters: initdb into a fresh
// temporary directory, start the server on a free port of 127.0.0.1 with
// SCRAM-SHA-256 password authentication, and remove everything on Stop.
//
// The integration tests use it to run against a real PostgreSQL, and
// `pgmask demo` uses it to give the proxy something to protect. It sits beside
// the product's data flow (config → rewriter → proxy): nothing in those
// packages may import it. It only ever stops or removes clusters it created.
//
// The cluster is built for speed, not durability (fsync, synchronous_commit
// and full_page_writes are off) and for reproducible output (locale C, time
// zone UTC). When the process runs as root, as CI does, the server runs as the
// postgres OS user, because PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options tune a cluster. The zero value is ready to use.
type Options struct {
	// Log receives the output of initdb and pg_ctl and, while the cluster
	// runs, the server log. Nil discards it; errors still quote its tail.
	Log io.Writer
	// Settings are extra postgresql.conf settings, written after pgtest's
	// own so they win. Give values unquoted ("work_mem": "64MB"); pgtest
	// quotes them. listen_addresses, port and unix_socket_directories belong
	// to pgtest and are refused.
	Settings map[string]string
}

// Cluster is a running throwaway PostgreSQL server. Its superuser is
// reachable over TCP with a password, and locally (socket in Dir) with trust.
type Cluster struct {
	Host     string // always "127.0.0.1"
	Port     int
	User     string // superuser, "postgres"
	Password string // superuser password, random per cluster
	Dir      string // temporary directory holding the data and socket directories

	bin      string
	owner    *owner
	log      io.Writer // nil when Options.Log is nil
	follower *follower

	mu      sync.Mutex
	stopped bool
}

// superuser is the bootstrap superuser initdb creates.
const superuser = "postgres"

// Start creates and starts a cluster. On error nothing is left behind:
// the server, if it started, is stopped and the directory removed.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if err := checkSettings(opts.Settings); err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	o, err := serverOwner()
	if err != nil {
		return nil, err
	}
	password, err := randomPassword()
	if err != nil {
		return nil, err
	}
	dir, err := makeDir(o)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Host: "127.0.0.1", User: superuser, Password: password, Dir: dir, bin: bin, owner: o}
	if opts.Log != nil {
		c.log = &lockedWriter{w: opts.Log}
	}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()

	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := c.includeConf(); err != nil {
		return nil, err
	}
	if c.log != nil {
		c.follower = follow(c.logFile(), c.log)
	}
	if err := c.start(ctx, opts.Settings); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop shuts the server down (pg_ctl stop -m fast) and removes Dir. It is
// safe to call more than once; later calls do nothing and return nil.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true

	var errs []error
	if c.running() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := c.pgctl(ctx, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
			errs = append(errs, err)
			// Do not leave a server running on a directory about to vanish.
			if err := c.pgctl(ctx, "-m", "immediate", "-w", "-t", "30", "stop"); err != nil && c.running() {
				errs = append(errs, err)
			}
		}
	}
	if c.follower != nil {
		c.follower.stop()
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtest: %w", err))
	}
	return errors.Join(errs...)
}

// DSN returns a URL that connects to database as the superuser over TCP.
func (c *Cluster) DSN(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.User, c.Password),
		Host:     net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates database name.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	return c.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// Exec runs sql, which may hold several statements, in database as the
// superuser on a connection of its own.
func (c *Cluster) Exec(ctx context.Context, database, sql string) error {
	conn, err := pgx.Connect(ctx, c.DSN(database))
	if err != nil {
		return fmt.Errorf("pgtest: connect to %q: %w", database, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: exec in %q: %w", database, err)
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.Dir, "server.log") }

// SocketDir is the directory of the server's Unix socket (.s.PGSQL.<Port>), where the
// superuser connects with trust.
func (c *Cluster) SocketDir() string { return filepath.Join(c.Dir, "socket") }

// running reports whether a postmaster claims the data directory.
func (c *Cluster) running() bool {
	_, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid"))
	return err == nil
}

func randomPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pgtest: password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
