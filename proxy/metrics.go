package proxy

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pgmask/pgmask/rewriter"
)

// Prometheus metrics, served by ServeMetrics (health.go); docs/operations.md lists them.
//
// Every Server has a registry of its own, so one process can run many servers (the
// tests do). Label values come only from small fixed sets — role names from the
// configuration, decisions, PostgreSQL condition names — never from anything a client
// sends: no statement text or value can reach a scrape, and no client can make the
// number of series grow. On the statement path a session uses counters resolved once
// for its role, so counting a statement is an atomic add, with no label lookup.

// metrics are a Server's collectors.
type metrics struct {
	reg *prometheus.Registry

	connections    prometheus.Counter
	refused        *prometheus.CounterVec // by reason
	sessions       *prometheus.CounterVec // by role
	statements     *prometheus.CounterVec // by role, decision
	denials        *prometheus.CounterVec // by role, reason
	rewriteSeconds prometheus.Histogram
	upstreamErrors [len(upstreamErrorKinds)]prometheus.Counter
	// breakGlass is the number of sessions elevated by break-glass right now: whoever
	// elevates a session increments it, and decrements it when the elevation ends.
	breakGlass prometheus.Gauge

	mu    sync.Mutex
	roles map[string]*roleMetrics
}

// roleMetrics are the counters of one role, resolved once and shared by its sessions.
type roleMetrics struct {
	role                       string
	sessions                   prometheus.Counter
	allowed, rewritten, denied prometheus.Counter
	reasons                    [len(denialReasons)]prometheus.Counter
}

// condition is a SQLSTATE and its name in PostgreSQL's Appendix A, a label value.
type condition struct{ code, name string }

// denialReasons label refused statements by the SQLSTATEs pgmask refuses with; the last
// entry takes any other code. The messages are never labels: they name columns.
var denialReasons = [...]condition{
	{rewriter.CodeInsufficientPrivilege, "insufficient_privilege"},
	{rewriter.CodeSyntaxError, "syntax_error"},
	{rewriter.CodeFeatureNotSupported, "feature_not_supported"},
	{"58000", "system_error"}, // the audit log cannot be written (errAuditUnavailable)
	{"", "other"},
}

// refusalReasons label connections pgmask refused before their session began.
var refusalReasons = [...]condition{
	{codeInvalidPassword, "invalid_password"},
	{codeInvalidAuthorization, "invalid_authorization_specification"},
	{"3D000", "invalid_catalog_name"},
	{codeConnectionFailure, "connection_failure"},
	{codeTooManyConnections, "too_many_connections"},
	{codeProtocolViolation, "protocol_violation"},
	{codeAdminShutdown, "admin_shutdown"},
	{"", "other"},
}

// reason returns the index of code in conds, or of the last entry.
func reason(conds []condition, code string) int {
	for i, c := range conds[:len(conds)-1] {
		if c.code == code {
			return i
		}
	}
	return len(conds) - 1
}

// Upstream error kinds, the values of pgmask_upstream_errors_total's label.
const (
	upstreamConnect = iota // a session's upstream connection could not be opened
	upstreamCatalog        // reading the catalog failed
	upstreamLost           // a session's upstream connection closed under it
)

var upstreamErrorKinds = [...]string{"connect", "catalog", "lost"}

// rewriteBuckets span a cache hit (well under a microsecond) to the parse of a large BI
// query (milliseconds; DESIGN §8).
var rewriteBuckets = prometheus.ExponentialBuckets(1e-6, 4, 10)

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pgmask_connections_total",
			Help: "Client connections accepted.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgmask_connections_refused_total",
			Help: "Client connections refused before their session began, by PostgreSQL condition name.",
		}, []string{"reason"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgmask_sessions_total",
			Help: "Sessions authenticated and connected upstream, by policy role.",
		}, []string{"role"}),
		statements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgmask_statements_total",
			Help: "Statements by policy role and decision (allowed: forwarded unchanged; rewritten; denied).",
		}, []string{"role", "decision"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgmask_denials_total",
			Help: "Statements refused, by policy role and PostgreSQL condition name of the refusal.",
		}, []string{"role", "reason"}),
		rewriteSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pgmask_rewrite_duration_seconds",
			Help:    "Time to decide a statement: rewrite-cache lookup, and parse and rewrite on a miss.",
			Buckets: rewriteBuckets,
		}),
		breakGlass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pgmask_break_glass_sessions",
			Help: "Sessions elevated by break-glass now.",
		}),
		roles: make(map[string]*roleMetrics),
	}
	upstreamErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgmask_upstream_errors_total",
		Help: "Upstream failures: connect (a session's connection), catalog (reading the catalog), lost (a connection closed under its session).",
	}, []string{"kind"})
	for i, kind := range upstreamErrorKinds {
		m.upstreamErrors[i] = upstreamErrors.WithLabelValues(kind)
	}
	m.reg.MustRegister(
		m.connections, m.refused, m.sessions, m.statements, m.denials, m.rewriteSeconds,
		m.breakGlass, upstreamErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pgmask_connections_active",
			Help: "Client connections open, authenticating ones included.",
		}, func() float64 { return float64(s.ActiveSessions()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pgmask_rewrite_cache_hits_total",
			Help: "Statements of restricted roles whose rewrite was found in the cache.",
		}, func() float64 { hits, _ := s.cache.Stats(); return float64(hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pgmask_rewrite_cache_misses_total",
			Help: "Statements of restricted roles that had to be parsed and rewritten.",
		}, func() float64 { _, misses := s.cache.Stats(); return float64(misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pgmask_rewrite_cache_entries",
			Help: "Rewrites held in the cache.",
		}, func() float64 { return float64(s.cache.Len()) }),
		auditCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// forRole returns the counters of role, creating its series at first use.
func (m *metrics) forRole(role string) *roleMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.roles[role]; ok {
		return r
	}
	r := &roleMetrics{
		role:      role,
		sessions:  m.sessions.WithLabelValues(role),
		allowed:   m.statements.WithLabelValues(role, "allowed"),
		rewritten: m.statements.WithLabelValues(role, "rewritten"),
		denied:    m.statements.WithLabelValues(role, "denied"),
	}
	for i, c := range denialReasons {
		r.reasons[i] = m.denials.WithLabelValues(role, c.name)
	}
	m.roles[role] = r
	return r
}

// refusedConnection counts a handshake that pgmask refused; a client that merely went
// away (psql hangs up to prompt for a password) was not refused.
func (m *metrics) refusedConnection(err error) {
	var se *sessionError
	var pe *protocolError
	switch {
	case errors.As(err, &se):
		m.refused.WithLabelValues(refusalReasons[reason(refusalReasons[:], se.code)].name).Inc()
	case errors.As(err, &pe):
		m.refused.WithLabelValues(refusalReasons[reason(refusalReasons[:], codeProtocolViolation)].name).Inc()
	}
}

// sessionEnded counts a session that ended because its upstream connection closed.
func (m *metrics) sessionEnded(err error, upstreamAlive bool) {
	if disconnectReason(err, upstreamAlive) == "upstream closed" {
		m.upstreamErrors[upstreamLost].Inc()
	}
}

// stats returns the counters of the session's role, which purpose and break-glass may
// change during the session. Only the pump calls it.
func (s *Session) stats() *roleMetrics {
	if s.counters == nil || s.counters.role != s.role {
		s.counters = s.srv.metrics.forRole(s.role)
	}
	return s.counters
}

// counted records the rewriter's decision on a statement and the time since start.
// Denials are counted when they are queued (countDenial), together with the refusals
// that never reach the rewriter.
func (s *Session) counted(res rewriter.Result, start time.Time) rewriter.Result {
	s.srv.metrics.rewriteSeconds.Observe(time.Since(start).Seconds())
	switch {
	case res.Denial != nil:
	case res.Unchanged:
		s.stats().allowed.Inc()
	default:
		s.stats().rewritten.Inc()
	}
	return res
}

// countDenial counts a refused statement; every denial goes through the session's
// denial queue (deny.go), which calls it.
func (s *Session) countDenial(d *rewriter.Denial) {
	m := s.stats()
	m.denied.Inc()
	m.reasons[reason(denialReasons[:], d.Code)].Inc()
}

// auditCollector exports the audit log's counters, read once per scrape. With the audit
// log off it exports nothing.
type auditCollector struct{ s *Server }

var (
	auditWrittenDesc = prometheus.NewDesc("pgmask_audit_records_written_total",
		"Audit records the sink stored, checkpoints included.", nil, nil)
	auditFailuresDesc = prometheus.NewDesc("pgmask_audit_write_failures_total",
		"Failed audit sink writes and rotations.", nil, nil)
	auditDroppedDesc = prometheus.NewDesc("pgmask_audit_records_dropped_total",
		"Audit records lost because the queue was full.", nil, nil)
	auditLagDesc = prometheus.NewDesc("pgmask_audit_lag_records",
		"Audit records queued or being written.", nil, nil)
	auditHealthyDesc = prometheus.NewDesc("pgmask_audit_healthy",
		"1 when the audit log accepts records; 0 while pgmask refuses statements because it cannot write them.", nil, nil)
	auditLastFailureDesc = prometheus.NewDesc("pgmask_audit_last_failure_timestamp_seconds",
		"When the audit sink last failed (Unix time); absent if it never did.", nil, nil)
)

func (c auditCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{auditWrittenDesc, auditFailuresDesc, auditDroppedDesc, auditLagDesc, auditHealthyDesc, auditLastFailureDesc} {
		ch <- d
	}
}

func (c auditCollector) Collect(ch chan<- prometheus.Metric) {
	stats, healthy, ok := c.s.AuditHealth()
	if !ok {
		return
	}
	up := 1.0
	if healthy != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(auditWrittenDesc, prometheus.CounterValue, float64(stats.Written))
	ch <- prometheus.MustNewConstMetric(auditFailuresDesc, prometheus.CounterValue, float64(stats.Failures))
	ch <- prometheus.MustNewConstMetric(auditDroppedDesc, prometheus.CounterValue, float64(stats.Dropped))
	ch <- prometheus.MustNewConstMetric(auditLagDesc, prometheus.GaugeValue, float64(stats.Lag))
	ch <- prometheus.MustNewConstMetric(auditHealthyDesc, prometheus.GaugeValue, up)
	if !stats.LastErrorAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(auditLastFailureDesc, prometheus.GaugeValue, float64(stats.LastErrorAt.UnixNano())/1e9)
	}
}
