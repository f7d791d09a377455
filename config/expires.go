package config

import "time"

// users.X.expires and roles.X.expires may be written in three TOML forms. BurntSushi/toml tells them apart
// only by the name of the time.Location it gives local values (and then loses when it
// decodes into a time.Time field), so Parse reads the form from the generic document
// and stores one unambiguous instant in User.Expires and Role.Expires:
//
//	expires = 2027-06-30T17:00:00-05:00  # offset datetime: that instant
//	expires = 2027-06-30T17:00:00        # local datetime: that wall-clock time in UTC
//	expires = 2027-06-30                 # local date: access lasts through that day (UTC),
//	                                     # so it ends at 2027-07-01T00:00:00Z
//
// The date form reads "valid through June 30", as data use agreements are written; ending
// access at the start of the named day would cut the last day off. A time of day alone
// (17:00:00) is rejected by the shape check.

// Location names BurntSushi/toml gives the TOML forms without an offset.
const (
	tomlLocalDatetime = "datetime-local"
	tomlLocalDate     = "date-local"
	tomlLocalTime     = "time-local"
)

// expiryInstant turns a decoded expires value into the instant access ends.
func expiryInstant(t time.Time) time.Time {
	y, m, d := t.Date()
	switch t.Location().String() {
	case tomlLocalDate:
		return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	case tomlLocalDatetime:
		h, mi, s := t.Clock()
		return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)
	}
	return t
}

// setExpiries sets User.Expires and Role.Expires from the generic form of the document.
func (c *Config) setExpiries(doc map[string]any) {
	for name, at := range expiries(doc, "users") {
		user := c.Users[name]
		user.Expires = at
		c.Users[name] = user
	}
	for name, at := range expiries(doc, "roles") {
		role := c.Roles[name]
		role.Expires = at
		c.Roles[name] = role
	}
}

// expiries returns the expiry instant of every entry of a section that has one.
func expiries(doc map[string]any, section string) map[string]*time.Time {
	out := map[string]*time.Time{}
	entries, _ := doc[section].(map[string]any)
	for name, e := range entries {
		fields, _ := e.(map[string]any)
		if t, ok := fields["expires"].(time.Time); ok {
			at := expiryInstant(t)
			out[name] = &at
		}
	}
	return out
}
