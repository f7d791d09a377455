package config

import (
	"slices"
	"strings"
	"time"
)

// Purposes of use a user may declare with SET pgmask.purpose (45 CFR 164.506, 164.512).
// The first six are the cases the minimum necessary standard does not apply to
// (45 CFR 164.502(b)(2)); only they may map to a role with profile full. The others
// are routine purposes that stay under minimum necessary.
const (
	PurposeTreatment                = "treatment"                     // by a health care provider, 164.502(b)(2)(i)
	PurposeIndividual               = "individual"                    // the individual's own record, 164.502(b)(2)(ii)
	PurposeAuthorization            = "authorization"                 // under a valid authorization, 164.502(b)(2)(iii)
	PurposeHHSOversight             = "hhs_oversight"                 // disclosures to HHS, 164.502(b)(2)(iv)
	PurposeRequiredByLaw            = "required_by_law"               // 164.502(b)(2)(v)
	PurposeAdministrativeSimplicity = "administrative_simplification" // 164.502(b)(2)(vi)
	PurposePayment                  = "payment"
	PurposeOperations               = "operations" // health care operations
	PurposeResearch                 = "research"
	PurposePublicHealth             = "public_health"
)

// Purposes lists every purpose name, the minimum-necessary exceptions first.
var Purposes = []string{
	PurposeTreatment, PurposeIndividual, PurposeAuthorization, PurposeHHSOversight,
	PurposeRequiredByLaw, PurposeAdministrativeSimplicity,
	PurposePayment, PurposeOperations, PurposeResearch, PurposePublicHealth,
}

// ExemptPurposes are the purposes the minimum necessary standard does not apply to.
var ExemptPurposes = Purposes[:6]

// IsExemptPurpose reports whether the minimum necessary standard does not apply to p,
// so that a purpose-of-use mapping may grant a full role for it.
func IsExemptPurpose(p string) bool { return slices.Contains(ExemptPurposes, p) }

// Limits of break-glass.
const (
	// MaxBreakGlass is the longest elevation a user's break_glass.max may allow.
	MaxBreakGlass = 24 * time.Hour
	// MinJustification is the shortest justification SET pgmask.break_glass accepts:
	// long enough that "x" or "emergency" alone is refused.
	MinJustification = 20
)

// purposes checks users.X.purposes and users.X.break_glass.
func (v *validator) purposes(name string, u User) {
	at := func(k ...string) []string { return append([]string{"users", name}, k...) }
	for _, p := range sortedKeys(u.Purposes) {
		role := u.Purposes[p]
		path := at("purposes", p)
		if !slices.Contains(Purposes, p) {
			v.errorf(path, "%s", unknown("purpose", p, Purposes))
			continue
		}
		if !v.elevationRole(path, name, u, role) {
			continue
		}
		if v.c.Roles[role].Profile == ProfileFull && !IsExemptPurpose(p) {
			v.errorf(path, "role %q has profile full, but minimum necessary applies to purpose %q (45 CFR 164.502(b)); only %s may map to a full role",
				role, p, strings.Join(ExemptPurposes, ", "))
		}
	}
	if bg := u.BreakGlass; bg != nil {
		if bg.Role == "" {
			v.errorf(at("break_glass", "role"), "required: the role the user may elevate to (defined roles: %s)", v.roleList())
		} else {
			v.elevationRole(at("break_glass", "role"), name, u, bg.Role)
		}
		switch {
		case bg.Max.Duration <= 0:
			v.errorf(at("break_glass", "max"), `required: how long an elevation may last, such as "30m"`)
		case bg.Max.Duration > MaxBreakGlass:
			v.errorf(at("break_glass", "max"), "%s is longer than the %s limit of an emergency elevation", bg.Max.Duration, MaxBreakGlass)
		}
	}
}

// elevationRole checks a role a user may switch to mid-session: it must exist and use
// the same upstream identity as the user's own role, because the session's upstream
// connection (and what it pinned) stays the same.
func (v *validator) elevationRole(path []string, user string, u User, role string) bool {
	r, ok := v.c.Roles[role]
	if !ok {
		v.errorf(path, "%s", unknown("role", role, sortedKeys(v.c.Roles)))
		return false
	}
	base, ok := v.c.Roles[u.Role]
	if !ok {
		return false // reported by users()
	}
	if up, baseUp := v.upstreamUser(r), v.upstreamUser(base); up != baseUp {
		v.errorf(path, "role %q connects upstream as %q but users.%s.role %q as %q: a session keeps its upstream connection, so both roles must use the same upstream_user",
			role, up, user, u.Role, baseUp)
		return false
	}
	return true
}

func (v *validator) upstreamUser(r Role) string {
	if r.UpstreamUser != "" {
		return r.UpstreamUser
	}
	return v.c.Upstream.User
}

// dataUse checks what a limited_data_set role must name (45 CFR 164.514(e)(4)).
func (v *validator) dataUse(name string, r *Role) {
	if r.Profile != ProfileLimitedDataSet {
		return
	}
	if strings.TrimSpace(r.DataUseAgreement) == "" {
		v.errorf([]string{"roles", name, "data_use_agreement"}, "required for profile limited_data_set: the data use agreement the data set is disclosed under (45 CFR 164.514(e)(4))")
	}
	if r.Expires == nil {
		v.errorf([]string{"roles", name, "expires"}, "required for profile limited_data_set: when the data use agreement ends (access ends with it)")
	}
}
