package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// run is the writer goroutine: the only one that touches the chain and the sink after
// NewLogger returns.
func (l *Logger) run() {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.FlushInterval)
	defer tick.Stop()

	var (
		batch      []Record // sealed and not yet written
		syncDue    bool     // a FlushInterval passed since the last Sync
		syncFailed bool     // the last Sync failed
		backoff    time.Duration
		stop       = l.stop // nil once stopping, so it no longer fires
		deadline   time.Time
	)
	for {
		var err error
		if syncFailed {
			// Retry the Sync before taking more records, as a failed batch is retried
			// before the next: until it succeeds, records wait in the queue, where
			// they count towards QueueLimit.
			err = l.sync()
			syncFailed = err != nil
		}
		if err == nil && batch == nil {
			batch, err = l.next()
		}
		wrote := false
		if err == nil && len(batch) > 0 {
			if err = l.write(batch); err == nil {
				batch, wrote = nil, true
				l.wrote()
			}
		}
		if err == nil && !syncDue {
			select {
			case <-tick.C: // a writer kept busy by full batches never waits for it below
				syncDue = true
			default:
			}
		}
		if err == nil && (syncDue || stop == nil) {
			err = l.sync()
			syncDue, syncFailed = false, err != nil
		}
		if err == nil {
			backoff = 0
			l.recovered()
			// Write again at once only when a full batch waits (or when closing):
			// otherwise every write would carry only what arrived during the last one.
			if wrote && (stop == nil || l.queued() >= l.cfg.BatchSize) {
				continue
			}
			if stop == nil {
				l.finish()
				return
			}
			select {
			case <-l.kick:
			case <-tick.C: // next also ends a key epoch that is due with nothing queued
				syncDue = true
			case <-stop:
				stop, deadline = nil, time.Now().Add(l.cfg.CloseTimeout)
			}
			continue
		}

		// The write, rotation or sync failed: back off, then try again.
		l.failed(err)
		backoff = min(max(2*backoff, l.cfg.RetryMin), l.cfg.RetryMax)
		if stop == nil && time.Now().Add(backoff).After(deadline) {
			l.finish()
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-stop:
			stop, deadline = nil, time.Now().Add(l.cfg.CloseTimeout)
			t.Stop()
		}
	}
}

// next takes up to BatchSize queued records and seals them. First it starts a new
// file when one is due (the new file then begins with the checkpoint that ends the key
// epoch) and ends the key epoch when it is due by age, even with nothing queued; it
// ends the epoch between records when it is due by count. It returns nil when there
// is nothing to write. The batch reuses the writer's buffers, the lines included:
// sinks must not keep it after Write returns.
func (l *Logger) next() ([]Record, error) {
	now := l.now()
	batch := l.buf[:0]
	fileDue := l.rot != nil && l.queued() > 0 && l.rot.RotateDue(now)
	if fileDue {
		if err := l.rot.Rotate(now); err != nil {
			return nil, err // nothing taken: the queue is retried as it is
		}
	}
	if fileDue || now.Sub(l.chain.epochStart) >= l.cfg.RotateKeyInterval {
		batch = append(batch, l.chain.endEpoch(checkpointRotate, now))
	}

	l.mu.Lock()
	taken := l.queue.take(l.taken[:0], l.cfg.BatchSize)
	l.setInflightLocked(len(batch) + len(taken))
	select {
	case <-l.kick: // this batch is what it announced
	default:
	}
	l.mu.Unlock()

	lines := l.lines[:0]
	for i := range taken {
		if l.cfg.RotateKeyEvery > 0 && l.chain.inEpoch >= l.cfg.RotateKeyEvery {
			batch = append(batch, l.chain.endEpoch(checkpointRotate, now))
		}
		lines = l.chain.sealTo(lines, &taken[i])
		batch = append(batch, taken[i])
	}
	clear(taken)
	l.taken, l.buf, l.lines = taken[:0], batch, lines
	l.mu.Lock()
	l.setInflightLocked(len(batch))
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil, nil
	}
	return batch, nil
}

func (l *Logger) write(batch []Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return l.sink.Write(ctx, batch)
}

// sync makes what was written durable, when the sink does not on Write.
func (l *Logger) sync() error {
	if l.syncer == nil {
		return nil
	}
	return l.syncer.Sync()
}

func (l *Logger) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.len()
}

// failureSet returns why the last write failed, nil once a write succeeded.
func (l *Logger) failureSet() error {
	if f := l.failing.Load(); f != nil {
		return f.Cause
	}
	return nil
}

// failed makes the Logger unhealthy until the next successful write.
func (l *Logger) failed(err error) {
	l.failures.Add(1)
	l.lastErr.Store(&failure{err: err.Error(), at: l.now()})
	if was := l.failing.Swap(&UnavailableError{Cause: err}); was == nil {
		l.log.Error("audit sink failed: refusing statements until it recovers", "err", err.Error())
	}
}

// wrote counts the batch in flight as written.
func (l *Logger) wrote() {
	l.mu.Lock()
	l.written.Add(uint64(l.inflight))
	l.setInflightLocked(0)
	l.mu.Unlock()
}

// recovered makes the Logger healthy again after a round of writing (and syncing)
// that succeeded.
func (l *Logger) recovered() {
	if l.failing.Load() == nil {
		return
	}
	if was := l.failing.Swap(nil); was != nil {
		l.log.Info("audit sink recovered")
	}
}

// finish ends the writer: it writes the stop checkpoint (when everything else was
// written), erases the key and closes the sink.
func (l *Logger) finish() {
	var errs []error
	l.mu.Lock()
	lost := l.lagLocked()
	l.mu.Unlock()
	if lost > 0 {
		errs = append(errs, fmt.Errorf("audit: %d records could not be written before the close timeout: %v", lost, l.failureSet()))
	} else {
		stop := checkpoint(checkpointStop)
		stop.Time = l.now()
		l.chain.seal(&stop)
		if err := l.write([]Record{stop}); err != nil {
			errs = append(errs, fmt.Errorf("audit: writing the stop record: %w", err))
		} else {
			l.written.Add(1)
		}
	}
	l.chain.erase()
	if err := l.sink.Close(); err != nil {
		errs = append(errs, fmt.Errorf("audit: closing the sink: %w", err))
	}
	l.closeErr = errors.Join(errs...)
}
