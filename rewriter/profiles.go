package rewriter

import "github.com/pgmask/pgmask/config"

// A profileRule is what a HIPAA profile does to one column category, and the provision
// that requires it, quoted when a role tries to loosen it.
type profileRule struct {
	transform string
	rule      string
}

// The citations of the de-identification rules (shared/hipaa.md, docs/hipaa.md).
const (
	safeHarbor = "Safe Harbor (45 CFR 164.514(b)(2)(i))"
	lds        = "the limited data set rule (45 CFR 164.514(e)(2))"
)

func remove(cite, what string) profileRule {
	return profileRule{"exclude", cite + " requires " + what + " to be removed"}
}

// ─── PROFILE TABLE ────────────────────────────────────────────────────────────────
//
// What each HIPAA profile does to each column category, before a role's overrides,
// exactly as shared/hipaa.md states the rules. minimum_necessary has no table: every
// identifier is excluded unless the role maps its category to a transform.
var profileTable = map[string]map[string]profileRule{
	// 45 CFR 164.514(b)(2): the 18 identifiers of the individual (and of relatives,
	// employers and household members, whatever column they are in) are removed;
	// dates keep their year; ages over 89 become 90 and the birth year of those people
	// is suppressed; ZIP codes keep three digits unless the area is restricted.
	config.ProfileSafeHarbor: {
		config.CategoryName:          remove(safeHarbor, "names (A)"),
		config.CategoryStreetAddress: remove(safeHarbor, "street addresses (B)"),
		config.CategoryCity:          remove(safeHarbor, "cities (B)"),
		config.CategoryCounty:        remove(safeHarbor, "counties, precincts and geocodes (B)"),
		config.CategoryZIP:           {"zip3", safeHarbor + " allows only the first three ZIP digits of areas over 20,000 people, 000 otherwise (B)"},
		config.CategoryState:         {"keep", ""},
		config.CategoryBirthDate:     {"age_top90", safeHarbor + " allows only the year of a birth date, and not even that for people over 89 (C)"},
		config.CategoryEventDate:     {"year", safeHarbor + " allows only the year of dates related to the individual (C)"},
		config.CategoryDeathDate:     {"year", safeHarbor + " allows only the year of a date of death (C)"},
		config.CategoryAge:           {"age_top90", safeHarbor + " requires ages over 89 to be reported as 90 or older (C)"},
		config.CategoryPhone:         remove(safeHarbor, "telephone numbers (D)"),
		config.CategoryFax:           remove(safeHarbor, "fax numbers (E)"),
		config.CategoryEmail:         remove(safeHarbor, "email addresses (F)"),
		config.CategorySSN:           remove(safeHarbor, "social security numbers (G)"),
		config.CategoryMRN:           remove(safeHarbor, "medical record numbers (H)"),
		config.CategoryHealthPlanID:  remove(safeHarbor, "health plan beneficiary numbers (I)"),
		config.CategoryAccountNumber: remove(safeHarbor, "account numbers (J)"),
		config.CategoryLicenseNumber: remove(safeHarbor, "certificate and license numbers (K)"),
		config.CategoryVehicleID:     remove(safeHarbor, "vehicle identifiers (L)"),
		config.CategoryDeviceID:      remove(safeHarbor, "device identifiers (M)"),
		config.CategoryURL:           remove(safeHarbor, "web URLs (N)"),
		config.CategoryIPAddress:     remove(safeHarbor, "IP addresses (O)"),
		config.CategoryBiometric:     remove(safeHarbor, "biometric identifiers (P)"),
		config.CategoryPhoto:         remove(safeHarbor, "full-face photographs (Q)"),
		config.CategoryOtherID:       remove(safeHarbor, "other unique identifying numbers and codes, except a 164.514(c) code (R)"),
		config.CategoryFreeText:      remove(safeHarbor, "free text, which may contain any identifier,"),
		config.CategoryNone:          {"keep", ""},
	},
	// 45 CFR 164.514(e)(2): the 16 direct identifiers are removed. Town or city,
	// state, ZIP code, every date and every age stay; so do county and other codes
	// (not among the 16). Free text is removed because it may quote any of the 16.
	config.ProfileLimitedDataSet: {
		config.CategoryName:          remove(lds, "names"),
		config.CategoryStreetAddress: remove(lds, "postal address information other than town or city, state and ZIP code"),
		config.CategoryCity:          {"keep", ""},
		config.CategoryCounty:        {"keep", ""},
		config.CategoryZIP:           {"keep", ""},
		config.CategoryState:         {"keep", ""},
		config.CategoryBirthDate:     {"keep", ""},
		config.CategoryEventDate:     {"keep", ""},
		config.CategoryDeathDate:     {"keep", ""},
		config.CategoryAge:           {"keep", ""},
		config.CategoryPhone:         remove(lds, "telephone numbers"),
		config.CategoryFax:           remove(lds, "fax numbers"),
		config.CategoryEmail:         remove(lds, "electronic mail addresses"),
		config.CategorySSN:           remove(lds, "social security numbers"),
		config.CategoryMRN:           remove(lds, "medical record numbers"),
		config.CategoryHealthPlanID:  remove(lds, "health plan beneficiary numbers"),
		config.CategoryAccountNumber: remove(lds, "account numbers"),
		config.CategoryLicenseNumber: remove(lds, "certificate and license numbers"),
		config.CategoryVehicleID:     remove(lds, "vehicle identifiers"),
		config.CategoryDeviceID:      remove(lds, "device identifiers"),
		config.CategoryURL:           remove(lds, "web URLs"),
		config.CategoryIPAddress:     remove(lds, "IP addresses"),
		config.CategoryBiometric:     remove(lds, "biometric identifiers"),
		config.CategoryPhoto:         remove(lds, "full-face photographs"),
		config.CategoryOtherID:       {"keep", ""},
		config.CategoryFreeText:      remove(lds, "free text, which may quote any direct identifier,"),
		config.CategoryNone:          {"keep", ""},
	},
}

// subjectKeyRule is what Safe Harbor does to a table's subject key (the patient id):
// an internal id is a unique identifying number (R), so it is disclosed only as a
// random re-identification code that is not derived from it (45 CFR 164.514(c)).
var subjectKeyRule = profileRule{config.TransformCode, safeHarbor + " allows a subject key only as a 164.514(c) re-identification code"}

// ─── END OF PROFILE TABLE ─────────────────────────────────────────────────────────

// profileColumn returns what a profile does to a column of a category; subjectKey is
// true for the column a table names as its subject_key.
func profileColumn(profile, category string, subjectKey bool) profileRule {
	table, fixed := profileTable[profile]
	switch {
	case !fixed:
		// minimum_necessary: identifiers are hidden unless the role says otherwise.
		if config.IsIdentifier(category) {
			return profileRule{"exclude", ""}
		}
		return profileRule{"keep", ""}
	case subjectKey && profile == config.ProfileSafeHarbor:
		return subjectKeyRule
	}
	if r, ok := table[category]; ok {
		return r
	}
	return profileRule{"exclude", "an unknown category is never shown"}
}

// tightens reports whether a role may replace the profile's transform def by
// override. minimum_necessary may map a category to anything (that is what the role's
// transforms are for). The HIPAA profiles may only be tightened: an override must drop
// or blank the value, repeat the profile's own transform, or replace the value by the
// subject's re-identification code (random, so it discloses nothing of the value;
// 164.514(c) allows it even under Safe Harbor) — unless the profile keeps the
// category raw anyway.
func tightens(profile, def, override string) bool {
	if _, fixed := profileTable[profile]; !fixed || def == "keep" || override == def {
		return true
	}
	switch override {
	case "exclude", "null", "redact", config.TransformCode:
		return true
	}
	return false
}
