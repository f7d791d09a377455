package clinic

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

type patient struct {
	id                  int64
	firstName, lastName string
	ssn, mrn            string
	dob                 time.Time
	street              pgtype.Text
	city, state, zip    string
	phone, email        pgtype.Text
	sex                 string
}

type encounter struct {
	id, patientID int64
	admittedAt    time.Time
	dischargedAt  pgtype.Timestamptz
	diagnoses     []diagnosis
	provider      string
}

type note struct {
	id, patientID int64
	encounterID   pgtype.Int8
	noteType      string
	body          string
	writtenAt     time.Time
}

type claim struct {
	id, patientID int64
	accountNumber string
	cents         int64
	billedOn      time.Time
}

// dataset is everything Load writes, in id order.
type dataset struct {
	patients   []patient
	encounters []encounter
	notes      []note
	claims     []claim
}

// pcgStream is the second PCG seed word; Options.Seed is the first.
const pcgStream = 0x9e3779b97f4a7c15

// historyStart is the earliest encounter time.
var historyStart = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)

// generator draws the data set from one PRNG stream. Everything it does
// depends only on that stream and on the order of calls, so the same Options
// always give the same data.
type generator struct {
	r    *rand.Rand
	ssns map[string]bool
	d    dataset
}

func generate(opts Options) *dataset {
	g := &generator{
		r:    rand.New(rand.NewPCG(uint64(opts.Seed), pcgStream)),
		ssns: map[string]bool{CanarySSN: true},
	}
	g.d.patients = make([]patient, 0, opts.Patients)
	g.d.encounters = make([]encounter, 0, opts.Patients*3)
	g.d.notes = make([]note, 0, opts.Patients*2)
	g.d.claims = make([]claim, 0, opts.Patients*2)
	for id := int64(1); id <= int64(opts.Patients); id++ {
		p := g.patient(id)
		applyBoundary(&p)
		g.d.patients = append(g.d.patients, p)
		g.history(&p)
	}
	return &g.d
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// percent returns true with probability n/100.
func (g *generator) percent(n int) bool { return g.r.IntN(100) < n }

func (g *generator) patient(id int64) patient {
	r := g.r
	p := patient{id: id}
	switch n := r.IntN(100); {
	case n < 49:
		p.sex, p.firstName = "F", pick(r, femaleNames)
	case n < 98:
		p.sex, p.firstName = "M", pick(r, maleNames)
	default:
		p.sex, p.firstName = "X", pick(r, append(femaleNames[:len(femaleNames):len(femaleNames)], maleNames...))
	}
	p.lastName = pick(r, lastNames)
	p.ssn = g.ssn()
	// 7919 is prime, so id ↦ id·7919 mod 10⁸ is one-to-one: MRNs are unique.
	p.mrn = fmt.Sprintf("MRN%08d", (id*7919+1000)%100_000_000)
	p.dob = ReferenceDate.AddDate(0, 0, -1-r.IntN(95*365))

	p.street = g.optional(3, 1, func() string {
		return fmt.Sprintf("%d %s %s", 1+r.IntN(9999), pick(r, streetNames), pick(r, streetSuffixes))
	})
	pl := pick(r, places)
	p.city, p.state, p.zip = pl.city, pl.state, fmt.Sprintf("%s%02d", pl.zip3, 1+r.IntN(99))
	p.phone = g.optional(5, 1, g.phoneNumber)
	p.email = g.optional(8, 2, func() string {
		local := strings.ToLower(p.firstName + "." + p.lastName)
		if g.percent(50) {
			local += fmt.Sprint(r.IntN(100))
		}
		return local + "@" + pick(r, emailDomains)
	})
	return p
}

// optional returns NULL nullPct% of the time, ” emptyPct% of the time, and
// value() otherwise.
func (g *generator) optional(nullPct, emptyPct int, value func() string) pgtype.Text {
	switch n := g.r.IntN(100); {
	case n < nullPct:
		return pgtype.Text{}
	case n < nullPct+emptyPct:
		return pgtype.Text{Valid: true}
	}
	return pgtype.Text{String: value(), Valid: true}
}

// ssn returns an unused SSN of the form AAA-GG-SSSS with area 001-899 but
// not 666, as the SSA issues them; 987-65-4329 (the canary) is never drawn.
func (g *generator) ssn() string {
	for {
		area := 1 + g.r.IntN(899)
		if area == 666 {
			continue
		}
		s := fmt.Sprintf("%03d-%02d-%04d", area, 1+g.r.IntN(99), 1+g.r.IntN(9999))
		if !g.ssns[s] {
			g.ssns[s] = true
			return s
		}
	}
}

// phoneNumber returns a NANP-shaped number; exchanges start at 200, so the
// canary's 555-010-… is never drawn.
func (g *generator) phoneNumber() string {
	return fmt.Sprintf("%03d-%03d-%04d", 201+g.r.IntN(789), 200+g.r.IntN(800), g.r.IntN(10000))
}

// ssnLike returns digits in the SSN pattern that are not anyone's SSN, as
// reference numbers in real notes sometimes are.
func (g *generator) ssnLike() string {
	return fmt.Sprintf("%03d-%02d-%04d", 900+g.r.IntN(100), g.r.IntN(100), g.r.IntN(10000))
}

// history generates a patient's encounters, notes and claims: on average 3,
// 2 and 2.
func (g *generator) history(p *patient) {
	r := g.r
	n := r.IntN(7)
	if p.id == PatientCanary {
		n = max(n, 1)
	}
	from := historyStart
	if p.dob.After(from) {
		from = p.dob
	}
	span := int(ReferenceDate.Sub(from) / time.Minute)
	admitted := make([]time.Time, n)
	for i := range admitted {
		admitted[i] = from.Add(time.Duration(r.IntN(span)) * time.Minute)
	}
	slices.SortFunc(admitted, func(a, b time.Time) int { return a.Compare(b) })

	first := len(g.d.encounters)
	for _, at := range admitted {
		e := encounter{
			id:         int64(len(g.d.encounters) + 1),
			patientID:  p.id,
			admittedAt: at,
			provider:   pick(r, providers),
		}
		discharged := at.Add(time.Duration(30+r.IntN(10*24*60)) * time.Minute)
		if discharged.Before(ReferenceDate) && !g.percent(3) {
			e.dischargedAt = pgtype.Timestamptz{Time: discharged, Valid: true}
		}
		for k := 1 + r.IntN(4); len(e.diagnoses) < k; {
			if d := pick(r, diagnoses); !slices.Contains(e.diagnoses, d) {
				e.diagnoses = append(e.diagnoses, d)
			}
		}
		g.d.encounters = append(g.d.encounters, e)
	}
	mine := g.d.encounters[first:]

	for range r.IntN(5) {
		g.note(p, mine, g.noteType(), "")
	}
	if p.id == PatientCanary {
		for _, cn := range canaryNotes() {
			g.note(p, mine[:1], cn.noteType, cn.body)
		}
	}

	account := fmt.Sprintf("AC%010d", r.Int64N(10_000_000_000))
	for range r.IntN(5) {
		c := claim{id: int64(len(g.d.claims) + 1), patientID: p.id, accountNumber: account}
		c.cents = 2_500 + r.Int64N(50_000)
		if g.percent(10) {
			c.cents += r.Int64N(2_000_000)
		}
		billed := from.Add(time.Duration(r.IntN(span)) * time.Minute)
		if len(mine) > 0 {
			billed = pick(r, mine).admittedAt.AddDate(0, 0, 3+r.IntN(40))
		}
		if billed.After(ReferenceDate) {
			billed = ReferenceDate
		}
		c.billedOn = date(billed.Year(), billed.Month(), billed.Day())
		g.d.claims = append(g.d.claims, c)
	}
}

func (g *generator) noteType() string {
	n := g.r.IntN(100)
	for _, t := range noteTypes {
		if n < t.weight {
			return t.name
		}
		n -= t.weight
	}
	return noteTypes[0].name
}

// note appends a note of the given type about one of encs (or none); an
// empty body is generated.
func (g *generator) note(p *patient, encs []encounter, noteType, body string) {
	r := g.r
	n := note{id: int64(len(g.d.notes) + 1), patientID: p.id, noteType: noteType}
	var dx diagnosis
	if len(encs) > 0 && (body != "" || !g.percent(10)) {
		e := pick(r, encs)
		n.encounterID = pgtype.Int8{Int64: e.id, Valid: true}
		n.writtenAt = e.admittedAt.Add(time.Duration(r.IntN(48*60)) * time.Minute)
		dx = pick(r, e.diagnoses)
	} else {
		from := historyStart
		if p.dob.After(from) {
			from = p.dob
		}
		n.writtenAt = from.Add(time.Duration(r.IntN(int(ReferenceDate.Sub(from)/time.Minute))) * time.Minute)
		dx = pick(r, diagnoses)
	}
	if n.writtenAt.After(ReferenceDate) {
		n.writtenAt = ReferenceDate
	}
	if body == "" {
		body = g.noteBody(p, noteType, dx)
	}
	n.body = body
	g.d.notes = append(g.d.notes, n)
}

func (g *generator) noteBody(p *patient, noteType string, dx diagnosis) string {
	r := g.r
	var b strings.Builder
	switch noteType {
	case "progress":
		fmt.Fprintf(&b, "Seen for follow-up of %s (%s). Symptoms %s since last visit. Plan: continue current therapy, return in %d weeks.",
			dx.text, dx.code, pick(r, []string{"improved", "unchanged", "slightly worse"}), 2+r.IntN(10))
	case "discharge":
		fmt.Fprintf(&b, "Admitted for %s. Discharged home in stable condition. Follow up with %s in %d days.",
			dx.text, pick(r, providers), 3+r.IntN(28))
	case "radiology":
		fmt.Fprintf(&b, "%s: %s. Indication: %s.", pick(r, []string{"Chest X-ray", "CT head", "MRI lumbar spine", "Ultrasound abdomen", "X-ray ankle"}),
			pick(r, []string{"no acute findings", "mild degenerative change", "small effusion", "findings discussed with ordering provider"}), dx.text)
	case "psychotherapy":
		fmt.Fprintf(&b, "Session %d. Patient discussed %s and stressors at %s. Mood %s. Continue weekly CBT.",
			1+r.IntN(30), pick(r, []string{"grief", "relationship conflict", "work stress", "sleep problems", "substance use"}),
			pick(r, []string{"home", "work", "school"}), pick(r, []string{"euthymic", "low", "anxious", "irritable"}))
	case "nursing":
		fmt.Fprintf(&b, "Vitals BP %d/%d, HR %d, T %d.%d C, SpO2 %d%%. Resting comfortably.",
			100+r.IntN(60), 60+r.IntN(30), 55+r.IntN(50), 36+r.IntN(2), r.IntN(10), 92+r.IntN(8))
	case "telephone":
		fmt.Fprintf(&b, "Patient called about %s medication refill.", dx.text)
	default:
		fmt.Fprintf(&b, "Consulted regarding %s. Recommendations discussed with primary team.", dx.text)
	}
	// Real notes quote identifiers: a callback number, the SSN read out to
	// verify identity, or reference numbers that merely look like an SSN.
	if p.phone.Valid && p.phone.String != "" && (noteType == "telephone" || g.percent(15)) {
		fmt.Fprintf(&b, " Callback number %s.", p.phone.String)
	}
	if g.percent(5) {
		fmt.Fprintf(&b, " Identity verified with SSN %s.", p.ssn)
	}
	if g.percent(5) {
		fmt.Fprintf(&b, " Insurance reference %s.", g.ssnLike())
	}
	return b.String()
}

// Rows as CopyFrom wants them, in the column order of the schema.

func (p *patient) values() []any {
	return []any{p.id, p.firstName, p.lastName, p.ssn, p.mrn, p.dob, p.street, p.city, p.state, p.zip, p.phone, p.email, p.sex}
}

func (e *encounter) values() []any {
	codes := make([]string, len(e.diagnoses))
	for i, d := range e.diagnoses {
		codes[i] = d.code
	}
	return []any{e.id, e.patientID, e.admittedAt, e.dischargedAt, codes, e.provider}
}

func (n *note) values() []any {
	return []any{n.id, n.patientID, n.encounterID, n.noteType, n.body, n.writtenAt}
}

func (c *claim) values() []any {
	return []any{c.id, c.patientID, c.accountNumber, pgtype.Numeric{Int: big.NewInt(c.cents), Exp: -2, Valid: true}, c.billedOn}
}
