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
	a := s.aud // nil when the audit log is off
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
		if typ != 'Z' && s.inband.internal(s.readies.Load()+1) {
			if typ == '1' && a != nil { // a statement prepared again for a new role
				a.confirmed(opParse, s.readies.Load()+1)
			}
			if _, err := fr.r.Discard(n); err != nil {
				return err
			}
			continue
		}
		switch {
		case typ == 'Z' && n == 1:
			body, err := fr.body(n)
			if err != nil {
				return err
			}
			cycle := s.readies.Add(1)
			s.txStatus.Store(uint32(body[0]))
			s.denials.settle(cycle)
			if a != nil {
				a.ready(cycle, body[0])
			}
			internal, notices := s.inband.ready(cycle)
			if internal {
				continue
			}
			for _, n := range notices {
				w.Write(n)
			}
			writeHeader(w, typ, n)
			w.Write(body)
		case typ == 'E' && n <= maxInspectedError:
			body, err := fr.body(n)
			if err != nil {
				return err
			}
			if a != nil {
				a.failed(errorCode(body), s.readies.Load()+1)
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
		case a != nil:
			if err := s.relayAudited(fr, a, typ, n); err != nil {
				return err
			}
		default:
			if err := copyFrame(w, s.upstreamR, typ, n); err != nil {
				return err
			}
		}
	}
}

// maxCommandTag bounds the CommandComplete bodies the relay reads for their row
// count; real tags ("INSERT 0 1000000") are a few dozen bytes.
const maxCommandTag = 256

// relayAudited relays one frame of a session with an audit log, telling the FIFO of
// pending.go about the messages that end an op. Only CommandComplete bodies are read
// (ErrorResponse bodies too large for relay's own check are peeked at for their code).
func (s *Session) relayAudited(fr *frameReader, a *sessionAudit, typ byte, n int) error {
	cycle := s.readies.Load() + 1
	w := s.clientW
	switch typ {
	case 'D': // DataRow
		a.dataRow()
	case 'C': // CommandComplete
		if n <= maxCommandTag {
			body, err := fr.body(n)
			if err != nil {
				return err
			}
			a.commandComplete(body, cycle)
			writeHeader(w, typ, n)
			w.Write(body)
			return nil
		}
		a.commandComplete(nil, cycle)
	case 'I': // EmptyQueryResponse
		a.executeEnded(false, cycle)
	case 's': // PortalSuspended
		a.executeEnded(true, cycle)
	case '1': // ParseComplete
		a.confirmed(opParse, cycle)
	case '2': // BindComplete
		a.confirmed(opBind, cycle)
	case '3': // CloseComplete
		a.confirmed(opClose, cycle)
	case 'T', 'n': // RowDescription, NoData
		a.confirmed(opDescribe, cycle)
	case 'E': // an ErrorResponse larger than maxInspectedError
		prefix, _ := s.upstreamR.Peek(min(n, 1024))
		a.failed(errorCode(prefix), cycle)
	}
	return copyFrame(w, s.upstreamR, typ, n)
}

// errorCode returns the SQLSTATE (field 'C') of an ErrorResponse body, or "" when it
// is not in b. Nothing else of the error is kept: its message may quote data.
func errorCode(b []byte) string {
	for len(b) > 0 && b[0] != 0 {
		field := b[0]
		value, rest, ok := cstring(b[1:])
		if !ok {
			return ""
		}
		if field == 'C' {
			return string(value)
		}
		b = rest
	}
	return ""
}
