package config

import (
	"testing"
	"time"
)

func TestExpiresAcceptsADateALocalDatetimeAndAnOffsetDatetime(t *testing.T) {
	tests := []struct {
		name, value string
		want        time.Time
	}{
		{"a date lasts through that day in UTC", "2027-06-30", time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"the last day of a year rolls over", "2027-12-31", time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"a local datetime is UTC", "2027-06-30T17:30:00", time.Date(2027, 6, 30, 17, 30, 0, 0, time.UTC)},
		{"a local datetime keeps fractions", "2027-06-30 17:30:00.25", time.Date(2027, 6, 30, 17, 30, 0, 250e6, time.UTC)},
		{"an offset datetime is that instant", "2027-06-30T17:00:00-05:00", time.Date(2027, 6, 30, 22, 0, 0, 0, time.UTC)},
		{"a Z datetime is UTC", "2027-06-30T17:00:00Z", time.Date(2027, 6, 30, 17, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := doc{users: okUsers + "expires = " + tt.value + "\n"}.String()
			c, err := Parse([]byte(src), "pgmask.toml")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.Users["alice"].ExpiresAt()
			if !ok || !got.Equal(tt.want) {
				t.Errorf("expires = %s gives %v (%t), want %v", tt.value, got, ok, tt.want)
			}
		})
	}
}

func TestLocalFormsDoNotDependOnTheMachinesTimeZone(t *testing.T) {
	// BurntSushi/toml gives local values the machine's offset; pgmask must not.
	for _, loc := range []*time.Location{time.FixedZone(tomlLocalDate, 14*3600), time.FixedZone(tomlLocalDate, -12*3600)} {
		got := expiryInstant(time.Date(2027, 6, 30, 0, 0, 0, 0, loc))
		if want := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("local date at offset %s: %v, want %v", loc, got, want)
		}
	}
	got := expiryInstant(time.Date(2027, 6, 30, 9, 0, 0, 0, time.FixedZone(tomlLocalDatetime, 5*3600)))
	if want := time.Date(2027, 6, 30, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("local datetime: %v, want %v", got, want)
	}
}

func TestAUserWithoutExpiresNeverExpires(t *testing.T) {
	c, err := Parse([]byte(doc{}.String()), "pgmask.toml")
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := c.Users["alice"].ExpiresAt(); ok {
		t.Errorf("ExpiresAt() = %v, true; want no expiry", at)
	}
}

func TestARoleExpiresLikeAUser(t *testing.T) {
	src := doc{roles: okRoles + "expires = 2027-06-30\n"}.String()
	c, err := Parse([]byte(src), "pgmask.toml")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c.Roles["support"].ExpiresAt()
	if want := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("roles.support.expires = 2027-06-30 gives %v (%t), want %v", got, ok, want)
	}
	if _, ok := c.Users["alice"].ExpiresAt(); ok {
		t.Error("the role's expiry leaked into its user's")
	}
}
