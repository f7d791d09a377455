package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FileSink writes records as JSON lines to a file and rotates it by size and age:
// audit.jsonl is renamed audit-<UTC timestamp>.jsonl and a new audit.jsonl begun.
//
// Every batch is fsynced before Write returns, unless the sink was opened with
// DeferSync: then Write leaves the batch in the page cache and Sync makes everything
// written durable. The Logger opens its file sink so and calls Sync every
// FlushInterval: under load an fsync per batch was a quarter of what the audit log
// cost, and records already wait up to FlushInterval in the queue.
type FileSink struct {
	path      string
	maxBytes  int64
	maxAge    time.Duration
	now       func() time.Time
	deferSync bool

	f *os.File
	// size is the bytes of complete batches in f, synced those of them fsynced.
	// unsynced holds the bytes from synced to size, and is also the buffer each
	// batch is written from: after a failed fsync they are written again.
	size, synced int64
	unsynced     []byte
	// resync is set by a failed fsync: the page cache may no longer match the disk
	// after synced, so the file is cut back to synced and unsynced written again.
	resync  bool
	started time.Time // when f was begun
	// fresh is false while f holds records of an earlier run, which the first
	// rotation moves aside so that the new run starts a file of its own.
	fresh bool
}

// FileSinkOptions configure a FileSink; MaxBytes and MaxAge as in Config.
type FileSinkOptions struct {
	Path     string
	MaxBytes int64
	MaxAge   time.Duration
	Now      func() time.Time
	// DeferSync makes Write return without fsyncing: Sync (and Rotate and Close)
	// fsync what was written.
	DeferSync bool
}

// NewFileSink opens (creating if needed) the active file for appending.
func NewFileSink(o FileSinkOptions) (*FileSink, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &FileSink{path: o.Path, maxBytes: o.MaxBytes, maxAge: o.MaxAge, now: o.Now, deferSync: o.DeferSync}
	if err := s.open(o.Now()); err != nil {
		return nil, err
	}
	s.fresh = s.size == 0
	return s, nil
}

// open opens the active file; what it already holds counts as synced.
func (s *FileSink) open(now time.Time) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: %w", err)
	}
	s.f, s.size, s.synced, s.started = f, info.Size(), info.Size(), now
	s.unsynced = s.unsynced[:0]
	return nil
}

// Write appends the batch with one write and, without DeferSync, fsyncs. On failure it
// cuts the file back to where the batch began, so that the retry does not leave a
// partial batch (or a duplicate) in it.
func (s *FileSink) Write(_ context.Context, recs []Record) error {
	if err := s.repair(); err != nil {
		return err
	}
	start := len(s.unsynced)
	for i := range recs {
		s.unsynced = append(s.unsynced, recs[i].Line()...)
	}
	batch := s.unsynced[start:]
	_, err := s.f.Write(batch)
	if err == nil && !s.deferSync {
		err = s.f.Sync() // everything before the batch was synced: cutting it back is enough
	}
	if err != nil {
		s.unsynced = s.unsynced[:start]
		if terr := s.f.Truncate(s.size); terr != nil {
			// The file may now hold part of the batch; start over with a new handle
			// at the next write, which cuts again.
			s.f.Close()
			s.f = nil
			return fmt.Errorf("audit: writing %s: %w (and cutting back the partial batch: %v)", s.path, err, terr)
		}
		return fmt.Errorf("audit: writing %s: %w", s.path, err)
	}
	s.size += int64(len(batch))
	if !s.deferSync {
		s.synced, s.unsynced = s.size, s.unsynced[:0]
	}
	return nil
}

// Sync fsyncs what Write left unsynced. A failed fsync may have lost those bytes on
// disk while the page cache still shows them (see fsync(2)), so after one the next
// Write or Sync cuts the file back to what was synced and writes the rest again.
func (s *FileSink) Sync() error {
	if err := s.repair(); err != nil {
		return err
	}
	if s.synced == s.size {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		s.resync = true
		return fmt.Errorf("audit: syncing %s: %w", s.path, err)
	}
	s.synced, s.unsynced = s.size, s.unsynced[:0]
	return nil
}

// repair undoes what a failed write or fsync left before the next one: the file is cut
// back to the complete batches written (after a handle that could not cut its batch
// back) or to what was synced (after a failed fsync, when the unsynced bytes are then
// written again), with a new handle.
func (s *FileSink) repair() error {
	if s.f != nil && !s.resync {
		return nil
	}
	keep := s.size
	if s.resync {
		keep = s.synced
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	if err := os.Truncate(s.path, keep); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("audit: %w", err)
	}
	started, synced, unsynced := s.started, s.synced, s.unsynced
	if err := s.open(s.now()); err != nil {
		return err
	}
	s.started = started
	if s.size != keep { // the file was removed: what it held is gone, go on with the new one
		s.resync = false
		return nil
	}
	s.synced, s.unsynced = synced, unsynced
	if !s.resync {
		return nil
	}
	if _, err := s.f.Write(unsynced); err != nil {
		return fmt.Errorf("audit: writing %s again after a failed sync: %w", s.path, err) // resync stays set
	}
	s.size += int64(len(unsynced))
	s.resync = false
	return nil
}

// RotateDue reports whether the next batch should begin a new file.
func (s *FileSink) RotateDue(now time.Time) bool {
	if s.size == 0 {
		return false
	}
	return !s.fresh || s.size >= s.maxBytes || s.maxAge > 0 && now.Sub(s.started) >= s.maxAge
}

// Rotate fsyncs the active file, renames it to its rotated name and begins a new one.
func (s *FileSink) Rotate(now time.Time) error {
	if s.size == 0 {
		s.fresh, s.started = true, now
		return nil
	}
	if err := s.Sync(); err != nil {
		return err
	}
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		s.f = nil
	}
	target, err := rotatedName(s.path, now)
	if err != nil {
		return err
	}
	if err := os.Rename(s.path, target); err != nil {
		return fmt.Errorf("audit: rotating: %w", err)
	}
	syncDir(filepath.Dir(s.path))
	if err := s.open(now); err != nil {
		return err
	}
	s.fresh = true
	return nil
}

// rotatedName is path with "-<UTC timestamp>" before its extension; names sort in time
// order, and a name already taken gets a counter.
func rotatedName(path string, now time.Time) (string, error) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	base := stem + "-" + now.UTC().Format("20060102T150405.000000Z")
	for i := 0; i < 1000; i++ {
		name := base + ext
		if i > 0 {
			name = fmt.Sprintf("%s.%d%s", base, i, ext)
		}
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("audit: no free name to rotate %s to", path)
}

// syncDir makes a rename durable. Errors are ignored: not every file system supports it,
// and the records themselves were already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Close fsyncs and closes the active file.
func (s *FileSink) Close() error {
	if s.f == nil && !s.resync && s.synced == s.size {
		return nil // closed already
	}
	err := s.Sync()
	if s.f != nil {
		err = errors.Join(err, s.f.Close())
		s.f = nil
	}
	return err
}

// Tail returns the last complete record of the active file or, if it is empty, of the
// newest rotated file.
func (s *FileSink) Tail(context.Context) (Tail, bool, error) {
	rotated, _ := filepath.Glob(strings.TrimSuffix(s.path, filepath.Ext(s.path)) + "-*" + filepath.Ext(s.path))
	sort.Strings(rotated)
	candidates := append([]string{s.path}, reverse(rotated)...)
	for _, p := range candidates {
		t, ok, err := lastRecord(p)
		if err != nil || ok {
			return t, ok, err
		}
	}
	return Tail{}, false, nil
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// lastRecord reads the last complete line of the file at path. A final line without a
// newline is a write cut short by a crash and is skipped.
func lastRecord(path string) (Tail, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Tail{}, false, nil
	}
	if err != nil {
		return Tail{}, false, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	var last []byte
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			return Tail{}, false, fmt.Errorf("audit: reading %s: %w", path, err)
		}
		if len(line) > 1 {
			last = line
		}
	}
	if last == nil {
		return Tail{}, false, nil
	}
	var h struct {
		header
		MAC string `json:"mac"`
	}
	if err := json.Unmarshal(last, &h); err != nil || h.MAC == "" {
		return Tail{}, false, fmt.Errorf("audit: the last line of %s is not an audit record; run pgmask audit verify", path)
	}
	return Tail{Seq: h.Seq, Epoch: h.Epoch, MAC: h.MAC, EndsEpoch: endsEpoch(h.Kind, h.Reason)}, true, nil
}
