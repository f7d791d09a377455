package audit

import "time"

// Session is who a record is about: the identity pgmask gave a client connection. The
// proxy fills one in at authentication and updates it when the purpose or break-glass
// state changes; every constructor takes it whole, so no record can forget a field.
type Session struct {
	ID string
	// User is the pgmask user; Role the effective policy role (after purpose and
	// break-glass); Purpose the declared purpose of use, if any.
	User, Role, Purpose string
	BreakGlass          bool
	// Client is the client's address (host:port); ApplicationName and Database are the
	// startup parameters the client sent.
	Client, ApplicationName, Database string
	// DataUseAgreement names the data use agreement of a limited-data-set role, which
	// HIPAA requires with every disclosure of a limited data set (45 CFR 164.514(e)).
	DataUseAgreement string
}

// record starts a record of kind k about s, capping every client-chosen field.
func (s Session) record(k Kind) Record {
	return Record{
		Kind:             k,
		Session:          name(s.ID),
		User:             name(s.User),
		Role:             name(s.Role),
		Purpose:          name(s.Purpose),
		BreakGlass:       s.BreakGlass,
		Client:           capText(s.Client, maxClientBytes),
		ApplicationName:  name(s.ApplicationName),
		Database:         name(s.Database),
		DataUseAgreement: name(s.DataUseAgreement),
	}
}

// Connect records a client that authenticated and got its session.
func Connect(s Session) Record { return s.record(KindConnect) }

// AuthFailure records a login that failed. s.User is the name the client gave, which
// may not exist; s.Role is usually empty. reason is pgmask's own text, never the
// password or anything derived from it.
func AuthFailure(s Session, reason string) Record {
	r := s.record(KindAuthFailure)
	r.Decision = Denied
	r.Reason = capText(reason, maxReasonBytes)
	return r
}

// Disconnect records the end of a session, how long it lasted and why it ended
// ("client closed", "idle timeout", "server shutdown", ...).
func Disconnect(s Session, length time.Duration, reason string) Record {
	r := s.record(KindDisconnect)
	r.DurationMS = millis(length)
	r.Reason = capText(reason, maxReasonBytes)
	return r
}

// PurposeChange records a session that declared a new purpose of use. s is the session
// after the change (its new purpose and the role that purpose maps to); previous is the
// purpose before.
func PurposeChange(s Session, previous string) Record {
	r := s.record(KindPurposeChange)
	r.PreviousPurpose = name(previous)
	return r
}

// BreakGlassStart records an emergency elevation. s is the session after it (s.Role is
// the break-glass role, s.BreakGlass true); until is when the elevation ends.
//
// The justification is written by the user to explain the emergency and is kept (up to
// maxJustificationBytes) because reviewing it is the point of break-glass; pgmask should
// ask users not to put patient identifiers in it.
func BreakGlassStart(s Session, justification string, until time.Time) Record {
	r := s.record(KindBreakGlassStart)
	r.BreakGlass = true
	r.Justification = capText(justification, maxJustificationBytes)
	u := until.UTC()
	r.Until = &u
	return r
}

// BreakGlassEnd records the end of an elevation ("expired", "ended by user", "session
// ended"). s is the session before it ends, so the record names the elevated role.
func BreakGlassEnd(s Session, reason string) Record {
	r := s.record(KindBreakGlassEnd)
	r.BreakGlass = true
	r.Reason = capText(reason, maxReasonBytes)
	return r
}

// Expiry records access that ended while a session was open (the user's expiry, the
// role's, or its data use agreement's); reason says which.
func Expiry(s Session, reason string) Record {
	r := s.record(KindExpiry)
	r.Decision = Denied
	r.Reason = capText(reason, maxReasonBytes)
	return r
}

// Reload records a policy reload: the new policy version when it was applied, or, with
// err set, why the file was refused and the old policy kept.
func Reload(version uint64, err error) Record {
	r := Record{Kind: KindReload, PolicyVersion: version, Decision: Allowed}
	if err != nil {
		r.Decision = Denied
		r.Reason = capText(err.Error(), maxReasonBytes)
	}
	return r
}

// checkpoint is a record the Logger writes itself: at start, at every file rotation
// (as the first record of the new file) and at stop.
func checkpoint(reason string) Record {
	return Record{Kind: KindCheckpoint, Reason: reason}
}

// Checkpoint reasons.
const (
	checkpointStart  = "start"
	checkpointRotate = "rotate"
	checkpointStop   = "stop"
)

func millis(d time.Duration) *float64 {
	ms := float64(d.Microseconds()) / 1000
	return &ms
}
