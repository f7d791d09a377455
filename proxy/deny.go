package proxy

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/pgmask/pgmask/rewriter"
)

// Denials are delivered through the upstream.
//
// When the rewriter refuses a statement, pgmask does not answer the client itself: it
// sends the upstream, in the statement's place, a call to a function that cannot exist
// (its name carries a per-process random marker and the denial's number). PostgreSQL
// fails that statement exactly where it would have failed the real one — at Parse in the
// extended protocol, inside the transaction block, in pipeline order — then discards
// until Sync and reports the transaction status itself. The relay swaps the resulting
// ErrorResponse for the denial. So the client's view and the upstream's state always
// agree, and no proxy-side model of the protocol state can drift from PostgreSQL's.
// A denied statement that PostgreSQL skips (an earlier error in the same pipeline) is
// skipped silently, as PostgreSQL would.

// denialQueue holds the denials whose marker errors the relay has not seen yet.
type denialQueue struct {
	mu      sync.Mutex
	next    uint64
	pending []pendingDenial
	// counted, if set, is told of every denial added (for metrics). Every refusal
	// passes here, whichever path made it.
	counted func(*rewriter.Denial)
}

type pendingDenial struct {
	id    uint64
	cycle uint64 // the Query/Sync cycle the statement belongs to
	d     *rewriter.Denial
}

// add records d for the given cycle and returns its number.
func (q *denialQueue) add(d *rewriter.Denial, cycle uint64) uint64 {
	if q.counted != nil {
		q.counted(d)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	q.pending = append(q.pending, pendingDenial{id: q.next, cycle: cycle, d: d})
	return q.next
}

// take removes and returns the denial with the given number.
func (q *denialQueue) take(id uint64) *rewriter.Denial {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, p := range q.pending {
		if p.id == id {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return p.d
		}
	}
	return nil
}

// settle forgets the denials of every cycle up to and including cycle: PostgreSQL has
// answered them, so any still pending were skipped.
func (q *denialQueue) settle(cycle uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := 0
	for i < len(q.pending) && q.pending[i].cycle <= cycle {
		i++
	}
	if i > 0 {
		q.pending = append(q.pending[:0], q.pending[i:]...)
	}
}

func (q *denialQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) == 0
}

// denialStatement is the SQL sent upstream in place of denied statement number id.
func (s *Server) denialStatement(id uint64) string {
	return "SELECT " + s.denyMarker + strconv.FormatUint(id, 10) + "()"
}

// denialID finds the denial number in an ErrorResponse body, if it is a marker error.
func (s *Server) denialID(body []byte) (uint64, bool) {
	i := bytes.Index(body, []byte(s.denyMarker))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(s.denyMarker):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	id, err := strconv.ParseUint(string(rest[:j]), 10, 64)
	return id, err == nil
}
