package audit

import "time"

// Stats are the Logger's counters, for metrics and the readiness endpoint.
type Stats struct {
	Written  uint64 // records the sink stored (checkpoints included)
	Failures uint64 // failed sink writes and rotations
	Dropped  uint64 // records lost because the queue was full
	Lag      int    // records queued or being written
	// LastError is the most recent failure, kept after recovery ("" if none), and
	// LastErrorAt when it happened.
	LastError   string
	LastErrorAt time.Time
}

// failure is a past error, kept for Stats.
type failure struct {
	err string
	at  time.Time
}

// Stats returns the current counters.
func (l *Logger) Stats() Stats {
	s := Stats{
		Written:  l.written.Load(),
		Failures: l.failures.Load(),
		Dropped:  l.dropped.Load(),
		Lag:      int(l.lag.Load()),
	}
	if f := l.lastErr.Load(); f != nil {
		s.LastError, s.LastErrorAt = f.err, f.at
	}
	return s
}
