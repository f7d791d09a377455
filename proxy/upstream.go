package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
)

// upstreamConn is an authenticated upstream connection taken over from pgconn.
type upstreamConn struct {
	params     map[string]string
	paramOrder []string
	txStatus   byte
	cancel     cancelTarget
}

// connectUpstream opens the session's upstream connection as its role's upstream
// identity. pgconn does the startup, TLS per sslmode and authentication (SCRAM, md5,
// trust); pgmask then takes over the raw connection and relays frames itself.
func (s *Session) connectUpstream(ctx context.Context, snap *snapshot) (*upstreamConn, error) {
	user, password, err := snap.cfg.UpstreamCredentials(s.role)
	if err != nil {
		return nil, err
	}
	s.upstreamUser = user
	s.searchPath = snap.cfg.Upstream.SearchPath
	pc, err := DialUpstream(ctx, snap.cfg, user, password, s.pinnedParams(snap))
	if err != nil {
		s.log.Warn("upstream connection failed", "err", err.Error())
		s.srv.metrics.upstreamErrors[upstreamConnect].Inc()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == codeTooManyConnections {
			return nil, fatalf(codeTooManyConnections, "the upstream server has too many connections", "")
		}
		return nil, fatalf(codeConnectionFailure, "pgmask could not connect to the upstream server",
			"The pgmask log says why; ask its operator.")
	}
	h, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return nil, err
	}
	s.upstream = h.Conn
	s.upstreamR = bufio.NewReaderSize(h.Conn, readBufferSize)
	s.upstreamW = bufio.NewWriterSize(h.Conn, writeBufferSize)

	names := make([]string, 0, len(h.ParameterStatuses))
	for name := range h.ParameterStatuses {
		names = append(names, name)
	}
	sort.Strings(names)
	remote := h.Conn.RemoteAddr()
	return &upstreamConn{
		params:     h.ParameterStatuses,
		paramOrder: names,
		txStatus:   h.TxStatus,
		cancel:     cancelTarget{network: remote.Network(), address: remote.String(), pid: h.PID, secret: h.SecretKey},
	}, nil
}

// DialUpstream connects to the configured upstream database as user, with the address,
// TLS settings and database every pgmask session uses; params are the startup
// parameters. pgmask's commands that read the upstream (explain, check) use it too, so
// they see the database exactly as sessions do.
func DialUpstream(ctx context.Context, cfg *config.Config, user, password string, params map[string]string) (*pgconn.PgConn, error) {
	up := cfg.Upstream
	host, port, err := net.SplitHostPort(up.Address)
	if err != nil {
		return nil, fmt.Errorf("upstream.address: %w", err)
	}
	connString := fmt.Sprintf("host=%s port=%s dbname=%s user=%s sslmode=%s",
		quoteConnValue(host), quoteConnValue(port), quoteConnValue(up.Database), quoteConnValue(user), quoteConnValue(up.SSLMode))
	if up.SSLRootCert != "" {
		connString += " sslrootcert=" + quoteConnValue(up.SSLRootCert)
	}
	pcfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("upstream configuration: %w", err)
	}
	pcfg.Password = password
	pcfg.RuntimeParams = params
	return pgconn.ConnectConfig(ctx, pcfg)
}

// quoteConnValue quotes a value for a libpq keyword/value connection string.
func quoteConnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// pinnedParams are the startup parameters of the upstream session: the client's
// harmless ones, then the settings pgmask's enforcement relies on, which clients cannot
// override (startup options are never forwarded, and the rewriter refuses SET of them
// for restricted roles).
func (s *Session) pinnedParams(snap *snapshot) map[string]string {
	p := upstreamParams(s.params)
	p["search_path"] = snap.cfg.Upstream.SearchPath
	p["standard_conforming_strings"] = "on"
	if snap.cfg.Roles[s.role].IsReadOnly() {
		p["default_transaction_read_only"] = "on"
	}
	return p
}
