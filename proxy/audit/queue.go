package audit

// queue is the FIFO between Log and the writer: a ring buffer that grows by doubling
// and otherwise never moves a record, so a backlog costs nothing per Log. Not safe for
// concurrent use: the Logger's mutex guards it.
type queue struct {
	buf  []Record
	head int // index of the oldest record
	n    int // records held
}

func (q *queue) len() int { return q.n }

// push appends a copy of *r.
func (q *queue) push(r *Record) {
	if q.n == len(q.buf) {
		grown := make([]Record, max(64, 2*len(q.buf)))
		k := copy(grown, q.buf[q.head:])
		copy(grown[k:], q.buf[:q.head])
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = *r
	q.n++
}

// take moves up to max of the oldest records to the end of dst.
func (q *queue) take(dst []Record, max int) []Record {
	for ; max > 0 && q.n > 0; max-- {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = Record{} // drop references for the collector
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	return dst
}
