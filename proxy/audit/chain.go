package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"time"
)

// The chain: every record carries the MAC of the record before it (prev) and its own
// MAC, an HMAC-SHA-256 keyed with the key of its epoch. Editing a record breaks its
// MAC; removing, inserting or moving one breaks the seq numbering or the prev links.
//
// Keys move forward: the key of epoch i+1 is HMAC(key_i, rotationLabel), and the old
// key is erased. The function is one-way, so whoever steals the key of the current
// epoch cannot compute an earlier one; the auditor, holding the initial key, derives
// every epoch's key to verify.
//
// An epoch ends with a checkpoint record sealed with its own key (reason "start" or
// "rotate"), and only such a record may be followed by the next epoch; otherwise the
// epoch stays the same. Without that rule, a thief of the current key could cut the
// chain anywhere in the past and re-seal everything after the cut as current-epoch
// records. With it, the cut must follow the checkpoint that ended the previous epoch,
// which only that epoch's (erased) key could have sealed: what the thief can rewrite
// is limited to the current epoch.

// rotationLabel is the message of the key derivation; changing it breaks every chain.
const rotationLabel = "pgmask audit key rotation"

// MinKeyBytes is the shortest initial key accepted.
const MinKeyBytes = 16

// macField starts the last member of a sealed line.
var macField = []byte(`,"mac":"`)

// nextKey derives the key of the next epoch from key.
func nextKey(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rotationLabel))
	return m.Sum(nil)
}

// epochKey derives the key of epoch from the initial key.
func epochKey(initial []byte, epoch uint64) []byte {
	k := bytes.Clone(initial)
	for range epoch {
		next := nextKey(k)
		clear(k)
		k = next
	}
	return k
}

// Tail is where a chain stopped: the last record a sink holds.
type Tail struct {
	Seq   uint64
	Epoch uint64
	MAC   string
	// EndsEpoch is true when that record is a checkpoint that ended its epoch.
	EndsEpoch bool
}

// endsEpoch reports whether a record of this kind and reason ends its key epoch.
func endsEpoch(k Kind, reason string) bool {
	return k == KindCheckpoint && (reason == checkpointStart || reason == checkpointRotate)
}

// chain seals records in order. It is owned by one goroutine (the Logger's writer).
type chain struct {
	key        []byte
	mac        hash.Hash
	sum        [sha256.Size]byte // seal's scratch, here so that it does not escape per record
	epoch      uint64
	seq        uint64 // of the last sealed record
	prev       string // MAC of the last sealed record
	inEpoch    int    // records sealed with the current key
	epochStart time.Time
}

// newChain starts a chain. With a tail, it continues after it, in the tail's epoch
// unless the tail ended it; otherwise it starts at seq 1 in epoch 0. The caller ends
// that epoch at once (a "start" checkpoint, see endEpoch), so a run never goes on
// sealing with a key an earlier run held. The initial key is not kept.
func newChain(initial []byte, tail *Tail, now time.Time) (*chain, error) {
	if len(initial) < MinKeyBytes {
		return nil, fmt.Errorf("audit: the key must be at least %d bytes", MinKeyBytes)
	}
	c := &chain{epochStart: now}
	if tail != nil {
		c.epoch, c.seq, c.prev = tail.Epoch, tail.Seq, tail.MAC
		if tail.EndsEpoch {
			c.epoch++
		}
	}
	c.setKey(epochKey(initial, c.epoch))
	return c, nil
}

func (c *chain) setKey(k []byte) {
	clear(c.key)
	c.key = k
	// The old HMAC state holds pads derived from the old key; dropping it is the best
	// Go allows (the runtime may have copied it; see docs/audit.md).
	c.mac = hmac.New(sha256.New, k)
}

// endEpoch seals a checkpoint that ends the current epoch, then rotates the key.
func (c *chain) endEpoch(reason string, now time.Time) Record {
	cp := checkpoint(reason)
	cp.Time = now
	c.seal(&cp)
	c.rotate(now)
	return cp
}

// rotate moves to the next epoch and erases the current key. Only endEpoch may call
// it outside tests: a rotation without its checkpoint breaks the chain.
func (c *chain) rotate(now time.Time) {
	c.setKey(nextKey(c.key))
	c.epoch++
	c.inEpoch = 0
	c.epochStart = now
}

// erase destroys the key; sealing afterwards is a bug (and panics).
func (c *chain) erase() {
	clear(c.key)
	c.key, c.mac = nil, nil
}

// seal gives r the next seq, the current epoch and prev, and computes its MAC and line.
func (c *chain) seal(r *Record) { c.sealTo(make([]byte, 0, 640+len(r.SQL)), r) }

// sealTo is seal with r's line appended to buf, which it returns: the writer seals a
// batch into one reused buffer instead of allocating a line per record. r's line is
// the part of buf it appended, so that part must not change while r is in use; buf
// may grow into a new array, which leaves the lines in the old one as they were.
func (c *chain) sealTo(buf []byte, r *Record) []byte {
	r.Time = r.Time.UTC()
	if r.Until != nil {
		u := r.Until.UTC()
		r.Until = &u
	}
	r.Seq, r.Epoch, r.Prev, r.MAC = c.seq+1, c.epoch, c.prev, ""
	// The line is the body without its closing brace, the MAC member, and a newline.
	start := len(buf)
	buf = appendRecord(buf, r)
	c.mac.Reset()
	c.mac.Write(buf[start:])
	buf = append(buf[:len(buf)-1], macField...)
	buf = hex.AppendEncode(buf, c.mac.Sum(c.sum[:0]))
	mac := string(buf[len(buf)-2*sha256.Size:])
	buf = append(buf, "\"}\n"...)

	r.MAC, r.line = mac, buf[start:len(buf):len(buf)]
	c.seq, c.prev = r.Seq, mac
	c.inEpoch++
	return buf
}

// splitLine undoes seal: it returns the bytes the MAC covers and the MAC of a line
// (without its newline). It checks only the shape, not the MAC.
func splitLine(line []byte) (body []byte, mac string, ok bool) {
	const tail = len(`"}`)
	i := bytes.LastIndex(line, macField)
	if i < 1 || len(line) != i+len(macField)+2*sha256.Size+tail || !bytes.HasSuffix(line, []byte(`"}`)) {
		return nil, "", false
	}
	m := line[i+len(macField) : len(line)-tail]
	for _, c := range m {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, "", false
		}
	}
	body = make([]byte, 0, i+1)
	body = append(body, line[:i]...)
	body = append(body, '}')
	return body, string(m), true
}

// checkMAC reports whether mac is the MAC of body under key.
func checkMAC(key, body []byte, mac string) bool {
	want, err := hex.DecodeString(mac)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}
