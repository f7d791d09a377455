package proxy

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgmask/pgmask/proxy/audit"
	"github.com/pgmask/pgmask/rewriter"
)

// Matching statements to their outcomes, for the audit log.
//
// The upstream answers the messages of a session strictly in the order they were sent
// (protocol docs §55.2.3, "Extended Query", and §55.2.2 for pipelining), so the pump
// pushes every message that gets an answer onto a FIFO before writing it upstream, and
// the relay pops them as the answers stream by, looking only at type bytes and at the
// bodies of CommandComplete (its row count) and ErrorResponse (its SQLSTATE).
//
//   - A Query (or FunctionCall) is one entry and one record: it ends at ReadyForQuery,
//     with the rows of all its CommandCompletes and the first error's SQLSTATE.
//   - Parse, Bind, Describe and Close are entries too, so that an error is charged to
//     the message that caused it, and so that a statement or portal name is bound only
//     when PostgreSQL confirms it (ParseComplete, BindComplete): a Parse the upstream
//     refuses (a name already in use) never changes what an Execute is recorded as.
//   - Each Execute is one record, of the statement its portal was bound to. It ends at
//     CommandComplete, EmptyQueryResponse, PortalSuspended (rows: the DataRows relayed)
//     or ErrorResponse.
//   - After an error PostgreSQL skips everything until Sync; at ReadyForQuery the
//     entries of that cycle still waiting were skipped and are dropped unrecorded.
//
// Statements are normalized once, at Query or at Parse, never per Execute. When the
// audit log is off a session has no sessionAudit and none of this runs.

// opKind is a frontend message the upstream answers, as the FIFO tracks it.
type opKind uint8

const (
	opQuery    opKind = iota // Query or FunctionCall: recorded at ReadyForQuery
	opParse                  // confirmed by ParseComplete
	opBind                   // confirmed by BindComplete
	opDescribe               // answered by RowDescription or NoData
	opClose                  // confirmed by CloseComplete
	opExecute                // recorded when its portal has run
)

// op is one entry of the FIFO.
type op struct {
	kind  opKind
	cycle uint64 // the Query/Sync cycle it belongs to (see Session.cycles)
	// name is the statement (Parse, Bind, Close 'S') or portal (Execute, Close 'P');
	// portal is Bind's portal; closePortal tells Close's two kinds apart.
	name, portal string
	closePortal  bool
	// stmt is what a Query or Parse runs; nil when pgmask refused it, which was
	// recorded as a denial already. refused marks an Execute pgmask refused.
	stmt    *auditedStatement
	refused bool

	start    time.Time
	rows     audit.Rows
	sqlstate string
}

// auditedStatement is a statement as the audit log records it.
type auditedStatement struct {
	query    audit.Query
	decision audit.Decision
}

// unknownStatement stands for a portal pgmask did not see bound: a cursor opened
// with DECLARE, or a statement prepared with PREPARE, both of which were recorded when
// they ran through the rewriter. Executing it is recorded with its rows, without SQL.
var unknownStatement = &auditedStatement{query: audit.Query{Kind: "EXECUTE"}, decision: audit.Allowed}

// functionCall stands for a fast-path FunctionCall, which has no SQL.
var functionCall = audit.Query{Kind: "FUNCTION CALL"}

// Bounds on the per-session name tables. PostgreSQL keeps any number of prepared
// statements, and a client can drop them with DEALLOCATE, which pgmask does not see;
// past the bound an arbitrary statement is forgotten, and executing it is recorded as
// unknownStatement.
const (
	maxTrackedStatements = 10000
	maxInternedNames     = 4096
)

// sessionAudit is a session's side of the audit log.
type sessionAudit struct {
	log audit.Auditor
	who atomic.Pointer[audit.Session] // see whom
	now func() time.Time

	mu   sync.Mutex
	ops  []op
	head int // index of the oldest op in ops

	// Owned by the pump.
	names  map[string]string // interned statement and portal names
	recent map[string]recentStatement

	// Owned by the relay (and by the session's owner once the relay has ended).
	statements  map[string]*auditedStatement
	portals     map[string]*auditedStatement
	dataRows    int64  // DataRows relayed since the last op ended
	failedCycle uint64 // the last cycle an error cut short
}

func newSessionAudit(log audit.Auditor, who audit.Session, now func() time.Time) *sessionAudit {
	a := &sessionAudit{
		log:        log,
		now:        now,
		names:      make(map[string]string),
		recent:     make(map[string]recentStatement),
		statements: make(map[string]*auditedStatement),
		portals:    make(map[string]*auditedStatement),
	}
	a.who.Store(&who)
	return a
}

// recentStatement is a statement normalized for a Query or Parse, with what its
// rewrite depended on.
type recentStatement struct {
	st            *auditedStatement
	policyVersion uint64
	unchanged     bool
	disclosures   []rewriter.Disclosure
}

// maxRecentStatements bounds the statements a session keeps normalized.
const maxRecentStatements = 128

// statement is sql, with what the rewriter made of it, as the log records it. Drivers
// send the same text again and again (an unnamed Parse per execution): it is
// normalized once, and again only when its rewrite changed (the policy was reloaded,
// the catalog refreshed, or the rewriter's cache made a new Result).
func (a *sessionAudit) statement(sql string, res rewriter.Result, policyVersion uint64) *auditedStatement {
	if r, ok := a.recent[sql]; ok && r.policyVersion == policyVersion && r.unchanged == res.Unchanged &&
		sameDisclosures(r.disclosures, res.Disclosures) {
		return r.st
	}
	norm := audit.Normalize(sql)
	st := &auditedStatement{
		query: audit.Query{
			SQL:           norm,
			Kind:          statementKind(norm.String()),
			Access:        accessOf(res.Disclosures),
			PolicyVersion: policyVersion,
		},
		decision: audit.Rewritten,
	}
	if res.Unchanged {
		st.decision = audit.Allowed
	}
	if len(a.recent) >= maxRecentStatements {
		clear(a.recent)
	}
	a.recent[sql] = recentStatement{st: st, policyVersion: policyVersion, unchanged: res.Unchanged, disclosures: res.Disclosures}
	return st
}

// sameDisclosures reports whether a and b are the same slice: a Result the rewriter's
// cache returned again.
func sameDisclosures(a, b []rewriter.Disclosure) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// statementKind is the first keyword of a normalized statement ("SELECT", "COPY"),
// a label for readers of the log; what the statement touched is in its access list.
// For a string of several statements it is the first one's.
func statementKind(norm string) string {
	end := 0
	for end < len(norm) && (norm[end]|0x20 >= 'a' && norm[end]|0x20 <= 'z' || norm[end] == '_') {
		end++
	}
	return strings.ToUpper(norm[:end])
}

func accessOf(ds []rewriter.Disclosure) []audit.Access {
	if len(ds) == 0 {
		return nil
	}
	out := make([]audit.Access, len(ds))
	for i, d := range ds {
		out[i] = audit.Access{Relation: d.Relation, Column: d.Column, Treatment: string(d.Treatment)}
	}
	return out
}

// intern returns name as a string, allocating only the first time it is seen.
func (a *sessionAudit) intern(name []byte) string {
	if len(name) == 0 {
		return ""
	}
	if s, ok := a.names[string(name)]; ok {
		return s
	}
	if len(a.names) >= maxInternedNames {
		clear(a.names)
	}
	s := string(name)
	a.names[s] = s
	return s
}

// push appends o to the FIFO. The pump calls it before writing the message upstream,
// so no answer can arrive before its op.
func (a *sessionAudit) push(o op) {
	a.mu.Lock()
	if a.head > 64 && a.head*2 > len(a.ops) { // a long pipeline: reclaim the popped half
		n := copy(a.ops, a.ops[a.head:])
		clear(a.ops[n:])
		a.ops, a.head = a.ops[:n], 0
	}
	a.ops = append(a.ops, o)
	a.mu.Unlock()
}

// headLocked returns the oldest op if it belongs to cycle, else nil.
func (a *sessionAudit) headLocked(cycle uint64) *op {
	if a.head == len(a.ops) || a.ops[a.head].cycle != cycle {
		return nil
	}
	return &a.ops[a.head]
}

func (a *sessionAudit) popLocked() op {
	o := a.ops[a.head]
	a.ops[a.head] = op{}
	a.head++
	if a.head == len(a.ops) {
		a.ops, a.head = a.ops[:0], 0
	}
	return o
}

// The relay's side. cycle is the cycle being answered: one more than the number of
// ReadyForQuery messages relayed before the message at hand.

// dataRow counts a DataRow, for an Execute that ends suspended.
func (a *sessionAudit) dataRow() { a.dataRows++ }

// commandComplete adds the tag's row count to the running Query, or ends the running
// Execute.
func (a *sessionAudit) commandComplete(tag []byte, cycle uint64) {
	a.mu.Lock()
	h := a.headLocked(cycle)
	switch {
	case h == nil:
		a.mu.Unlock()
	case h.kind == opQuery:
		h.rows.AddTag(tag)
		a.mu.Unlock()
	case h.kind == opExecute:
		h.rows.AddTag(tag)
		o := a.popLocked()
		a.mu.Unlock()
		a.executed(&o)
	default:
		a.mu.Unlock()
	}
}

// executeEnded ends the running Execute without a row count (EmptyQueryResponse), or
// with the DataRows relayed (PortalSuspended).
func (a *sessionAudit) executeEnded(suspended bool, cycle uint64) {
	o, ok := a.popHead(opExecute, cycle)
	if !ok {
		return
	}
	if suspended {
		o.rows = audit.CountRows(a.dataRows)
	}
	a.executed(&o)
}

// confirmed handles ParseComplete, BindComplete, CloseComplete, and RowDescription or
// NoData (which end a Describe, and are otherwise part of a result).
func (a *sessionAudit) confirmed(kind opKind, cycle uint64) {
	if o, ok := a.popHead(kind, cycle); ok {
		a.apply(&o)
	}
}

// popHead removes and returns the oldest pending op when it is of kind and belongs to
// cycle; otherwise it leaves the queue as it is.
func (a *sessionAudit) popHead(kind opKind, cycle uint64) (op, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.headLocked(cycle); h == nil || h.kind != kind {
		return op{}, false
	}
	return a.popLocked(), true
}

// apply makes what a confirmed Parse, Bind or Close did to the session's names.
func (a *sessionAudit) apply(o *op) {
	switch o.kind {
	case opParse:
		if o.stmt == nil { // a refused Parse fails upstream: nothing to bind
			return
		}
		if _, ok := a.statements[o.name]; !ok && len(a.statements) >= maxTrackedStatements {
			for k := range a.statements {
				delete(a.statements, k)
				break
			}
		}
		a.statements[o.name] = o.stmt
	case opBind:
		a.portals[o.portal] = a.statements[o.name]
	case opClose:
		if o.closePortal {
			delete(a.portals, o.name)
		} else {
			delete(a.statements, o.name)
		}
	}
}

// failed handles an ErrorResponse: the running Query keeps the first SQLSTATE; any
// other op failed (an Execute is recorded with it) and PostgreSQL now skips the rest
// of the cycle. Errors of pgmask's own denials arrive here too, and end the refused
// op they belong to without a record.
func (a *sessionAudit) failed(sqlstate string, cycle uint64) {
	a.mu.Lock()
	h := a.headLocked(cycle)
	switch {
	case h == nil:
		a.mu.Unlock()
	case h.kind == opQuery:
		if h.sqlstate == "" {
			h.sqlstate = sqlstate
		}
		a.mu.Unlock()
	default:
		o := a.popLocked()
		a.mu.Unlock()
		a.failedCycle = cycle
		if o.kind == opExecute {
			o.sqlstate = sqlstate
			a.executed(&o)
		}
	}
}

// ready handles ReadyForQuery: it ends the cycle's Query and drops the ops PostgreSQL
// skipped after an error. Outside a transaction block (status 'I') no portal survives.
func (a *sessionAudit) ready(cycle uint64, txStatus byte) {
	var done op
	a.mu.Lock()
	for a.head < len(a.ops) && a.ops[a.head].cycle <= cycle {
		if o := a.popLocked(); o.kind == opQuery {
			done = o
		}
	}
	a.mu.Unlock()
	a.dataRows = 0
	if txStatus == 'I' {
		clear(a.portals)
	}
	if done.stmt != nil {
		a.record(&done, done.stmt)
	}
}

// executed records an Execute that ended.
func (a *sessionAudit) executed(o *op) {
	a.dataRows = 0
	if o.refused {
		return
	}
	st := a.portals[o.name]
	if st == nil {
		st = unknownStatement
	}
	a.record(o, st)
}

func (a *sessionAudit) record(o *op, st *auditedStatement) {
	end := a.now()
	r := audit.Statement(a.whom(), st.query, st.decision, audit.Outcome{
		Rows: o.rows, Duration: end.Sub(o.start), SQLState: o.sqlstate,
	})
	// Stamped here rather than by the Logger, which would read the clock again (under
	// its lock): seq orders the log, times may differ from it by microseconds.
	r.Time = end
	a.log.Log(r)
}

// abandon records the statements still running when the session ended: the client
// or the upstream went away, so they may have disclosed part of their result. They
// are recorded with SQLSTATE 08006 (connection_failure), as a client sees them end,
// unless an error was already seen. Parse and Bind answers that never arrived are
// taken as given, so an Execute is recorded with the statement it would have run;
// what PostgreSQL skipped after an error is not recorded. Called by the session's
// owner after the relay has ended.
func (a *sessionAudit) abandon() {
	a.mu.Lock()
	ops := a.ops[a.head:]
	a.ops, a.head = nil, 0
	a.mu.Unlock()
	for i := range ops {
		o := &ops[i]
		if o.kind != opQuery && o.cycle == a.failedCycle {
			continue
		}
		if o.sqlstate == "" {
			o.sqlstate = codeConnectionFailure
		}
		switch o.kind {
		case opQuery:
			if o.stmt != nil {
				a.record(o, o.stmt)
			}
		case opExecute:
			a.executed(o)
		case opParse, opBind, opClose:
			a.apply(o)
		}
	}
}
