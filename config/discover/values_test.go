package discover

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/config"
)

func TestEachPatternRecognizesItsValuesAndNoOthers(t *testing.T) {
	for _, c := range []struct {
		category string
		yes, no  []string
	}{
		{config.CategorySSN, []string{"123-45-6789", "987-65-4329"}, []string{"123456789", "123-456-7890", "12-345-6789", "123-45-67890"}},
		{config.CategoryPhone, []string{"555-010-4329", "(555) 123-4567", "555.123.4567", "+1 555 123 4567", "1-555-123-4567", "555-123-4567 x12", "+44 20 7946 0958"},
			[]string{"123-45-6789", "5551234567", "555-1234", "12345"}},
		{config.CategoryEmail, []string{"a@b.org", "xanthippe.quillfeather@canary.example", "o'neil+tag@mail.example.co.uk"}, []string{"a@b", "@b.org", "a b@c.org", "mailto:"}},
		{config.CategoryZIP, []string{"02134", "10023", "10023-1234"}, []string{"1234", "123456", "10023-12", "ABCDE"}},
		{config.CategoryURL, []string{"https://example.org/x?y=1", "http://a.b", "www.example.com/page", "ftp://files.example.net"}, []string{"example.org", "https://", "a b"}},
		{config.CategoryIPAddress, []string{"192.168.0.1", "10.0.0.0/8", "::1", "2001:db8::8a2e:370:7334", "fe80::1%eth0"}, []string{"256.1.1.1", "1.2.3", "abc", "2001:db8::g"}},
		{config.CategoryDeviceID, []string{"00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E"}, []string{"00:1a:2b:3c:4d", "hello"}},
		{config.CategoryMRN, []string{"MRN00001234", "mrn-123456"}, []string{"AC0123456789", "MRN"}},
		{config.CategoryStreetAddress, []string{"1876 Mill Rd", "4329 Lighthouse Ln", "12 Main Street Apt 4", "PO Box 12"}, []string{"Mill Rd", "New York", "Dr. A. Okonkwo"}},
		{config.CategoryName, []string{"Dr. A. Okonkwo", "NP M. Delacroix", "Mrs Smith"}, []string{"Dr", "drive", "1876 Mill Dr"}},
		{config.CategoryVehicleID, []string{"1HGCM82633A004352"}, []string{"1HGCM82633A00435", "ABCDEFGHJKLMNPRST", "1HGCM82633A00435I"}},
		{config.CategoryEventDate, []string{"2024-02-29", "2024-02-29 13:45:00+00", "2/29/2024"}, []string{"2024", "29 Feb"}},
		{config.CategoryNone, []string{"E11.9", "I10", "J45.909"}, []string{"E1", "10", "NY"}},
		{config.CategoryState, []string{"NY", "DC", "PR"}, []string{"ny", "XX", "F"}},
		{config.CategoryPhoto, []string{`\xffd8ffe000104a464946`, `\x89504e470d0a1a0a0000`}, []string{`\x00010203`, "ffd8ff"}},
	} {
		var p *valuePattern
		for i := range patterns {
			if patterns[i].category == c.category {
				p = &patterns[i]
			}
		}
		if p == nil {
			t.Fatalf("no pattern for %s", c.category)
		}
		for _, v := range c.yes {
			if !p.match(v) {
				t.Errorf("%s: %q does not match", c.category, v)
			}
		}
		for _, v := range c.no {
			if p.match(v) {
				t.Errorf("%s: %q matches", c.category, v)
			}
		}
	}
}

// repeat makes n values from a format with one %d verb.
func repeat(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

func TestValuesProposeACategoryWhateverTheName(t *testing.T) {
	prose := repeat(20, "Seen for follow-up of essential hypertension. Symptoms improved since visit %d. Callback number 555-123-4567.")
	for _, c := range []struct {
		what, typ string
		values    []string
		want      string
	}{
		{"SSNs", "text", repeat(50, "123-45-%04d"), config.CategorySSN},
		{"phone numbers", "text", repeat(50, "555-201-%04d"), config.CategoryPhone},
		{"emails", "text", repeat(50, "person%d@example.org"), config.CategoryEmail},
		{"5-digit ZIPs", "text", repeat(50, "021%02d"), config.CategoryZIP},
		{"9-digit ZIPs", "text", repeat(50, "02134-%04d"), config.CategoryZIP},
		{"URLs", "text", repeat(50, "https://portal.example.org/patients/%d"), config.CategoryURL},
		{"IPv4 addresses", "text", repeat(50, "10.0.0.%d"), config.CategoryIPAddress},
		{"IPv6 addresses", "text", repeat(50, "2001:db8::%x"), config.CategoryIPAddress},
		{"IPs in an inet column", "inet", repeat(50, "10.1.2.%d/32"), config.CategoryIPAddress},
		{"long free text", "text", prose, config.CategoryFreeText},
		{"dates in text", "text", repeat(28, "1970-01-%02d"), config.CategoryEventDate},
		{"unique codes", "text", repeat(50, "XK%07d"), config.CategoryOtherID},
		{"a few labels", "text", strings.Split(strings.Repeat("low,medium,high,", 20), ","), config.CategoryNone},
		{"ICD-10 codes in an array", "text[]", repeat(40, `{E11.9,"I10",J%02d.1}`), config.CategoryNone},
		{"JPEG images", "bytea", repeat(10, `\xffd8ffe0%08d`), config.CategoryPhoto},
		{"email addresses in an array", "text[]", repeat(30, `{a%d@example.org,NULL}`), config.CategoryEmail},
	} {
		g := Classify(Column{Name: "c", Type: c.typ, Values: c.values})
		if g.Category != c.want {
			t.Errorf("%s: %s (%.2f: %s), want %s", c.what, g.Category, g.Confidence, g.Reason, c.want)
		}
	}
}

func TestFreeTextReasonsNameTheIdentifiersItQuotes(t *testing.T) {
	values := repeat(20, "Patient called about medication refill number %d. Callback number 555-201-0000, SSN 123-45-6789.")
	g := Classify(Column{Name: "body", Type: "text", Values: values})
	if g.Category != config.CategoryFreeText || !strings.Contains(g.Reason, "phone numbers") || !strings.Contains(g.Reason, "SSN-like") {
		t.Errorf("got %s (%.2f: %s)", g.Category, g.Confidence, g.Reason)
	}
}

func TestArrayLiteralsAreSplitIntoElements(t *testing.T) {
	got := arrayElements([]string{`{E11.9,I10}`, `{"a b","c,d","e\"f",NULL,"NULL"}`, `{{1,2},{3,4}}`, `[0:1]={x,y}`, `{}`})
	want := []string{"E11.9", "I10", "a b", "c,d", `e"f`, "NULL", "1", "2", "3", "4", "x", "y"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}
