package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnavailable is wrapped by every error that means "stop disclosing": the sink is
// failing, or records are queued beyond Config.QueueLimit.
var ErrUnavailable = errors.New("audit log unavailable")

// ErrClosed is returned by Log after Close.
var ErrClosed = errors.New("audit log closed")

// writeTimeout bounds one sink write, so that a hung sink shows up as a failure (and
// the retry starts) rather than as a silently growing queue.
const writeTimeout = 10 * time.Second

// Auditor is all a session needs of the audit log. *Logger implements it; proxy tests
// can fake it.
type Auditor interface {
	// Log records r; an error means: disclose nothing more (refuse the statement).
	Log(r Record) error
	// Healthy is nil when statements may be forwarded.
	Healthy() error
}

var _ Auditor = (*Logger)(nil)

// Options are what a Logger needs besides its Config.
type Options struct {
	// Sink stores the records; nil builds the one Config names (NewSink). The Logger
	// owns it: Close closes it, and so does a NewLogger that fails.
	Sink Sink
	// Key is the initial chain key; nil reads it as Config says (LoadKey). NewLogger
	// zeroes it once it has derived the key it needs, so the process keeps no key that
	// could re-seal records already written.
	Key []byte
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Log receives sink failures and recoveries; defaults to discarding them.
	Log *slog.Logger
}

// Logger is the audit log sessions write to. Log is cheap and never blocks on the
// sink: it stamps the record and queues it. One goroutine owns the chain and the sink:
// it takes the queue in order, seals the records (so the chain follows the queue) and
// writes them in batches — as soon as BatchSize records are waiting, and every
// FlushInterval otherwise — and, when the sink is a Syncer, makes them durable every
// FlushInterval.
//
// The Logger fails closed. After a failed write (or Sync), and while more than
// QueueLimit records wait, Healthy and Log return an *UnavailableError (wrapping
// ErrUnavailable); the proxy must then refuse statements. The writer retries the failed
// batch with exponential backoff, and the Logger is healthy again as soon as the retry
// succeeds. Records keep being queued
// while it is unhealthy, up to twice QueueLimit; past that they are dropped and counted.
type Logger struct {
	cfg    Config
	sink   Sink
	rot    Rotator // nil when the sink does not rotate files
	syncer Syncer  // nil when the sink's Write is durable when it returns
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	queue    queue // records waiting for the writer
	inflight int   // records taken by the writer and not yet written
	closed   bool

	// The health, readable without mu: sessions ask for it before every statement.
	// lag is queue.len() + inflight, stored under mu whenever either changes; failing
	// is set by the writer when a write fails and cleared when one succeeds; shut is
	// closed, set by Close.
	lag     atomic.Int64
	failing atomic.Pointer[UnavailableError]
	shut    atomic.Bool

	kick     chan struct{} // "a batch is ready", capacity 1
	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the writer has finished
	closeErr error         // set by the writer before done

	written, failures, dropped atomic.Uint64
	lastErr                    atomic.Pointer[failure]

	chain *chain   // owned by the writer goroutine
	buf   []Record // the writer's batch buffer
	taken []Record // the writer's buffer of records taken from the queue
	lines []byte   // the writer's buffer of the batch's sealed lines
}

// NewLogger validates cfg, opens the sink, continues the chain the sink holds (or
// starts one), and writes a "start" checkpoint before returning, so that a sink that
// cannot be written stops pgmask at startup rather than at the first statement.
func NewLogger(ctx context.Context, cfg Config, opts Options) (_ *Logger, err error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("audit: sink is off")
	}
	l := &Logger{
		cfg:  cfg,
		now:  opts.Now,
		log:  opts.Log,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	key := opts.Key
	if key == nil {
		if key, err = cfg.LoadKey(); err != nil {
			return nil, err
		}
	}
	defer clear(key)

	l.sink = opts.Sink
	if l.sink == nil {
		if l.sink, err = NewSink(ctx, cfg, l.now); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			if l.chain != nil {
				l.chain.erase()
			}
			l.sink.Close()
		}
	}()
	l.rot, _ = l.sink.(Rotator)
	l.syncer, _ = l.sink.(Syncer)

	var tail *Tail
	if r, ok := l.sink.(Resumer); ok {
		t, found, err := r.Tail(ctx)
		if err != nil {
			return nil, err
		}
		if found {
			tail = &t
		}
	}
	now := l.now()
	if l.chain, err = newChain(key, tail, now); err != nil {
		return nil, err
	}
	if l.rot != nil && l.rot.RotateDue(now) { // the file of an earlier run
		if err := l.rot.Rotate(now); err != nil {
			return nil, err
		}
	}
	start := l.chain.endEpoch(checkpointStart, now)
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := l.sink.Write(wctx, []Record{start}); err != nil {
		return nil, fmt.Errorf("audit: writing the first record: %w", err)
	}
	if err := l.sync(); err != nil {
		return nil, fmt.Errorf("audit: writing the first record: %w", err)
	}
	l.written.Add(1)
	go l.run()
	return l, nil
}

// NewSink opens the sink cfg names. cfg must have been checked.
func NewSink(ctx context.Context, cfg Config, now func() time.Time) (Sink, error) {
	switch cfg.Sink {
	case SinkFile:
		return NewFileSink(FileSinkOptions{Path: cfg.Path, MaxBytes: cfg.MaxBytes, MaxAge: cfg.MaxAge, Now: now, DeferSync: true})
	case SinkPostgres:
		dsn, err := cfg.DSN()
		if err != nil {
			return nil, err
		}
		return NewPostgresSink(ctx, PostgresOptions{DSN: dsn, Chain: cfg.Chain})
	}
	return nil, fmt.Errorf("audit: no sink %q", cfg.Sink)
}

// Log stamps r with the current time and queues it. A non-nil error wraps
// ErrUnavailable (or is ErrClosed) and means the proxy must not disclose anything more:
// refuse the statement. The record itself is still kept unless the queue is full.
func (l *Logger) Log(r Record) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if r.Time.IsZero() {
		r.Time = l.now() // under the lock, so times follow the chain order
	}
	lag := l.lagLocked()
	if lag >= 2*l.cfg.QueueLimit {
		l.dropped.Add(1)
	} else {
		l.queue.push(&r)
		lag++
		l.lag.Store(int64(lag))
	}
	// Only the record that fills a batch wakes the writer: a writer that is busy
	// looks at the queue again when its write is done (see run).
	ready := l.queue.len() == l.cfg.BatchSize
	l.mu.Unlock()
	if ready {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return l.health(lag)
}

// Healthy returns nil when the proxy may disclose, and otherwise why not: ErrClosed,
// or an *UnavailableError. It takes no lock, so that asking before every statement
// costs the sessions nothing.
func (l *Logger) Healthy() error {
	if l.shut.Load() {
		return ErrClosed
	}
	return l.health(int(l.lag.Load()))
}

func (l *Logger) health(lag int) error {
	if f := l.failing.Load(); f != nil {
		return f
	}
	if lag > l.cfg.QueueLimit {
		return &UnavailableError{Lag: lag, Limit: l.cfg.QueueLimit}
	}
	return nil
}

// lagLocked is the number of records not yet written: queued and in flight.
func (l *Logger) lagLocked() int { return l.queue.len() + l.inflight }

// setInflightLocked sets the records in flight and publishes the lag.
func (l *Logger) setInflightLocked(n int) {
	l.inflight = n
	l.lag.Store(int64(l.lagLocked()))
}

// UnavailableError is why a Logger refuses: the last write failed (Cause), or more
// than Config.QueueLimit records wait (Lag). It wraps ErrUnavailable.
//
// Its Error text is for pgmask's own log and metrics: it quotes the sink's error, which
// can name files, hosts or database roles. Reason says why without that, for clients.
type UnavailableError struct {
	// Cause is the error of the failed write (or file rotation); nil when the log is
	// only behind.
	Cause error
	// Lag is the number of records not yet written, and Limit the QueueLimit it
	// exceeds; both zero when Cause is set.
	Lag, Limit int
}

func (e *UnavailableError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v: writing to the audit sink failed: %v", ErrUnavailable, e.Cause)
	}
	return fmt.Sprintf("%v: %d records are waiting for the audit sink (limit %d)", ErrUnavailable, e.Lag, e.Limit)
}

func (e *UnavailableError) Unwrap() error { return ErrUnavailable }

// Reason says why the log is unavailable in words fit for a client: which of the two
// conditions holds, with the backlog and the limit, and nothing of the sink's error.
func (e *UnavailableError) Reason() string {
	if e.Cause != nil {
		return "writing to the audit sink failed"
	}
	return fmt.Sprintf("the audit log is %d records behind (queue_limit %d)", e.Lag, e.Limit)
}

// Close writes everything queued (retrying for up to CloseTimeout), ends the chain
// with a "stop" checkpoint, erases the key and closes the sink. It returns an error if
// records could not be written.
func (l *Logger) Close() error {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.shut.Store(true)
	l.mu.Unlock()
	if !already {
		close(l.stop)
	}
	<-l.done
	return l.closeErr
}
