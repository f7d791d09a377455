package rewriter

import "github.com/pgmask/pgmask/config"

// ─── PROFILE TABLE ────────────────────────────────────────────────────────────────
//
// What each restricted profile does to each column category, before a role's
// overrides. minimum_necessary is exact (DESIGN §4: identifiers are hidden unless the
// role maps the category to a transform). The safe_harbor and limited_data_set
// columns are a conservative first cut that a later issue completes to the letter of
// shared/hipaa.md; where the rule was unclear they exclude:
//
//   - safe_harbor (45 CFR 164.514(b)(2)): every identifier is excluded, except dates
//     (year only), ZIP (zip3 with the restricted-prefix table) and ages (age_top90). A
//     birth date gets age_top90 rather than year, which on a date keeps the year and
//     suppresses it for people 90 or older (164.514(b)(2)(i)(C)).
//   - limited_data_set (45 CFR 164.514(e)): the 16 direct identifiers are excluded;
//     city, state, ZIP, dates and ages are kept. county, other_id and free_text are
//     excluded for now (county is not named as keepable; free text may contain direct
//     identifiers; other_id may be one of the 16 in disguise).
var profileTable = map[string]map[string]string{
	config.ProfileSafeHarbor: {
		config.CategoryName: "exclude", config.CategoryStreetAddress: "exclude",
		config.CategoryCity: "exclude", config.CategoryCounty: "exclude",
		config.CategoryZIP: "zip3", config.CategoryState: "keep",
		config.CategoryBirthDate: "age_top90", config.CategoryEventDate: "year",
		config.CategoryDeathDate: "year", config.CategoryAge: "age_top90",
		config.CategoryPhone: "exclude", config.CategoryFax: "exclude",
		config.CategoryEmail: "exclude", config.CategorySSN: "exclude",
		config.CategoryMRN: "exclude", config.CategoryHealthPlanID: "exclude",
		config.CategoryAccountNumber: "exclude", config.CategoryLicenseNumber: "exclude",
		config.CategoryVehicleID: "exclude", config.CategoryDeviceID: "exclude",
		config.CategoryURL: "exclude", config.CategoryIPAddress: "exclude",
		config.CategoryBiometric: "exclude", config.CategoryPhoto: "exclude",
		config.CategoryOtherID: "exclude", config.CategoryFreeText: "exclude",
		config.CategoryNone: "keep",
	},
	config.ProfileLimitedDataSet: {
		config.CategoryName: "exclude", config.CategoryStreetAddress: "exclude",
		config.CategoryCity: "keep", config.CategoryCounty: "exclude",
		config.CategoryZIP: "keep", config.CategoryState: "keep",
		config.CategoryBirthDate: "keep", config.CategoryEventDate: "keep",
		config.CategoryDeathDate: "keep", config.CategoryAge: "keep",
		config.CategoryPhone: "exclude", config.CategoryFax: "exclude",
		config.CategoryEmail: "exclude", config.CategorySSN: "exclude",
		config.CategoryMRN: "exclude", config.CategoryHealthPlanID: "exclude",
		config.CategoryAccountNumber: "exclude", config.CategoryLicenseNumber: "exclude",
		config.CategoryVehicleID: "exclude", config.CategoryDeviceID: "exclude",
		config.CategoryURL: "exclude", config.CategoryIPAddress: "exclude",
		config.CategoryBiometric: "exclude", config.CategoryPhoto: "exclude",
		config.CategoryOtherID: "exclude", config.CategoryFreeText: "exclude",
		config.CategoryNone: "keep",
	},
}

// ─── END OF PROFILE TABLE ─────────────────────────────────────────────────────────

// profileTransform returns the transform a profile applies to a category.
func profileTransform(profile, category string) string {
	if t, ok := profileTable[profile]; ok {
		if s, ok := t[category]; ok {
			return s
		}
		return "exclude"
	}
	// minimum_necessary: identifiers are hidden unless the role says otherwise.
	if config.IsIdentifier(category) {
		return "exclude"
	}
	return "keep"
}

// tightens reports whether a role may replace the profile's transform def by
// override. minimum_necessary may map a category to anything (that is what the role's
// transforms are for). The de-identification profiles may only be tightened: an
// override must drop or blank the value, or repeat the profile's own transform, unless
// the profile keeps the category raw anyway.
func tightens(profile, def, override string) bool {
	if _, fixed := profileTable[profile]; !fixed || def == "keep" || override == def {
		return true
	}
	switch override {
	case "exclude", "null", "redact":
		return true
	}
	return false
}
