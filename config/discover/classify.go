package discover

import (
	"strings"

	"github.com/pgmask/pgmask/config"
)

// Column is what Classify knows about one column.
type Column struct {
	Name string
	// Type is the SQL type as PostgreSQL's format_type prints it ("text",
	// "character varying(40)", "timestamp with time zone", "text[]"), domains resolved
	// to their base type.
	Type string
	// PrimaryKey is true when the column alone is the table's primary key.
	PrimaryKey bool
	// References is the column a single-column foreign key points to, or nil.
	References *Reference
	// Values are sampled non-NULL values in PostgreSQL's text output (arrays as
	// array literals, bytea as \x hex). They are PHI: they are reduced to counts and
	// never kept, printed or put into a reason.
	Values []string
}

// Reference names the target of a foreign key.
type Reference struct{ Schema, Table, Column string }

// Guess is a proposed category with how sure the proposal is and why.
type Guess struct {
	Category   string  // one of config.Categories
	Confidence float64 // 0 to 1
	Reason     string  // the evidence, in words; never a sampled value
}

// ReviewBelow is the confidence under which a proposal is marked for review.
const ReviewBelow = 0.8

// Review reports whether a person should look at the guess before using it.
func (g Guess) Review() bool { return g.Confidence < ReviewBelow }

// strong is the confidence from which value evidence outweighs a column's name.
const strong = 0.85

// Classify proposes a category for a column from its name, type and sampled values.
func Classify(c Column) Guess {
	g := classify(c)
	if t := parseType(c.Type); t.kind.numeric() || t.kind == kindUUID {
		g = keyed(c, g) // a text key may be an identifying code (an MRN): keep the evidence
	}
	g.Confidence = round2(max(0, min(1, g.Confidence)))
	return g
}

func classify(c Column) Guess {
	t := parseType(c.Type)
	values := c.Values
	if t.array {
		values = arrayElements(values)
	}
	s := examine(values)
	byType := typeGuess(c, t)
	switch t.kind {
	case kindBool:
		return byType
	case kindInet, kindMAC: // the type says it; a name can only agree
		if g, ok := nameGuess(c.Name, t); ok && g.Category == byType.Category {
			return both(g, byType)
		}
		return byType
	}
	byName, named := nameGuess(c.Name, t)
	if named && t.kind.dated() && !isDateCategory(byName.Category) {
		named = false // last_login is a timestamp, not a login name
	}
	byValue, valued := valueGuess(t, s)

	switch {
	case named && valued && agree(byName.Category, byValue.Category):
		return both(byName, byValue)
	case valued && byValue.Confidence >= strong:
		if !named {
			return byValue
		}
		g := byValue
		g.Confidence -= 0.2
		g.Reason += ", though the " + byName.Reason
		return g
	case named:
		return confirm(byName, t, s)
	case valued:
		return byValue
	}
	if len(c.Values) > 0 && s.n == 0 && t.kind.textual() {
		byType.Reason += "; every sampled value is empty"
	}
	return byType
}

// keyed describes a non-identifying column by the key it is, which says more than its
// name: "the primary key", "a key referencing clinic.patients (id)".
func keyed(c Column, g Guess) Guess {
	if g.Category != config.CategoryNone {
		return g
	}
	switch {
	case c.PrimaryKey:
		return Guess{config.CategoryNone, max(g.Confidence, 0.95), "the primary key"}
	case c.References != nil:
		r := c.References
		return Guess{config.CategoryNone, max(g.Confidence, 0.95), "a key referencing " + r.Schema + "." + r.Table + " (" + r.Column + ")"}
	}
	return g
}

// both combines two guesses of the same category: independent evidence agreeing.
func both(a, b Guess) Guess {
	conf := min(0.99, 1-(1-a.Confidence)*(1-b.Confidence))
	return Guess{a.Category, round2(conf), a.Reason + "; " + b.Reason}
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// agree reports whether what the values show fits what the name says. The name's
// category is then kept: it is the more specific (a fax number looks like a phone
// number, an MRN like any other code, a date of birth like any date).
func agree(byName, byValue string) bool {
	if byName == byValue {
		return true
	}
	switch byValue {
	case config.CategoryPhone:
		return byName == config.CategoryFax
	case config.CategoryEventDate:
		return isDateCategory(byName)
	case config.CategoryMRN, config.CategoryOtherID:
		switch byName {
		case config.CategoryMRN, config.CategoryAccountNumber, config.CategoryHealthPlanID,
			config.CategoryLicenseNumber, config.CategoryOtherID, config.CategoryDeviceID,
			config.CategoryVehicleID:
			return true
		}
	}
	return false
}

func isDateCategory(c string) bool {
	return c == config.CategoryBirthDate || c == config.CategoryDeathDate || c == config.CategoryEventDate
}

// confirm weighs a guess from the name against values that match no pattern well:
// names of people should look like names, free text should be long, a state a state.
func confirm(g Guess, t sqlType, s sample) Guess {
	if s.n < 5 {
		return g
	}
	switch g.Category {
	case config.CategoryName:
		switch share := s.share(s.personLike); {
		case share >= 0.8:
			g.Confidence = max(g.Confidence, 0.9)
			g.Reason += "; values look like personal names"
		case share < 0.3:
			g.Confidence = min(g.Confidence, 0.5)
			g.Reason += ", but values do not look like personal names"
		}
	case config.CategoryFreeText:
		if s.avgRunes < 20 {
			g.Confidence = min(g.Confidence, 0.55)
			g.Reason += ", but values are short"
		}
	case config.CategoryState:
		if s.share(s.personLike) < 0.5 { // neither USPS codes (else the values agreed) nor names
			g = Guess{config.CategoryNone, 0.5, "name: a state, but values are not US states (a status?)"}
		}
	}
	return g
}

// typeGuess proposes a category from the type alone, the last resort.
func typeGuess(c Column, t sqlType) Guess {
	switch t.kind {
	case kindBool:
		return Guess{config.CategoryNone, 0.95, "type: true or false"}
	case kindInet:
		return Guess{config.CategoryIPAddress, 0.97, "type: an IP address"}
	case kindMAC:
		return Guess{config.CategoryDeviceID, 0.95, "type: a MAC address (device identifier)"}
	case kindDate, kindTimestamp:
		return dateGuess(c.Name)
	case kindTime:
		return Guess{config.CategoryNone, 0.6, "type: a time of day without a date"}
	case kindInterval:
		return Guess{config.CategoryNone, 0.8, "type: a duration"}
	case kindBytes:
		return Guess{config.CategoryNone, 0.4, "type: binary data of unknown content"}
	case kindDocument:
		return Guess{config.CategoryFreeText, 0.6, "type: a JSON or XML document can hold any identifier"}
	case kindTSVector:
		return Guess{config.CategoryFreeText, 0.8, "type: a text search vector holds the words of a text"}
	case kindUUID:
		return Guess{config.CategoryNone, 0.7, "type: a UUID, a surrogate key unless shared outside the database"}
	case kindGeo:
		return Guess{config.CategoryCounty, 0.8, "type: geometric values (geocodes)"}
	}
	switch {
	case c.PrimaryKey && t.kind.textual():
		return Guess{config.CategoryNone, 0.6, "the primary key, of text: an identifying code?"}
	case t.kind.numeric():
		return Guess{config.CategoryNone, 0.85, "type: a number"}
	}
	return Guess{config.CategoryNone, 0.4, "no name, type or value evidence"}
}

// eventWords name events of a patient's care; recordWords the bookkeeping of a row.
var (
	eventWords = set("admit", "admitted", "admission", "discharge", "discharged", "visit",
		"service", "encounter", "appointment", "appt", "procedure", "surgery", "written",
		"billed", "bill", "billing", "claim", "onset", "diagnosed", "diagnosis", "collected",
		"ordered", "performed", "signed", "scheduled", "seen", "treated", "treatment",
		"vaccinated", "vaccination", "test", "specimen", "arrival", "arrived", "transfer")
	recordWords = set("created", "updated", "modified", "inserted", "deleted", "loaded",
		"synced", "imported", "exported", "processed", "changed", "etl")
)

// dateGuess: every element of a date directly related to an individual but the year
// is an identifier (45 CFR 164.514(b)(2)(i)(C)), so dates are event dates unless
// their name says they only date the row itself.
func dateGuess(name string) Guess {
	ws := words(name)
	switch {
	case hasAny(ws, eventWords):
		return Guess{config.CategoryEventDate, 0.9, "type: a date; name: an event of care"}
	case hasAny(ws, recordWords):
		return Guess{config.CategoryEventDate, 0.6, "type: a date, of the row's bookkeeping: an identifier if it dates a patient's care"}
	}
	return Guess{config.CategoryEventDate, 0.85, "type: a date (dates about an individual are identifiers)"}
}

// arrayElements flattens PostgreSQL array literals ({a,"b c",NULL}) into their
// non-NULL elements.
func arrayElements(literals []string) []string {
	var out []string
	for _, lit := range literals {
		if i := strings.Index(lit, "={"); i >= 0 && strings.HasPrefix(lit, "[") {
			lit = lit[i+1:] // [0:2]={...}: explicit bounds
		}
		var elem strings.Builder
		quoted, inQuotes, escaped := false, false, false
		emit := func() {
			e := elem.String()
			if quoted || e != "NULL" {
				out = append(out, e)
			}
			elem.Reset()
			quoted = false
		}
		for _, r := range lit {
			switch {
			case escaped:
				elem.WriteRune(r)
				escaped = false
			case r == '\\':
				escaped = true
			case r == '"':
				inQuotes = !inQuotes
				quoted = true
			case inQuotes:
				elem.WriteRune(r)
			case r == '{' || r == ' ':
			case r == ',' || r == '}':
				if elem.Len() > 0 || quoted {
					emit()
				}
			default:
				elem.WriteRune(r)
			}
		}
	}
	return out
}
