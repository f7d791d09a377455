// Package proxy is pgmask's wire side: the listener, TLS, startup and authentication,
// the per-client upstream connection, the session loop that relays the PostgreSQL
// protocol, and cancellation.
//
// It sits after config and rewriter in the data flow config → rewriter → proxy →
// cmd/pgmask. The proxy never inspects SQL itself: every Query, Parse and FunctionCall is
// handed to the rewriter, and only what the rewriter returns is forwarded. Server→client
// traffic is relayed as raw frames; only the type byte, and the bodies of the few
// message kinds the session must understand, are looked at.
//
// Every statement and session event is recorded in the audit log (proxy/audit): the
// pump and the relay match each statement to the answer that ended it (pending.go),
// and while the log cannot be written every statement is refused (auditlog.go). The
// log receives statement text only as normalized by audit.Normalize, and of upstream
// errors only their SQLSTATE; nothing else of the traffic is recorded or logged.
//
// A session's role can change between statements (purpose of use, break-glass; see
// access.go): what was prepared under the old role is discarded or prepared again, in
// internal cycles whose replies the relay swallows (inband.go).
//
// Prometheus metrics and the health checks are served on a listener of their own
// (metrics.go, health.go); their labels come from the configuration and fixed sets only.
package proxy
