package discover

import (
	"strings"
	"unicode"

	"github.com/pgmask/pgmask/config"
)

// words splits a column name into lower-case words at underscores, spaces, other
// punctuation, camelCase humps and letter–digit boundaries: "PatientSSN" → patient ssn,
// "address_line1" → address line 1, "DOB" → dob.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if len(cur) > 0 {
			prev := cur[len(cur)-1]
			switch {
			case unicode.IsDigit(r) != unicode.IsDigit(prev):
				flush()
			case unicode.IsUpper(r) && unicode.IsLower(prev):
				flush() // patientId
			case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
				flush() // SSNLast
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// nameRule proposes a category for columns whose name contains one of its phrases.
type nameRule struct {
	category string
	conf     float64
	phrases  []string
	// textOnly rules describe values that can only be text (a person's name, an
	// address, a note); on a number column the same word names a key or a count.
	textOnly bool
	// what the rule says in the reason, e.g. "a date of birth".
	what string
}

// keyWords end the names of keys: provider_id refers to a provider, it is not one.
var keyWords = set("id", "ids", "key", "pk", "fk", "uuid", "guid", "oid", "ref", "seq")

// attributeWords end the names of attributes of something else: note_type says which
// kind of note, phone_status whether a number works, diagnosis_codes which codes.
var attributeWords = set("type", "types", "kind", "status", "code", "codes", "category",
	"class", "flag", "count", "verified", "valid", "confirmed", "consent", "opt", "preference",
	"preferences", "method", "channel", "mode", "format", "length", "len", "hash", "source",
	"version", "level", "group", "order", "sort")

// qualifierWords may follow the words a rule matched without changing what the column
// holds: phone_home, name_first, ssn_last4, email_primary.
var qualifierWords = set("first", "last", "middle", "full", "primary", "secondary", "home",
	"work", "alt", "alternate", "other", "prev", "previous", "old", "new", "current", "raw",
	"ext", "extension", "plus", "number", "num", "nbr", "no", "value", "val", "str", "line")

// prepositions start a modifier: age_at_admission is an age, email_on_file an email.
var prepositions = set("at", "on", "in", "of", "upon", "when")

// nonPersonWords make a plain "name" the name of a thing, not of a person.
var nonPersonWords = set("file", "table", "column", "schema", "drug", "medication", "med",
	"product", "brand", "generic", "test", "lab", "procedure", "facility", "hospital",
	"clinic", "department", "dept", "unit", "ward", "org", "organization", "organisation",
	"company", "vendor", "payer", "insurer", "host", "server", "database", "db", "domain",
	"app", "application", "device", "item", "service", "specialty", "role", "plan",
	"diagnosis", "event", "field", "city", "street", "state", "county", "country", "region",
	"tag", "label", "template", "form", "document", "report", "queue", "job", "team")

// nameRules are tried in order; the first whose phrase matches wins, so specific
// phrases come before the general ones they contain (email address before address,
// license plate before license, date of birth before date).
var nameRules = []nameRule{
	{config.CategoryEmail, 0.9, phrases("email", "e mail", "email address", "e mail address", "email addr"), true, "an email address"},
	{config.CategoryIPAddress, 0.9, phrases("ip", "ip address", "ip addr", "ipv4", "ipv6", "remote addr", "remote address", "client addr", "inet"), false, "an IP address"},
	{config.CategoryDeviceID, 0.9, phrases("mac address", "mac addr", "device id", "device serial", "device identifier", "serial number", "serial no", "serial", "imei", "meid", "iccid", "udi", "implant serial"), false, "a device identifier or serial number"},
	{config.CategoryURL, 0.9, phrases("url", "uri", "website", "web site", "homepage", "home page", "web address", "link"), true, "a URL"},
	{config.CategoryVehicleID, 0.9, phrases("vin", "vehicle id", "vehicle identification number", "license plate", "licence plate", "plate number", "plate no", "registration plate", "vehicle"), false, "a vehicle identifier"},
	{config.CategoryFax, 0.9, phrases("fax", "fax number", "fax no", "facsimile"), false, "a fax number"},
	{config.CategoryPhone, 0.9, phrases("phone", "telephone", "tel", "mobile", "cellphone", "cell phone", "cell number", "phone number", "contact number", "callback", "callback number", "pager", "msisdn"), false, "a phone number"},
	{config.CategorySSN, 0.95, phrases("ssn", "social security", "social security number", "social security no", "ssnum"), false, "a social security number"},
	{config.CategoryMRN, 0.9, phrases("mrn", "medical record", "medical record number", "medical record no", "chart number", "chart no", "mr number", "patient number", "patient no", "record number", "emr id", "ehr id"), false, "a medical record number"},
	{config.CategoryHealthPlanID, 0.9, phrases("member id", "member number", "member no", "subscriber id", "subscriber number", "beneficiary id", "beneficiary number", "health plan id", "health plan number", "insurance id", "insurance number", "insurance no", "policy number", "policy no", "policy id", "medicare id", "medicare number", "medicaid id", "medicaid number", "mbi", "hicn"), false, "a health plan beneficiary number"},
	{config.CategoryAccountNumber, 0.9, phrases("account number", "account no", "account num", "account", "acct", "acct no", "acct num", "billing account", "bank account", "iban", "card number", "credit card", "routing number"), false, "an account number"},
	{config.CategoryLicenseNumber, 0.9, phrases("license", "licence", "license number", "license no", "licence number", "drivers license", "driver license", "dl number", "certificate number", "certificate no", "cert number", "dea number"), false, "a certificate or license number"},
	{config.CategoryOtherID, 0.8, phrases("national id", "passport", "passport number", "passport no", "username", "user name", "login", "login name", "screen name", "tax id", "tin", "itin"), false, "another unique identifying code"},
	{config.CategoryBiometric, 0.9, phrases("fingerprint", "finger print", "voiceprint", "voice print", "retina", "retina scan", "retinal scan", "iris", "iris scan", "biometric", "biometrics", "face template", "palm print"), false, "a biometric identifier"},
	{config.CategoryPhoto, 0.85, phrases("photo", "photograph", "picture", "avatar", "headshot", "portrait", "selfie", "mugshot", "face image", "image"), false, "a photograph"},
	{config.CategoryBirthDate, 0.95, phrases("dob", "birth date", "birthdate", "date of birth", "birthday", "born", "born on", "birth dt", "birth year", "year of birth"), false, "a date of birth"},
	{config.CategoryDeathDate, 0.95, phrases("dod", "death date", "date of death", "death dt", "deceased date", "deceased at", "deceased on", "died at", "died on"), false, "a date of death"},
	{config.CategoryAge, 0.9, phrases("age", "age years", "age in years", "patient age", "age at"), false, "an age"},
	{config.CategoryZIP, 0.9, phrases("zip", "zipcode", "zip code", "zip4", "postal code", "postcode", "post code", "postal"), false, "a ZIP code"},
	{config.CategoryStreetAddress, 0.9, phrases("street", "street name", "street address", "address", "addr", "address line", "mailing address", "home address", "house number", "apartment", "apt", "suite"), true, "a street address"},
	{config.CategoryCity, 0.9, phrases("city", "city name", "town", "municipality"), true, "a city"},
	{config.CategoryCounty, 0.85, phrases("county", "precinct", "geocode", "census tract", "census block", "latitude", "longitude", "lat", "lng", "lon", "geolocation", "coordinates"), false, "a county, precinct or geocode"},
	{config.CategoryState, 0.85, phrases("state", "state name", "province", "state code"), true, "a state"},
	{config.CategoryName, 0.95, phrases("first name", "last name", "middle name", "full name", "given name", "family name",
		"surname", "maiden name", "middle initial", "nickname", "nick name", "preferred name", "legal name", "patient name",
		"display name", "fname", "lname", "mname", "forename", "initials", "next of kin", "emergency contact",
		"contact name", "guarantor", "guardian", "spouse"), true, "a person's name"},
	// "name" alone, or a person's role: usually a person's name, but check.
	{config.CategoryName, 0.7, phrases("name", "provider", "physician", "doctor", "attending", "surgeon", "nurse",
		"clinician", "practitioner", "referring", "referrer", "author", "signed by", "caregiver", "employer",
		"relative", "kin", "patient", "contact", "mother", "father", "parent"), true, "a person's name"},
	{config.CategoryFreeText, 0.75, phrases("note", "notes", "body", "comment", "comments", "narrative", "remark",
		"remarks", "description", "memo", "text", "message", "summary", "history", "impression", "findings",
		"free text", "transcript", "transcription", "observation", "observations", "assessment", "instructions",
		"complaint", "chief complaint"), true, "free text"},
	{config.CategoryNone, 0.9, phrases("sex", "gender", "race", "ethnicity", "language", "marital status",
		"amount", "cost", "charge", "charges", "price", "total", "balance", "paid", "payment", "fee",
		"quantity", "qty", "dose", "dosage", "units", "result", "score", "weight", "height", "bmi",
		"temperature", "temp", "pulse", "heart rate", "bp", "systolic", "diastolic", "glucose",
		"severity", "priority", "diagnosis", "dx", "icd", "cpt", "ndc", "loinc", "snomed", "medication",
		"drug", "specialty", "department", "outcome", "disposition", "country", "insurer", "payer"), false,
		"clinical or administrative data"},
}

// nameGuess proposes a category from the column's name alone; ok is false when the
// name says nothing.
func nameGuess(name string, t sqlType) (g Guess, ok bool) {
	ws := words(name)
	if len(ws) == 0 {
		return Guess{}, false
	}
	for _, r := range nameRules {
		if r.textOnly && !t.kind.textual() && t.kind != kindDocument {
			continue
		}
		if !r.match(ws) {
			continue
		}
		if r.category == config.CategoryName && r.conf < 0.9 && hasAny(ws, nonPersonWords) {
			continue // drug_name, facility_name
		}
		return Guess{r.category, r.conf, "name: " + r.what}, true
	}
	last := ws[len(ws)-1]
	switch {
	case keyWords[last]:
		return Guess{config.CategoryNone, 0.9, "name: a key"}, true
	case attributeWords[last]:
		return Guess{config.CategoryNone, 0.85, "name: a type, status or code"}, true
	case len(ws) > 1 && (ws[0] == "is" || ws[0] == "has"):
		return Guess{config.CategoryNone, 0.85, "name: a yes/no attribute"}, true
	}
	return Guess{}, false
}

// match reports whether one of the rule's phrases names what the column holds: it
// occurs in ws as consecutive words (also written together or apart: "zipcode" for
// "zip code", "e_mail" for "email") and is the head of the name, followed by nothing,
// by qualifiers (phone_home, ssn_last4) or by a modifier (age_at_admission). A phrase
// followed by anything else is about something else: provider_id, account_balance.
func (r nameRule) match(ws []string) bool {
	for _, p := range r.phrases {
		for i := range ws {
			joined := ""
			for j := i; j < len(ws) && len(joined) < len(p); j++ {
				joined += ws[j]
				if joined == p && headOf(ws[j+1:]) {
					return true
				}
			}
		}
	}
	return false
}

// headOf reports whether the words after a match leave it the head of the name.
func headOf(rest []string) bool {
	if len(rest) > 0 && prepositions[rest[0]] {
		return true
	}
	for _, w := range rest {
		if !qualifierWords[w] && !isDigits(w) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// phrases compiles phrases written with spaces into the joined form match compares.
func phrases(ps ...string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.ReplaceAll(p, " ", "")
	}
	return out
}

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

func hasAny(ws []string, m map[string]bool) bool {
	for _, w := range ws {
		if m[w] {
			return true
		}
	}
	return false
}
