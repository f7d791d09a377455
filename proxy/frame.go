package proxy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// A frame is one protocol message after startup: a type byte, a big-endian int32 length
// that counts itself, and the body (PostgreSQL docs, "Message Formats").
const headerLen = 5

// frameReader reads frames from a buffered connection without allocating per message:
// bodies that must be inspected are read into a reused buffer, all others are streamed.
type frameReader struct {
	r   *bufio.Reader
	max int    // largest body accepted; a larger one is a protocol violation
	buf []byte // reused body buffer
}

func newFrameReader(r *bufio.Reader, max int) *frameReader {
	return &frameReader{r: r, max: max}
}

// header reads the next frame header and returns its type and body length.
func (f *frameReader) header() (typ byte, n int, err error) {
	h, err := f.r.Peek(headerLen)
	if err != nil {
		if err == io.EOF && len(h) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	typ = h[0]
	length := binary.BigEndian.Uint32(h[1:])
	if _, err := f.r.Discard(headerLen); err != nil {
		return 0, 0, err
	}
	if length < 4 {
		return typ, 0, &protocolError{fmt.Sprintf("invalid message length %d for message type %q", length, typ)}
	}
	n64 := int64(length) - 4
	if f.max > 0 && n64 > int64(f.max) {
		return typ, 0, &protocolError{fmt.Sprintf("message of type %q is %d bytes, larger than the %d-byte limit", typ, n64, f.max)}
	}
	return typ, int(n64), nil
}

// body reads an n-byte body into the reused buffer. The result is valid until the next
// call to body.
func (f *frameReader) body(n int) ([]byte, error) {
	if cap(f.buf) < n {
		f.buf = make([]byte, n, max(n, 4096))
	}
	b := f.buf[:n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// copyFrame writes the header of a frame and streams its n-byte body from r to w,
// chunk by chunk as it arrives, straight from r's buffer: no allocation per frame (this
// is the path of every DataRow).
func copyFrame(w *bufio.Writer, r *bufio.Reader, typ byte, n int) error {
	writeHeader(w, typ, n)
	for n > 0 {
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := min(n, r.Buffered())
		b, _ := r.Peek(k)
		if _, err := w.Write(b); err != nil {
			return err
		}
		r.Discard(k)
		n -= k
	}
	return nil
}

// writeHeader writes a frame header into w's free buffer space (AvailableBuffer), so
// that it does not allocate.
func writeHeader(w *bufio.Writer, typ byte, n int) {
	b := append(w.AvailableBuffer(), typ)
	w.Write(binary.BigEndian.AppendUint32(b, uint32(n+4)))
}

// cstring splits a NUL-terminated string off the front of b.
func cstring(b []byte) (s []byte, rest []byte, ok bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

// protocolError is a malformed or oversized message from a peer. It ends only that
// peer's session, with SQLSTATE 08P01.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "protocol violation: " + e.msg }
