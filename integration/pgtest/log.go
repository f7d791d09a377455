package pgtest

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// lockedWriter serializes writes from tool runs and the log follower to the
// caller's Options.Log, which need not be safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// follower copies what the server appends to its log file to w, so that
// Options.Log sees the server log as it is written.
type follower struct {
	path string
	w    io.Writer
	done chan struct{}
	wg   sync.WaitGroup
	off  int64
}

const followInterval = 100 * time.Millisecond

func follow(path string, w io.Writer) *follower {
	f := &follower{path: path, w: w, done: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(followInterval)
		defer t.Stop()
		for {
			select {
			case <-f.done:
				return
			case <-t.C:
				f.copyNew()
			}
		}
	}()
	return f
}

// stop ends the goroutine and copies what is left; call it before the log
// file is removed.
func (f *follower) stop() {
	close(f.done)
	f.wg.Wait()
	f.copyNew()
}

func (f *follower) copyNew() {
	file, err := os.Open(f.path)
	if err != nil {
		return // not created yet
	}
	defer file.Close()
	if _, err := file.Seek(f.off, io.SeekStart); err != nil {
		return
	}
	n, _ := io.Copy(f.w, file)
	f.off += n
}

// tailBytes is how much of a log an error message quotes.
const tailBytes = 4096

// tail returns the last tailBytes of b, starting at a line boundary.
func tail(b []byte) string {
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(bytes.TrimRight(b, "\n"))
}

// fileTail returns the tail of the file at path, or "" if it cannot be read.
func fileTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tail(b)
}

// fileSize returns the size of the file at path, 0 if it does not exist.
func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// readFrom returns the file's content after offset off.
func readFrom(path string, off int64) []byte {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return nil
	}
	return b[off:]
}
