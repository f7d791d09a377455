package scram

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:generate python3 gen_saslprep_tables.py

// saslprep prepares a password with SASLprep (RFC 4013) exactly as
// PostgreSQL's pg_saslprep does (src/common/saslprep.c), because a verifier
// is only useful if it matches what libpq computes on the client side:
//
//   - a pure ASCII password is used as is, control characters included;
//   - non-ASCII spaces become SPACE, "commonly mapped to nothing" characters
//     are dropped, the result is NFKC-normalized;
//   - an empty result, prohibited or unassigned (Unicode 3.2) code points, or
//     a string that breaks the bidirectional rules of RFC 3454 §6 make the
//     preparation fail.
//
// ok is false when the password is not valid UTF-8 or the preparation
// fails; PostgreSQL then uses the raw bytes, and so must the caller.
func saslprep(password string) (prepared string, ok bool) {
	if isASCII(password) {
		return password, true
	}
	if !utf8.ValidString(password) {
		return "", false
	}

	// RFC 4013 §2.1: mapping.
	var mapped strings.Builder
	for _, r := range password {
		switch {
		case unicode.Is(nonASCIISpace, r):
			mapped.WriteByte(' ')
		case unicode.Is(mappedToNothing, r):
		default:
			mapped.WriteRune(r)
		}
	}
	if mapped.Len() == 0 {
		return "", false // PostgreSQL refuses an empty prepared password.
	}

	// RFC 4013 §2.2: normalization.
	prepared = norm.NFKC.String(mapped.String())

	// RFC 4013 §2.3 and §2.5: prohibited output and unassigned code points.
	hasRandAL, hasL := false, false
	for _, r := range prepared {
		if unicode.Is(prohibited, r) || unicode.Is(unassigned, r) {
			return "", false
		}
		hasRandAL = hasRandAL || unicode.Is(randALCat, r)
		hasL = hasL || unicode.Is(lCat, r)
	}

	// RFC 4013 §2.4 and RFC 3454 §6: a string with right-to-left characters
	// must not contain left-to-right ones, and must begin and end with a
	// right-to-left character.
	if hasRandAL {
		first, _ := utf8.DecodeRuneInString(prepared)
		last, _ := utf8.DecodeLastRuneInString(prepared)
		if hasL || !unicode.Is(randALCat, first) || !unicode.Is(randALCat, last) {
			return "", false
		}
	}
	return prepared, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
