package discover

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
)

// clinicTables imitates the demo clinic schema (integration/clinic) with values of the
// same shapes, so that the whole proposal can be checked without a database.
func clinicTables() []Table {
	n := 60
	col := func(name, typ string, value func(i int) string) Column {
		c := Column{Name: name, Type: typ}
		for i := range n {
			if v := value(i); v != "\x00" {
				c.Values = append(c.Values, v)
			}
		}
		return c
	}
	first := []string{"Tamara", "Olu", "Ines", "Kwame", "Sørine", "Hiro", "Ana", "Lee", "Mary-Jo", "D'Arcy", "Zoe", "Ravi"}
	last := []string{"Chen", "Okafor", "García", "O'Neil", "Lindqvist", "Nakamura", "Smith", "Brown", "Diaz", "Novak", "Kim", "Hale"}
	cities := []string{"New York", "Claremont", "Pampa", "Ely", "Monterey", "Jackson"}
	states := []string{"NY", "NH", "TX", "NV", "CA", "WY"}
	providers := []string{"Dr. A. Okonkwo", "Dr. B. Lindqvist", "NP M. Delacroix", "PA O. Achebe", "Dr. L. Sørensen"}
	noteTypes := []string{"progress", "discharge", "radiology", "psychotherapy", "nursing"}
	id := func(i int) string { return fmt.Sprint(i + 1) }
	patientID := func(i int) string { return fmt.Sprint(i%20 + 1) }
	patients := &Reference{"clinic", "patients", "id"}
	return []Table{
		{Schema: "clinic", Name: "patients", Columns: []Column{
			{Name: "id", Type: "bigint", PrimaryKey: true, Values: []string{"1", "2"}},
			col("first_name", "text", func(i int) string { return first[i%len(first)] }),
			col("last_name", "text", func(i int) string { return last[i*7%len(last)] }),
			col("ssn", "text", func(i int) string { return fmt.Sprintf("%03d-%02d-%04d", 100+i, 10+i%80, 1000+i*37) }),
			col("mrn", "text", func(i int) string { return fmt.Sprintf("MRN%08d", i*7919+1000) }),
			col("dob", "date", func(i int) string { return fmt.Sprintf("19%02d-0%d-1%d", 30+i, 1+i%9, i%10) }),
			col("street", "text", func(i int) string {
				if i%10 == 0 {
					return ""
				}
				return fmt.Sprintf("%d Mill Rd", 100+i)
			}),
			col("city", "text", func(i int) string { return cities[i%len(cities)] }),
			col("state", "text", func(i int) string { return states[i%len(states)] }),
			col("zip", "text", func(i int) string { return fmt.Sprintf("%03d%02d", 30+i, i%99) }),
			col("phone", "text", func(i int) string {
				if i%12 == 0 {
					return "\x00"
				}
				return fmt.Sprintf("%03d-%03d-%04d", 201+i, 200+i, i*13)
			}),
			col("email", "text", func(i int) string { return fmt.Sprintf("p%d.x@example.org", i) }),
			col("sex", "text", func(i int) string { return []string{"F", "M", "X"}[i%3] }),
		}},
		{Schema: "clinic", Name: "encounters", Columns: []Column{
			{Name: "id", Type: "bigint", PrimaryKey: true},
			{Name: "patient_id", Type: "bigint", References: patients},
			col("admitted_at", "timestamp with time zone", func(i int) string { return fmt.Sprintf("2020-01-%02d 10:00:00+00", 1+i%28) }),
			col("discharged_at", "timestamp with time zone", func(i int) string { return fmt.Sprintf("2020-02-%02d 10:00:00+00", 1+i%28) }),
			col("diagnosis_codes", "text[]", func(i int) string { return fmt.Sprintf("{E11.9,I%02d}", 10+i%5) }),
			col("provider", "text", func(i int) string { return providers[i%len(providers)] }),
		}},
		{Schema: "clinic", Name: "notes", Columns: []Column{
			{Name: "id", Type: "bigint", PrimaryKey: true, Values: repeat(n, "%d")},
			{Name: "patient_id", Type: "bigint", References: patients, Values: repeat(n, "%d")},
			{Name: "encounter_id", Type: "bigint", References: &Reference{"clinic", "encounters", "id"}},
			col("note_type", "text", func(i int) string { return noteTypes[i%len(noteTypes)] }),
			col("body", "text", func(i int) string {
				return fmt.Sprintf("Seen for follow-up of essential hypertension (I10). Symptoms improved. Return in %d weeks.", 2+i%8)
			}),
			col("written_at", "timestamp with time zone", func(i int) string { return "2021-03-04 05:06:07+00" }),
		}},
		{Schema: "clinic", Name: "claims", Columns: []Column{
			withKey(col("id", "bigint", id), true, nil),
			withKey(col("patient_id", "bigint", patientID), false, patients),
			col("account_number", "text", func(i int) string { return fmt.Sprintf("AC%010d", i%20*7717) }),
			col("amount", "numeric(12,2)", func(i int) string { return fmt.Sprintf("%d.%02d", 25+i*3, i%100) }),
			col("billed_on", "date", func(i int) string { return fmt.Sprintf("2021-04-%02d", 1+i%28) }),
		}},
	}
}

func withKey(c Column, pk bool, ref *Reference) Column {
	c.PrimaryKey, c.References = pk, ref
	return c
}

// clinicWant is the classification of examples/pgmask.toml.
var clinicWant = map[string]map[string]string{
	"clinic.patients": {"id": "none", "first_name": "name", "last_name": "name", "ssn": "ssn", "mrn": "mrn",
		"dob": "birth_date", "street": "street_address", "city": "city", "state": "state", "zip": "zip",
		"phone": "phone", "email": "email", "sex": "none"},
	"clinic.encounters": {"id": "none", "patient_id": "none", "admitted_at": "event_date", "discharged_at": "event_date",
		"diagnosis_codes": "none", "provider": "name"},
	"clinic.notes": {"id": "none", "patient_id": "none", "encounter_id": "none", "note_type": "none",
		"body": "free_text", "written_at": "event_date"},
	"clinic.claims": {"id": "none", "patient_id": "none", "account_number": "account_number", "amount": "none",
		"billed_on": "event_date"},
}

func TestTheClinicSchemaIsClassifiedAsTheExampleDoes(t *testing.T) {
	subjects := map[string]string{"clinic.patients": "id", "clinic.encounters": "patient_id", "clinic.notes": "patient_id", "clinic.claims": "patient_id"}
	for _, p := range Propose(clinicTables()) {
		table := p.Schema + "." + p.Name
		for _, c := range p.Columns {
			if want := clinicWant[table][c.Name]; c.Category != want {
				t.Errorf("%s.%s: %s (%.2f: %s), want %s", table, c.Name, c.Category, c.Confidence, c.Reason, want)
			}
			if config.IsIdentifier(c.Category) && c.Review() {
				t.Errorf("%s.%s: %s only %.2f sure (%s)", table, c.Name, c.Category, c.Confidence, c.Reason)
			}
		}
		if p.SubjectKey != subjects[table] || p.Subject.Review() {
			t.Errorf("%s: subject_key %q (%.2f: %s), want %q", table, p.SubjectKey, p.Subject.Confidence, p.Subject.Reason, subjects[table])
		}
	}
}

func TestReasonsNeverQuoteASampledValue(t *testing.T) {
	for _, table := range clinicTables() {
		for _, c := range table.Columns {
			g := Classify(c)
			for _, v := range c.Values {
				if len(v) >= 3 && strings.Contains(g.Reason, v) {
					t.Errorf("%s.%s: the reason %q quotes the value %q", table.Name, c.Name, g.Reason, v)
				}
			}
			if g.Confidence < 0 || g.Confidence > 1 || g.Reason == "" || !config.IsCategory(g.Category) {
				t.Errorf("%s.%s: %+v", table.Name, c.Name, g)
			}
		}
	}
}

func TestNameAndValuesTogether(t *testing.T) {
	for _, c := range []struct {
		what, name, typ string
		values          []string
		want            string
		review          bool
	}{
		{"agreeing evidence is surer than either", "ssn", "text", repeat(30, "123-45-%04d"), config.CategorySSN, false},
		{"a fax number looks like a phone number", "fax", "text", repeat(30, "555-201-%04d"), config.CategoryFax, false},
		{"an account number looks like any code", "acct_no", "text", repeat(30, "AC%08d"), config.CategoryAccountNumber, false},
		{"a date of birth stored as text", "birth_date", "text", repeat(28, "1970-01-%02d"), config.CategoryBirthDate, false},
		{"values win over a misleading name, for review", "contact", "text", repeat(30, "p%d@example.org"), config.CategoryEmail, true},
		{"prose in a column named like a code", "diagnosis", "text", repeat(30, "Patient %d presents with chest pain radiating to the left arm since this morning."), config.CategoryFreeText, true},
		{"a name whose values are not names", "name", "text", repeat(30, "%d"), config.CategoryName, true},
		{"a state column holding statuses", "state", "text", strings.Split(strings.Repeat("pending,active,closed,", 10), ","), config.CategoryNone, true},
		{"short text in a notes column", "note", "text", repeat(30, "ok %d"), config.CategoryFreeText, true},
		{"text nothing says anything about", "insurer", "text", nil, config.CategoryNone, false},
		{"text with no evidence at all", "misc", "text", nil, config.CategoryNone, true},
		{"binary data", "blob", "bytea", repeat(10, `\x00%02d`), config.CategoryNone, true},
		{"five digits in an integer column are not ZIP codes", "visits", "integer", repeat(30, "1%04d"), config.CategoryNone, false},
	} {
		g := Classify(Column{Name: c.name, Type: c.typ, Values: c.values})
		if g.Category != c.want || g.Review() != c.review {
			t.Errorf("%s: %s (%.2f: %s), want %s with review %v", c.what, g.Category, g.Confidence, g.Reason, c.want, c.review)
		}
	}
}
