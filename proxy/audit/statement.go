package audit

import "time"

// Query is what the rewriter made of a statement: its audit text, its kind and what it
// touches.
type Query struct {
	SQL SQL
	// Kind is the statement kind ("SELECT", "COPY", ...); "" when the statement could
	// not be parsed.
	Kind string
	// Access lists the columns and relations the statement touched and their treatment,
	// from the rewriter's disclosures.
	Access []Access
	// PolicyVersion is the version of the policy that decided.
	PolicyVersion uint64
}

// Outcome is how a forwarded statement ended upstream.
type Outcome struct {
	Rows     Rows
	Duration time.Duration
	// SQLState is the code of the ErrorResponse that ended the statement, "" when it
	// succeeded. Only the code is kept: PostgreSQL's error messages can quote data
	// ("invalid input syntax for type integer: ...").
	SQLState string
}

// Statement records a statement pgmask forwarded (decision Allowed or Rewritten) and
// how it ended.
func Statement(s Session, q Query, d Decision, o Outcome) Record {
	r := s.record(KindStatement)
	r.query(q)
	r.Decision = d
	if n, ok := o.Rows.Count(); ok {
		r.Rows = &n
	}
	r.DurationMS = millis(o.Duration)
	r.SQLState = capText(o.SQLState, 5)
	return r
}

// Denial records a statement pgmask refused, with the refusal's message (sanitized:
// it may quote the statement) and SQLSTATE.
func Denial(s Session, q Query, reason, sqlstate string) Record {
	r := s.record(KindDenial)
	r.query(q)
	r.Decision = Denied
	r.Reason = sanitizeMessage(reason)
	r.SQLState = capText(sqlstate, 5)
	return r
}

func (r *Record) query(q Query) {
	r.SQL = q.SQL.text
	r.Fingerprint = q.SQL.fingerprint
	r.StatementKind = name(q.Kind)
	r.Access = q.Access
	r.PolicyVersion = q.PolicyVersion
}

// Rows counts the rows a statement returned or affected, from its CommandComplete tags
// ("SELECT 5", "INSERT 0 5", "UPDATE 3", "COPY 10", "FETCH 2"). The zero value is
// "no count", which leaves "rows" out of the record.
type Rows struct {
	n     int64
	known bool
}

// CountRows returns n rows.
func CountRows(n int64) Rows { return Rows{n: n, known: true} }

// AddTag adds the row count of one CommandComplete tag; tags without one ("SET",
// "CREATE TABLE") change nothing. It does not allocate, so the relay can call it on
// the frame it is forwarding.
func (r *Rows) AddTag(tag []byte) {
	i := len(tag)
	for i > 0 && tag[i-1] == 0 { // the body of CommandComplete is a C string
		i--
	}
	end := i
	for i > 0 && isDigit(tag[i-1]) {
		i--
	}
	if i == end || i == 0 || tag[i-1] != ' ' || end-i > 18 {
		return
	}
	var n int64
	for _, c := range tag[i:end] {
		n = n*10 + int64(c-'0')
	}
	r.n += n
	r.known = true
}

// Count returns the number of rows and whether any tag reported one.
func (r Rows) Count() (int64, bool) { return r.n, r.known }
