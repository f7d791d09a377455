package discover

import (
	"slices"
	"testing"

	"github.com/pgmask/pgmask/config"
)

func TestWordsSplitsSnakeCamelAndDigits(t *testing.T) {
	for _, c := range []struct {
		name string
		want []string
	}{
		{"first_name", []string{"first", "name"}},
		{"firstName", []string{"first", "name"}},
		{"PatientSSN", []string{"patient", "ssn"}},
		{"SSNLast4", []string{"ssn", "last", "4"}},
		{"address_line1", []string{"address", "line", "1"}},
		{"DOB", []string{"dob"}},
		{"Email Address", []string{"email", "address"}},
		{"e-mail", []string{"e", "mail"}},
		{"zip+4", []string{"zip", "4"}},
		{"", nil},
	} {
		if got := words(c.name); !slices.Equal(got, c.want) {
			t.Errorf("words(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// nameCases are columns classified by their name and type alone (no values sampled).
var nameCases = []struct {
	name, typ, want string
}{
	{"first_name", "text", config.CategoryName},
	{"last_name", "character varying(80)", config.CategoryName},
	{"LastName", "text", config.CategoryName},
	{"surname", "text", config.CategoryName},
	{"middle_initial", "character(1)", config.CategoryName},
	{"patient_name", "text", config.CategoryName},
	{"emergency_contact_name", "text", config.CategoryName},
	{"provider", "text", config.CategoryName},
	{"attending_physician", "text", config.CategoryName},
	{"dob", "date", config.CategoryBirthDate},
	{"date_of_birth", "date", config.CategoryBirthDate},
	{"DateOfBirth", "timestamp without time zone", config.CategoryBirthDate},
	{"birthdate", "text", config.CategoryBirthDate},
	{"date_of_death", "date", config.CategoryDeathDate},
	{"admitted_at", "timestamp with time zone", config.CategoryEventDate},
	{"visit_date", "date", config.CategoryEventDate},
	{"last_login", "timestamp with time zone", config.CategoryEventDate},
	{"age", "integer", config.CategoryAge},
	{"age_at_admission", "smallint", config.CategoryAge},
	{"ssn", "text", config.CategorySSN},
	{"social_security_number", "text", config.CategorySSN},
	{"ssn_last4", "text", config.CategorySSN},
	{"mrn", "text", config.CategoryMRN},
	{"medical_record_number", "text", config.CategoryMRN},
	{"account_number", "text", config.CategoryAccountNumber},
	{"acct_no", "text", config.CategoryAccountNumber},
	{"member_id", "text", config.CategoryHealthPlanID},
	{"insurance_policy_number", "text", config.CategoryHealthPlanID},
	{"drivers_license", "text", config.CategoryLicenseNumber},
	{"license_plate", "text", config.CategoryVehicleID},
	{"vin", "text", config.CategoryVehicleID},
	{"device_serial", "text", config.CategoryDeviceID},
	{"serial_number", "text", config.CategoryDeviceID},
	{"mac_address", "text", config.CategoryDeviceID},
	{"zip", "text", config.CategoryZIP},
	{"zip_code", "text", config.CategoryZIP},
	{"PostalCode", "text", config.CategoryZIP},
	{"street", "text", config.CategoryStreetAddress},
	{"address_line1", "text", config.CategoryStreetAddress},
	{"home_address", "text", config.CategoryStreetAddress},
	{"city", "text", config.CategoryCity},
	{"county", "text", config.CategoryCounty},
	{"latitude", "double precision", config.CategoryCounty},
	{"state", "text", config.CategoryState},
	{"phone", "text", config.CategoryPhone},
	{"home_phone", "text", config.CategoryPhone},
	{"phone_number", "bigint", config.CategoryPhone},
	{"fax", "text", config.CategoryFax},
	{"fax_number", "text", config.CategoryFax},
	{"email", "text", config.CategoryEmail},
	{"email_address", "citext", config.CategoryEmail},
	{"website", "text", config.CategoryURL},
	{"profile_url", "text", config.CategoryURL},
	{"ip_address", "text", config.CategoryIPAddress},
	{"client_addr", "inet", config.CategoryIPAddress},
	{"source", "inet", config.CategoryIPAddress},
	{"fingerprint", "bytea", config.CategoryBiometric},
	{"photo", "bytea", config.CategoryPhoto},
	{"username", "text", config.CategoryOtherID},
	{"passport_number", "text", config.CategoryOtherID},
	{"notes", "text", config.CategoryFreeText},
	{"chief_complaint", "text", config.CategoryFreeText},
	{"body", "text", config.CategoryFreeText},
	{"payload", "jsonb", config.CategoryFreeText},
}

// clinicalCases are columns that must not be flagged as identifiers.
var clinicalCases = []struct{ name, typ string }{
	{"id", "bigint"},
	{"patient_id", "bigint"},
	{"encounter_id", "integer"},
	{"provider_id", "bigint"},
	{"provider_id", "text"},
	{"account_id", "bigint"},
	{"diagnosis_codes", "text[]"},
	{"diagnosis", "text"},
	{"amount", "numeric(12,2)"},
	{"account_balance", "numeric"},
	{"note_type", "text"},
	{"sex", "text"},
	{"gender", "character(1)"},
	{"phone_type", "text"},
	{"email_verified", "boolean"},
	{"is_deceased", "boolean"},
	{"dosage", "numeric"},
	{"heart_rate", "integer"},
	{"drug_name", "text"},
	{"facility_name", "text"},
	{"country", "text"},
	{"length_of_stay", "interval"},
	{"cell_count", "integer"},
	{"age_group", "text"},
}

func TestNamesAndTypesProposeACategory(t *testing.T) {
	for _, c := range nameCases {
		g := Classify(Column{Name: c.name, Type: c.typ})
		if g.Category != c.want {
			t.Errorf("%s %s: %s (%.2f: %s), want %s", c.name, c.typ, g.Category, g.Confidence, g.Reason, c.want)
		}
	}
}

func TestClinicalColumnsAreNotIdentifiers(t *testing.T) {
	for _, c := range clinicalCases {
		g := Classify(Column{Name: c.name, Type: c.typ})
		if config.IsIdentifier(g.Category) {
			t.Errorf("%s %s: %s (%.2f: %s), want a non-identifier", c.name, c.typ, g.Category, g.Confidence, g.Reason)
		}
	}
}

func TestAKeyNamedAfterAPersonIsNotTheirName(t *testing.T) {
	for _, name := range []string{"provider_id", "patient_id", "author_id", "contact_method"} {
		if g := Classify(Column{Name: name, Type: "text"}); g.Category == config.CategoryName {
			t.Errorf("%s: %s (%s)", name, g.Category, g.Reason)
		}
	}
}
