package audit

import (
	"context"
	"time"
)

// Sink stores sealed records. Write stores a whole batch or fails; a failed batch is
// written again, unchanged, until it succeeds, so Write must leave no partial batch
// behind (or tolerate seeing the same records again). Records arrive in chain order
// and sinks store rec.Line(), the exact bytes the MAC covers.
type Sink interface {
	Write(ctx context.Context, recs []Record) error
	Close() error
}

// Syncer is a Sink whose Write may return before the batch is durable: the file sink
// opened with DeferSync leaves it in the page cache. The Logger calls Sync every
// FlushInterval, and before it stops; a Sync that fails makes it unhealthy, as a
// failed Write does, until a Sync succeeds. Sync must then make durable everything
// written before it, the records of earlier failed Syncs included.
type Syncer interface {
	Sync() error
}

// Resumer is a Sink that can say where the chain it holds stopped, so that a restarted
// pgmask continues it instead of starting a second chain in the same place.
type Resumer interface {
	// Tail returns the last record stored, and false when there is none.
	Tail(ctx context.Context) (Tail, bool, error)
}

// Rotator is a Sink that starts new files. Before each batch the Logger asks whether
// a new file is due; if so it calls Rotate, rotates the key, and begins the new file
// with a checkpoint record, so every file starts by naming its epoch and the last MAC
// of the file before it.
type Rotator interface {
	RotateDue(now time.Time) bool
	Rotate(now time.Time) error
}
