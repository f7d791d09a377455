package config

import "slices"

// Column categories. They follow the HIPAA Safe Harbor identifier list
// (45 CFR 164.514(b)(2)(i)(A)–(R)), so a profile can map each one to the transform the
// rule requires; see shared/hipaa.md. A column is classified with exactly one.
const (
	CategoryName          = "name"           // (A) names
	CategoryStreetAddress = "street_address" // (B) street address
	CategoryCity          = "city"           // (B) city
	CategoryCounty        = "county"         // (B) county, precinct, geocodes
	CategoryZIP           = "zip"            // (B) ZIP code
	CategoryState         = "state"          // not an identifier: Safe Harbor keeps the state
	CategoryBirthDate     = "birth_date"     // (C) date of birth
	CategoryEventDate     = "event_date"     // (C) admission, discharge, service dates
	CategoryDeathDate     = "death_date"     // (C) date of death
	CategoryAge           = "age"            // (C) ages (over 89 are identifying)
	CategoryPhone         = "phone"          // (D)
	CategoryFax           = "fax"            // (E)
	CategoryEmail         = "email"          // (F)
	CategorySSN           = "ssn"            // (G)
	CategoryMRN           = "mrn"            // (H) medical record number
	CategoryHealthPlanID  = "health_plan_id" // (I) health plan beneficiary number
	CategoryAccountNumber = "account_number" // (J)
	CategoryLicenseNumber = "license_number" // (K) certificate/license numbers
	CategoryVehicleID     = "vehicle_id"     // (L) vehicle identifiers, license plates
	CategoryDeviceID      = "device_id"      // (M) device identifiers and serial numbers
	CategoryURL           = "url"            // (N)
	CategoryIPAddress     = "ip_address"     // (O)
	CategoryBiometric     = "biometric"      // (P) finger and voice prints
	CategoryPhoto         = "photo"          // (Q) full-face photographs
	CategoryOtherID       = "other_id"       // (R) any other unique identifying number or code
	CategoryFreeText      = "free_text"      // notes that may contain any of the above
	CategoryNone          = "none"           // not identifying
)

// Categories lists every column category in the order of the HIPAA list.
var Categories = []string{
	CategoryName, CategoryStreetAddress, CategoryCity, CategoryCounty, CategoryZIP,
	CategoryState, CategoryBirthDate, CategoryEventDate, CategoryDeathDate, CategoryAge,
	CategoryPhone, CategoryFax, CategoryEmail, CategorySSN, CategoryMRN,
	CategoryHealthPlanID, CategoryAccountNumber, CategoryLicenseNumber, CategoryVehicleID,
	CategoryDeviceID, CategoryURL, CategoryIPAddress, CategoryBiometric, CategoryPhoto,
	CategoryOtherID, CategoryFreeText, CategoryNone,
}

// IsCategory reports whether s is a column category.
func IsCategory(s string) bool { return slices.Contains(Categories, s) }

// IsIdentifier reports whether columns of the category can identify an individual,
// which is every category but none and state (a state is coarse enough that Safe
// Harbor keeps it). Unknown categories are not identifiers: validation rejects them.
func IsIdentifier(category string) bool {
	return category != CategoryNone && category != CategoryState && IsCategory(category)
}

// Profiles: what a role sees by default, category by category. The rewriter defines
// the transform each profile applies; overrides in a role may only tighten it.
const (
	// ProfileFull shows everything, for uses the minimum necessary standard does not
	// cover (treatment by a provider, the individual's own record, ...). Still audited.
	ProfileFull = "full"
	// ProfileMinimumNecessary is for routine workforce access (45 CFR 164.514(d)).
	ProfileMinimumNecessary = "minimum_necessary"
	// ProfileLimitedDataSet removes the 16 direct identifiers of 45 CFR 164.514(e).
	ProfileLimitedDataSet = "limited_data_set"
	// ProfileSafeHarbor de-identifies per 45 CFR 164.514(b)(2).
	ProfileSafeHarbor = "safe_harbor"
)

// Profiles lists every profile, least restrictive first.
var Profiles = []string{ProfileFull, ProfileMinimumNecessary, ProfileLimitedDataSet, ProfileSafeHarbor}

// IsProfile reports whether s is a profile name.
func IsProfile(s string) bool { return slices.Contains(Profiles, s) }
