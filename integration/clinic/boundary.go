package clinic

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// ReferenceDate is "today" for the data set: ages are computed at this date,
// and no encounter, note or claim is later than it. Tests that check age
// transforms must compute ages at ReferenceDate, not at time.Now().
var ReferenceDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Boundary patients: fixed ids whose values sit on the edges HIPAA
// transforms care about. Their other columns are generated like everyone
// else's. Every Load has them, so Options.Patients is at least
// BoundaryPatients.
const (
	// Ids PatientRestrictedZIP … PatientRestrictedZIP+16 live in the 17
	// Safe Harbor restricted ZIP3 areas, in the order of RestrictedZIP3,
	// with ZIP code prefix+"01" (e.g. id 1 has 03601).
	PatientRestrictedZIP = 1
	// Ids PatientUnrestrictedZIP … +3 live in the unrestricted neighbours
	// listed in UnrestrictedZIP3, with ZIP code prefix+"01".
	PatientUnrestrictedZIP = 18

	// PatientAge88 was born 1937-01-02: 88 at ReferenceDate, 89 a day later.
	PatientAge88 = 22
	// PatientAge89Birthday was born 1937-01-01: turns 89 on ReferenceDate.
	PatientAge89Birthday = 23
	// PatientAge89 was born 1936-01-02: 89 at ReferenceDate, 90 a day later
	// (the oldest patient whose age is still shown under Safe Harbor).
	PatientAge89 = 24
	// PatientAge90 was born 1936-01-01: turns 90 on ReferenceDate.
	PatientAge90 = 25
	// PatientAge100 was born 1925-07-04: 100 at ReferenceDate.
	PatientAge100 = 26

	// PatientLeapDay1952 was born 1952-02-29.
	PatientLeapDay1952 = 27
	// PatientLeapDay2000 was born 2000-02-29.
	PatientLeapDay2000 = 28

	// PatientNullContact has NULL email, phone and street.
	PatientNullContact = 29
	// PatientEmptyContact has '' as email, phone and street.
	PatientEmptyContact = 30

	// PatientCanary carries the Canary* values, which appear nowhere else
	// in the data set: leak tests look for them in every byte a restricted
	// client receives. The patient has at least one encounter, a progress
	// note containing CanaryProgressMarker and a psychotherapy note
	// containing CanaryPsychotherapyMarker; both notes also quote the
	// canary's SSN and phone number.
	PatientCanary = 31

	// BoundaryPatients is the number of boundary patients (ids 1…31).
	BoundaryPatients = 31
)

// RestrictedZIP3 are the 17 three-digit ZIP prefixes that HIPAA Safe Harbor
// replaces by 000 (areas of 20,000 people or fewer, 2000 census).
var RestrictedZIP3 = []string{
	"036", "059", "063", "102", "203", "556", "692", "790", "821",
	"823", "830", "831", "878", "879", "884", "890", "893",
}

// UnrestrictedZIP3 are neighbours of restricted prefixes that Safe Harbor
// keeps.
var UnrestrictedZIP3 = []string{"035", "037", "062", "832"}

// The canary patient's values (see PatientCanary).
const (
	CanaryFirstName           = "Xanthippe"
	CanaryLastName            = "Quillfeather"
	CanarySSN                 = "987-65-4329" // in the range reserved for advertising: never a real SSN
	CanaryPhone               = "555-010-4329"
	CanaryEmail               = "xanthippe.quillfeather@canary.example"
	CanaryStreet              = "4329 Lighthouse Ln"
	CanaryProgressMarker      = "canary-progress-7d1e"
	CanaryPsychotherapyMarker = "canary-psychotherapy-3f9b"
)

// CanaryDOB is the canary patient's date of birth.
var CanaryDOB = time.Date(1961, 7, 23, 0, 0, 0, 0, time.UTC)

var zipPlaces = map[string]place{
	"036": {"Claremont", "NH", "036"}, "059": {"Beecher Falls", "VT", "059"},
	"063": {"New London", "CT", "063"}, "102": {"New York", "NY", "102"},
	"203": {"Washington", "DC", "203"}, "556": {"Two Harbors", "MN", "556"},
	"692": {"Valentine", "NE", "692"}, "790": {"Pampa", "TX", "790"},
	"821": {"Yellowstone National Park", "WY", "821"}, "823": {"Rawlins", "WY", "823"},
	"830": {"Jackson", "WY", "830"}, "831": {"Kemmerer", "WY", "831"},
	"878": {"Socorro", "NM", "878"}, "879": {"Truth or Consequences", "NM", "879"},
	"884": {"Tucumcari", "NM", "884"}, "890": {"Caliente", "NV", "890"},
	"893": {"Ely", "NV", "893"},
	"035": {"Littleton", "NH", "035"}, "037": {"Lebanon", "NH", "037"},
	"062": {"Willimantic", "CT", "062"}, "832": {"Pocatello", "ID", "832"},
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// applyBoundary overrides the generated values of boundary patients.
func applyBoundary(p *patient) {
	id := int(p.id)
	switch {
	case id >= PatientRestrictedZIP && id < PatientRestrictedZIP+len(RestrictedZIP3):
		p.setPlace(zipPlaces[RestrictedZIP3[id-PatientRestrictedZIP]])
	case id >= PatientUnrestrictedZIP && id < PatientUnrestrictedZIP+len(UnrestrictedZIP3):
		p.setPlace(zipPlaces[UnrestrictedZIP3[id-PatientUnrestrictedZIP]])
	case id == PatientAge88:
		p.dob = date(1937, 1, 2)
	case id == PatientAge89Birthday:
		p.dob = date(1937, 1, 1)
	case id == PatientAge89:
		p.dob = date(1936, 1, 2)
	case id == PatientAge90:
		p.dob = date(1936, 1, 1)
	case id == PatientAge100:
		p.dob = date(1925, 7, 4)
	case id == PatientLeapDay1952:
		p.dob = date(1952, 2, 29)
	case id == PatientLeapDay2000:
		p.dob = date(2000, 2, 29)
	case id == PatientNullContact:
		p.email, p.phone, p.street = pgtype.Text{}, pgtype.Text{}, pgtype.Text{}
	case id == PatientEmptyContact:
		empty := pgtype.Text{Valid: true}
		p.email, p.phone, p.street = empty, empty, empty
	case id == PatientCanary:
		p.firstName, p.lastName, p.sex = CanaryFirstName, CanaryLastName, "F"
		p.ssn, p.dob = CanarySSN, CanaryDOB
		p.phone = pgtype.Text{String: CanaryPhone, Valid: true}
		p.email = pgtype.Text{String: CanaryEmail, Valid: true}
		p.street = pgtype.Text{String: CanaryStreet, Valid: true}
		p.setPlace(place{"Monterey", "CA", "939"})
	}
}

func (p *patient) setPlace(pl place) {
	p.city, p.state, p.zip = pl.city, pl.state, pl.zip3+"01"
}

// canaryNotes are the canary patient's fixed notes.
func canaryNotes() []struct{ noteType, body string } {
	return []struct{ noteType, body string }{
		{"progress", fmt.Sprintf("Follow-up visit (%s). Patient %s %s, SSN %s, reachable at %s. "+
			"Blood pressure improved on current regimen.",
			CanaryProgressMarker, CanaryFirstName, CanaryLastName, CanarySSN, CanaryPhone)},
		{"psychotherapy", fmt.Sprintf("Session notes (%s). Patient disclosed long-standing panic episodes; "+
			"safety plan reviewed. Crisis line contact on file: %s. Identity verified by SSN %s.",
			CanaryPsychotherapyMarker, CanaryPhone, CanarySSN)},
	}
}
