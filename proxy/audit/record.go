package audit

import "time"

// Record is one line of the audit log: a statement or a session event, who caused it,
// what it disclosed and how, and its place in the tamper-evident chain.
//
// A Record never carries PHI. It has no field for raw SQL text, bind values, COPY data,
// result rows or upstream error messages: statement text arrives only as an SQL value
// (see Normalize, which replaces every literal and comment), upstream failures only as
// their SQLSTATE, and free text that pgmask did not write itself (denial reasons, names
// a client chose) is sanitized and capped by the constructors. Build records with the
// constructors in events.go and statement.go, never by hand, so that this holds.
//
// The JSON field order below is the canonical order: the MAC covers the exact bytes of
// the record as written, with "mac" as the last member (see chain.go).
type Record struct {
	// Time is when the event happened, in UTC; the Logger stamps it.
	Time time.Time `json:"time"`
	// Seq numbers the records of one chain 1, 2, 3, ... with no gaps; the Logger sets it.
	Seq uint64 `json:"seq"`
	// Epoch is the key epoch whose key sealed the record; the Logger sets it.
	Epoch uint64 `json:"epoch"`
	Kind  Kind   `json:"kind"`

	// Who: the session and the identity pgmask gave it.
	Session          string `json:"session,omitempty"`
	User             string `json:"user,omitempty"`
	Role             string `json:"role,omitempty"`
	Purpose          string `json:"purpose,omitempty"`
	BreakGlass       bool   `json:"break_glass,omitempty"`
	Client           string `json:"client,omitempty"`
	ApplicationName  string `json:"application_name,omitempty"`
	Database         string `json:"database,omitempty"`
	DataUseAgreement string `json:"data_use_agreement,omitempty"`

	// What: the statement, reduced to its shape, and what it touched.
	Fingerprint   string   `json:"fingerprint,omitempty"`
	SQL           string   `json:"sql,omitempty"`
	StatementKind string   `json:"statement_kind,omitempty"`
	Access        []Access `json:"access,omitempty"`
	PolicyVersion uint64   `json:"policy_version,omitempty"`

	// Outcome.
	Decision   Decision `json:"decision,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Rows       *int64   `json:"rows,omitempty"`
	DurationMS *float64 `json:"duration_ms,omitempty"`
	SQLState   string   `json:"sqlstate,omitempty"`

	// Event details.
	PreviousPurpose string     `json:"previous_purpose,omitempty"`
	Justification   string     `json:"justification,omitempty"`
	Until           *time.Time `json:"until,omitempty"`

	// Prev is the MAC of the previous record of the chain ("" for the first one).
	Prev string `json:"prev"`
	// MAC is the HMAC-SHA-256, in hex, of the record without this field, keyed with the
	// key of Epoch.
	MAC string `json:"mac,omitempty"`

	// line is the sealed record as written, once the chain has sealed it.
	line []byte
}

// Line returns the sealed record as one JSON line (with its newline), exactly the bytes
// its MAC covers plus the MAC; nil until the Logger has sealed it. Sinks write these
// bytes and nothing else, so that what they store verifies.
func (r *Record) Line() []byte { return r.line }

// Kind is what a record is about.
type Kind string

const (
	KindConnect         Kind = "connect"
	KindAuthFailure     Kind = "auth_failure"
	KindDisconnect      Kind = "disconnect"
	KindStatement       Kind = "statement"
	KindDenial          Kind = "denial"
	KindPurposeChange   Kind = "purpose_change"
	KindBreakGlassStart Kind = "break_glass_start"
	KindBreakGlassEnd   Kind = "break_glass_end"
	KindExpiry          Kind = "expiry"
	KindReload          Kind = "reload"
	// KindCheckpoint records are written by the Logger itself: when it starts (reason
	// "start"), at every file rotation ("rotate") and when it stops ("stop").
	KindCheckpoint Kind = "checkpoint"
)

// Decision is what pgmask did with a statement (or, for a reload, with the new policy).
type Decision string

const (
	Allowed   Decision = "allowed"   // forwarded unchanged
	Rewritten Decision = "rewritten" // forwarded as rewritten by the policy
	Denied    Decision = "denied"    // refused
)

// Access is one column (or, with Column empty, one relation) a statement touched, and how
// it reached the caller.
type Access struct {
	Relation string `json:"relation"`         // "schema.table"
	Column   string `json:"column,omitempty"` // "" for a relation-level entry such as a row filter
	// Treatment is "raw", "masked:<transform>", "excluded" or "filtered".
	Treatment string `json:"treatment"`
}

// Treatments of an Access, as the rewriter names them.
const (
	TreatmentRaw      = "raw"
	TreatmentExcluded = "excluded"
	TreatmentFiltered = "filtered"
	// TreatmentMaskedPrefix starts "masked:<transform>".
	TreatmentMaskedPrefix = "masked:"
)
