package proxy

import (
	"sync"
	"sync/atomic"

	"github.com/jackc/pgproto3/v2"
)

// In-band work: what the pump asks the relay to do to the replies of a cycle it has
// just sent upstream. Two things need it, both from session commands (access.go):
//
//   - an internal cycle, a statement pgmask sends for itself (DEALLOCATE ALL and CLOSE
//     ALL when the session's role changes), whose replies the client must not see;
//   - a notice pgmask adds to a cycle's replies, before its ReadyForQuery (the end of
//     a break-glass elevation, for instance).
//
// Doing it in the relay keeps the rule that only the relay writes to the client, and
// keeps every reply in protocol order. The relay pays one atomic load per frame when
// nothing is queued.
type inband struct {
	queued atomic.Int32 // len(items), read without the lock on the hot path
	mu     sync.Mutex
	items  []inbandItem
}

type inbandItem struct {
	cycle    uint64
	internal bool   // swallow every reply of the cycle
	notice   []byte // an encoded NoticeResponse to send before the cycle's ReadyForQuery
}

func (q *inband) push(it inbandItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.queued.Store(int32(len(q.items)))
	q.mu.Unlock()
}

// internal reports whether the replies of cycle are pgmask's own.
func (q *inband) internal(cycle uint64) bool {
	if q.queued.Load() == 0 {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items {
		if it.cycle == cycle && it.internal {
			return true
		}
	}
	return false
}

// ready removes and returns what was queued for cycle, which has just ended: whether
// it was internal, and the notices to send before its ReadyForQuery.
func (q *inband) ready(cycle uint64) (internal bool, notices [][]byte) {
	if q.queued.Load() == 0 {
		return false, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	kept := q.items[:0]
	for _, it := range q.items {
		switch {
		case it.cycle > cycle:
			kept = append(kept, it)
		case it.cycle == cycle && it.internal:
			internal = true
		case it.notice != nil:
			notices = append(notices, it.notice)
		}
	}
	q.items = kept
	q.queued.Store(int32(len(kept)))
	return internal, notices
}

// notice encodes a NoticeResponse from pgmask.
func notice(msg, detail string) []byte {
	buf, err := (&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: msg, Detail: detail}).Encode(nil)
	if err != nil {
		return nil
	}
	return buf
}
