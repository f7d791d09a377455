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
		batch    []Record // sealed and not yet written
		backoff  time.Duration
		stop     = l.stop // nil once stopping, so it no longer fires
		deadline time.Time
	)
	for {
		if batch == nil {
			var err error
			if batch, err = l.next(); err != nil {
				l.failed(err)
				batch = nil
			}
		}
		if len(batch) > 0 {
			if err := l.write(batch); err != nil {
				l.failed(err)
			} else {
				batch, backoff = nil, 0
				l.recovered()
				continue // more may be queued
			}
		} else if l.failureSet() == nil {
			batch = nil
			if stop == nil {
				l.finish()
				return
			}
			select {
			case <-l.kick:
			case <-tick.C: // next also ends a key epoch that is due with nothing queued
			case <-stop:
				stop, deadline = nil, time.Now().Add(l.cfg.CloseTimeout)
			}
			continue
		}
		// The last write or rotation failed: back off, then try again.
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
// is nothing to write. The batch reuses the writer's buffers: sinks must not keep it
// after Write returns.
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
	l.inflight = len(batch) + len(taken)
	l.mu.Unlock()

	for i := range taken {
		if l.cfg.RotateKeyEvery > 0 && l.chain.inEpoch >= l.cfg.RotateKeyEvery {
			batch = append(batch, l.chain.endEpoch(checkpointRotate, now))
		}
		l.chain.seal(&taken[i])
		batch = append(batch, taken[i])
	}
	clear(taken)
	l.taken, l.buf = taken[:0], batch
	l.mu.Lock()
	l.inflight = len(batch)
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

func (l *Logger) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.len()
}

func (l *Logger) failureSet() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failure
}

// failed makes the Logger unhealthy until the next successful write.
func (l *Logger) failed(err error) {
	l.failures.Add(1)
	l.lastErr.Store(&failure{err: err.Error(), at: l.now()})
	l.mu.Lock()
	first := l.failure == nil
	l.failure = err
	l.mu.Unlock()
	if first {
		l.log.Error("audit sink failed: refusing statements until it recovers", "err", err.Error())
	}
}

// recovered counts a successful write and makes the Logger healthy again.
func (l *Logger) recovered() {
	l.mu.Lock()
	l.written.Add(uint64(l.inflight))
	l.inflight = 0
	was := l.failure
	l.failure = nil
	l.mu.Unlock()
	if was != nil {
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
