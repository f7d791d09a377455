package proxy

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCopyFrameStreamsBodiesOfAnySizeInChunks(t *testing.T) {
	for _, n := range []int{0, 1, 100, 4096, 70000} {
		body := strings.Repeat("x", n) + "NEXT"
		// OneByteReader makes every chunk arrive on its own.
		for _, src := range []io.Reader{strings.NewReader(body), iotest.OneByteReader(strings.NewReader(body))} {
			r := bufio.NewReaderSize(src, 16)
			var out bytes.Buffer
			w := bufio.NewWriterSize(&out, 16)
			if err := copyFrame(w, r, 'D', n); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			w.Flush()
			if got := out.Len(); got != headerLen+n {
				t.Fatalf("n=%d: copied %d bytes, want %d", n, got, headerLen+n)
			}
			if rest, _ := io.ReadAll(r); string(rest) != "NEXT" {
				t.Fatalf("n=%d: copyFrame read past the frame: %q left", n, rest)
			}
		}
	}
}

func TestCopyFrameReportsATruncatedBody(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("abc"))
	w := bufio.NewWriter(io.Discard)
	if err := copyFrame(w, r, 'D', 10); err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func BenchmarkCopyFrameOfADataRow(b *testing.B) {
	row := bytes.Repeat([]byte("r"), 120)
	src := bytes.NewReader(nil)
	r := bufio.NewReaderSize(src, 32*1024)
	w := bufio.NewWriterSize(io.Discard, 32*1024)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(row)
		r.Reset(src)
		if err := copyFrame(w, r, 'D', len(row)); err != nil {
			b.Fatal(err)
		}
	}
}
