package discover

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pgmask/pgmask/config"
)

// valuePattern recognizes one kind of identifier from a single value.
type valuePattern struct {
	category string
	// what the reason says the values match; never a value itself.
	what string
	// conf is the confidence when nearly every sampled value matches. Patterns that
	// other data can match by chance (five digits, two capital letters) get less.
	conf  float64
	match func(string) bool
}

var (
	reSSN     = regexp.MustCompile(`^\d{3}-\d{2}-\d{4}$`)
	rePhone   = regexp.MustCompile(`^(\+?1[ .-]?)?(\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}( ?(x|ext\.?) ?\d{1,6})?$`)
	reIntl    = regexp.MustCompile(`^\+\d{1,3}[ .-]?\d{1,4}([ .-]?\d{2,5}){2,4}$`)
	reEmail   = regexp.MustCompile(`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$`)
	reURL     = regexp.MustCompile(`^(?i)((https?|ftp)://|www\.)[^\s/$.?#][^\s]*$`)
	reMAC     = regexp.MustCompile(`^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$`)
	reZIP     = regexp.MustCompile(`^\d{5}(-\d{4})?$`)
	reMRN     = regexp.MustCompile(`^(?i)MRN[ -]?\d{4,}$`)
	reVIN     = regexp.MustCompile(`^[A-HJ-NPR-Z0-9]{17}$`)
	reICD10   = regexp.MustCompile(`^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$`)
	reDate    = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?|Z)?)?|\d{1,2}/\d{1,2}/(\d{2}|\d{4}))$`)
	reStreet  = regexp.MustCompile(`(?i)^\d+[A-Z]?\s+(\S+\s+)*(st|street|ave|avenue|rd|road|ln|lane|dr|drive|blvd|boulevard|way|ct|court|pl|place|ter|terrace|cir|circle|hwy|highway|pkwy|parkway|sq|square|trl|trail)\.?(\s+(apt|suite|unit|#)\s*\S+)?$`)
	rePOBox   = regexp.MustCompile(`(?i)^p\.?\s?o\.?\s+box\s+\d+`)
	reTitled  = regexp.MustCompile(`^(Dr|Mr|Mrs|Ms|Mx|Miss|Prof|NP|PA|RN|MD|DO)\.?\s+\p{Lu}`)
	reCode    = regexp.MustCompile(`^[A-Za-z]{0,6}[-_ ]?\d[0-9A-Za-z-]{3,}$`)
	reUUID    = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	reHasSSN  = regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`)
	reHasTel  = regexp.MustCompile(`\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b`)
	reHasMail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
)

// usStates are the two-letter USPS codes of the states, DC and the territories.
var usStates = set("al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id",
	"il", "in", "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne",
	"nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn",
	"tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "dc", "pr", "vi", "gu", "as", "mp")

// patterns are tried in order on every value; the one most values match wins, earlier
// ones on ties. Specific patterns come first.
var patterns = []valuePattern{
	{config.CategorySSN, "values match NNN-NN-NNNN (SSN)", 0.99, reSSN.MatchString},
	{config.CategoryEmail, "values are email addresses", 0.99, reEmail.MatchString},
	{config.CategoryURL, "values are URLs", 0.97, reURL.MatchString},
	{config.CategoryIPAddress, "values are IP addresses", 0.97, isIP},
	{config.CategoryDeviceID, "values are MAC addresses", 0.95, reMAC.MatchString},
	{config.CategoryPhone, "values are phone numbers", 0.95, isPhone},
	{config.CategoryMRN, "values look like MRN numbers", 0.95, reMRN.MatchString},
	{config.CategoryPhoto, "values are JPEG, PNG or GIF images", 0.9, isImage},
	{config.CategoryStreetAddress, "values are street addresses", 0.9, isStreet},
	{config.CategoryName, "values are titled person names (Dr., Mr., ...)", 0.85, reTitled.MatchString},
	{config.CategoryVehicleID, "values look like VINs", 0.8, isVIN},
	{config.CategoryZIP, "values are 5- or 9-digit ZIP codes", 0.7, reZIP.MatchString},
	{config.CategoryEventDate, "values are dates", 0.8, reDate.MatchString},
	{config.CategoryNone, "values are ICD-10 codes", 0.85, reICD10.MatchString},
	{config.CategoryState, "values are US state codes", 0.7, isStateCode},
}

func isPhone(s string) bool { return rePhone.MatchString(s) || reIntl.MatchString(s) }

func isIP(s string) bool {
	if strings.ContainsRune(s, '/') { // cidr, or inet with a netmask
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isStreet(s string) bool { return reStreet.MatchString(s) || rePOBox.MatchString(s) }

func isStateCode(s string) bool {
	return len(s) == 2 && s == strings.ToUpper(s) && usStates[strings.ToLower(s)]
}

// isVIN: 17 characters without I, O and Q, with both letters and digits.
func isVIN(s string) bool {
	return reVIN.MatchString(s) && strings.ContainsAny(s, "0123456789") && strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// isImage recognizes the magic bytes of JPEG, PNG and GIF files in bytea's hex output.
func isImage(s string) bool {
	s = strings.ToLower(s)
	for _, magic := range []string{`\xffd8ff`, `\x89504e470d0a1a0a`, `\x47494638`} {
		if strings.HasPrefix(s, magic) {
			return true
		}
	}
	return false
}

// looksLikePersonName: one to four words, each starting with a capital letter and made
// of letters, apostrophes, hyphens and dots ("Tamara", "O'Neil", "Dr. L. Sørensen").
// Cities and drugs look the same, so this only confirms what a name rule proposed.
func looksLikePersonName(s string) bool {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 4 {
		return false
	}
	for _, f := range fields {
		first, _ := utf8.DecodeRuneInString(f)
		if !unicode.IsUpper(first) {
			return false
		}
		for _, r := range f {
			if !unicode.IsLetter(r) && r != '\'' && r != '’' && r != '-' && r != '.' {
				return false
			}
		}
	}
	return true
}

// sample is what the values of one column say, reduced to counts: it holds no value.
type sample struct {
	n          int     // non-empty values
	distinct   int     // distinct non-empty values
	avgRunes   float64 // mean length
	prose      int     // values of five words or more
	best       *valuePattern
	bestCount  int
	personLike int // values that look like a person's name
	codeLike   int // values that look like identifying codes (letters and digits)
	uuids      int
	quotes     []string // identifier kinds quoted inside longer values
}

// examine reduces values to a sample. Empty strings do not count: they say nothing.
func examine(values []string) sample {
	var s sample
	seen := make(map[string]struct{}, len(values))
	counts := make([]int, len(patterns))
	var runes int
	var ssn, tel, mail int
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		s.n++
		seen[v] = struct{}{}
		runes += utf8.RuneCountInString(v)
		for i := range patterns {
			if patterns[i].match(v) {
				counts[i]++
			}
		}
		if len(strings.Fields(v)) >= 5 {
			s.prose++
			if reHasSSN.MatchString(v) {
				ssn++
			}
			if reHasTel.MatchString(v) {
				tel++
			}
			if reHasMail.MatchString(v) {
				mail++
			}
		}
		if looksLikePersonName(v) {
			s.personLike++
		}
		if reCode.MatchString(v) && strings.IndexFunc(v, unicode.IsDigit) >= 0 && len(v) <= 24 {
			s.codeLike++
		}
		if reUUID.MatchString(v) {
			s.uuids++
		}
	}
	if s.n == 0 {
		return s
	}
	s.distinct = len(seen)
	s.avgRunes = float64(runes) / float64(s.n)
	for i, c := range counts {
		if c > s.bestCount {
			s.best, s.bestCount = &patterns[i], c
		}
	}
	for _, q := range []struct {
		n    int
		what string
	}{{ssn, "SSN-like numbers"}, {tel, "phone numbers"}, {mail, "email addresses"}} {
		if q.n > 0 {
			s.quotes = append(s.quotes, q.what)
		}
	}
	return s
}

// share is the fraction of the sample's values that n is.
func (s sample) share(n int) float64 {
	if s.n == 0 {
		return 0
	}
	return float64(n) / float64(s.n)
}

// small reports whether the sample is too small to trust a pattern fully.
func (s sample) small() bool { return s.n < 5 }

// valueGuess proposes a category from the sampled values alone; ok is false when they
// match no pattern well enough.
func valueGuess(t sqlType, s sample) (g Guess, ok bool) {
	if s.n == 0 {
		return Guess{}, false
	}
	// Numbers, dates and the other typed values match no pattern but by chance (an id
	// of five digits is not a ZIP code): their type says what they are.
	if !t.kind.textual() && !(t.kind == kindBytes && s.best != nil && s.best.category == config.CategoryPhoto) {
		return Guess{}, false
	}
	if s.best != nil && s.share(s.bestCount) >= 0.8 {
		conf := s.best.conf
		if s.share(s.bestCount) < 0.95 {
			conf -= 0.1
		}
		if s.small() {
			conf -= 0.2
		}
		return Guess{s.best.category, conf, s.best.what}, true
	}
	if t.kind == kindBytes {
		return Guess{}, false
	}
	if s.avgRunes >= 40 && s.share(s.prose) >= 0.5 {
		reason := "values are prose"
		if len(s.quotes) > 0 {
			reason += " quoting " + strings.Join(s.quotes, ", ")
		}
		return Guess{config.CategoryFreeText, 0.9, reason}, true
	}
	if s.share(s.uuids) >= 0.95 {
		return Guess{config.CategoryNone, 0.6, "values are UUIDs: a surrogate key unless shared outside the database"}, true
	}
	if s.n >= 20 && s.share(s.distinct) >= 0.95 && s.share(s.codeLike) >= 0.95 {
		return Guess{config.CategoryOtherID, 0.6, "values are unique codes of letters and digits"}, true
	}
	if s.n >= 30 && s.distinct <= max(10, s.n/20) && s.avgRunes <= 30 {
		return Guess{config.CategoryNone, 0.75, "values are a few distinct codes or labels"}, true
	}
	return Guess{}, false
}
