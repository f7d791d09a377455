package audit

import (
	"bufio"
	"bytes"
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
// Every batch is fsynced before Write returns, so a record the Logger counts as
// written survives a crash of the machine.
type FileSink struct {
	path     string
	maxBytes int64
	maxAge   time.Duration
	now      func() time.Time

	f       *os.File
	size    int64     // bytes of complete batches in f
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
}

// NewFileSink opens (creating if needed) the active file for appending.
func NewFileSink(o FileSinkOptions) (*FileSink, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &FileSink{path: o.Path, maxBytes: o.MaxBytes, maxAge: o.MaxAge, now: o.Now}
	if err := s.open(o.Now()); err != nil {
		return nil, err
	}
	s.fresh = s.size == 0
	return s, nil
}

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
	s.f, s.size, s.started = f, info.Size(), now
	return nil
}

// Write appends the batch and fsyncs. On failure it cuts the file back to where the
// batch began, so that the retry does not leave a partial batch (or a duplicate) in it.
func (s *FileSink) Write(_ context.Context, recs []Record) error {
	if s.f == nil { // a failed write could not cut its batch back: try again first
		if err := os.Truncate(s.path, s.size); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit: %w", err)
		}
		started := s.started
		if err := s.open(s.now()); err != nil {
			return err
		}
		s.started = started
	}
	var buf bytes.Buffer
	for i := range recs {
		buf.Write(recs[i].Line())
	}
	_, err := s.f.Write(buf.Bytes())
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			// The file may now hold part of the batch; start over with a new handle
			// at the next write, which cuts again.
			s.f.Close()
			s.f = nil
			return fmt.Errorf("audit: writing %s: %w (and cutting back the partial batch: %v)", s.path, err, terr)
		}
		return fmt.Errorf("audit: writing %s: %w", s.path, err)
	}
	s.size += int64(buf.Len())
	return nil
}

// RotateDue reports whether the next batch should begin a new file.
func (s *FileSink) RotateDue(now time.Time) bool {
	if s.size == 0 {
		return false
	}
	return !s.fresh || s.size >= s.maxBytes || s.maxAge > 0 && now.Sub(s.started) >= s.maxAge
}

// Rotate renames the active file to its rotated name and begins a new one.
func (s *FileSink) Rotate(now time.Time) error {
	if s.size == 0 {
		s.fresh, s.started = true, now
		return nil
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

// Close closes the active file.
func (s *FileSink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
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
