package proxy

import (
	"time"
)

// maxInspectedError bounds the ErrorResponse bodies the relay reads to look for a
// denial marker; marker errors are tiny, larger errors are streamed unread.
const maxInspectedError = 64 * 1024

// relay copies the upstream's messages to the client as raw frames. DataRows and almost
// everything else are streamed without decoding; ReadyForQuery is counted (the session
// is idle when every cycle has been answered) and ErrorResponses are checked for denial
// markers. The client is flushed only when the upstream has nothing more buffered, so a
// result set goes out in few, large writes.
func (s *Session) relay() error {
	defer func() {
		s.upstreamDone.Store(true)
		s.client.SetReadDeadline(time.Now()) // wake the pump
	}()
	fr := newFrameReader(s.upstreamR, 0)
	w := s.clientW
	for {
		if s.upstreamR.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		typ, n, err := fr.header()
		if err != nil {
			w.Flush()
			return err
		}
		switch {
		case typ == 'Z' && n == 1:
			body, err := fr.body(n)
			if err != nil {
				return err
			}
			cycle := s.readies.Add(1)
			s.denials.settle(cycle)
			writeHeader(w, typ, n)
			w.Write(body)
		case typ == 'E' && n <= maxInspectedError:
			body, err := fr.body(n)
			if err != nil {
				return err
			}
			if id, ok := s.srv.denialID(body); ok {
				if d := s.denials.take(id); d != nil {
					buf, err := denialResponse(d).Encode(nil)
					if err != nil {
						return err
					}
					w.Write(buf)
					continue
				}
			}
			writeHeader(w, typ, n)
			w.Write(body)
		default:
			if err := copyFrame(w, s.upstreamR, typ, n); err != nil {
				return err
			}
		}
	}
}
