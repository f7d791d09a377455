package normalize

// span is a literal (or, when auditing, a gap) in the scanned text.
type span struct {
	start, end int
	kind       kind
}

// spanList keeps its first spans inline, so that scanning a short statement does not
// allocate.
type spanList struct {
	n      int
	hint   int // expected number of spans past the inline ones
	inline [16]span
	more   []span
}

func (l *spanList) len() int { return l.n }

func (l *spanList) at(i int) span {
	if i < len(l.inline) {
		return l.inline[i]
	}
	return l.more[i-len(l.inline)]
}

func (l *spanList) add(sp span) {
	switch {
	case l.n < len(l.inline):
		l.inline[l.n] = sp
	case l.more == nil:
		// A statement this literal-heavy is long (an IN list, a bulk INSERT): size the
		// overflow once for the common case instead of growing it step by step.
		l.more = make([]span, 0, max(4*len(l.inline), l.hint))
		fallthrough
	default:
		l.more = append(l.more, sp)
	}
	l.n++
}

// extendLast moves the end of the last span.
func (l *spanList) extendLast(end int) {
	if i := l.n - 1; i < len(l.inline) {
		l.inline[i].end = end
	} else {
		l.more[i-len(l.inline)].end = end
	}
}
