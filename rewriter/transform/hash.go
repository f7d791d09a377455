package transform

import (
	"fmt"
	"strings"
)

// hashExpr ("hash") replaces the value by a keyed HMAC-SHA-256 of it, so equal values
// stay equal (joins and counts work) while the value cannot be recovered or confirmed
// by hashing a guess: the key is derived per role and column (DeriveKey) and held by
// pgmask, never a plain digest. The message is the value's text form in UTF-8 (for
// character(n), without padding); the types allowed are those whose text form does
// not depend on session settings (DateStyle, TimeZone, extra_float_digits), so one
// value always hashes alike. The result keeps the column's type:
//
//   - text types: the lowercase hex digest (64 characters), cut to n for
//     character varying(n) / character(n);
//   - bigint: the first 8 bytes of the digest as a signed integer; integer: the first
//     4 bytes; smallint: the first 2 bytes, moved into the smallint range;
//   - numeric: the bigint above, reduced modulo 10^(p-s) to fit numeric(p,s);
//   - uuid: the first 16 bytes.
//
// NULL stays NULL. Under Safe Harbor, a hash of an identifier is derived from the
// individual and is not an allowed re-identification code (164.514(c)).
func hashExpr(s Spec, c Column, t colType, env Env) (string, error) {
	if len(env.Key) == 0 {
		return "", fmt.Errorf("transform %s: %w", s, errNoKey)
	}
	var msg string
	switch t.kind {
	case kindText, kindInt, kindNumeric, kindUUID:
		msg = asText(c.Ref)
	default:
		return "", typeError(s, t, "a text, integer, numeric or uuid column")
	}
	h := hmacHex(env.Key, msg)
	switch t.kind {
	case kindText:
		if t.length > 0 && t.length < 64 {
			h = fn("left", h, num(int64(t.length)))
		}
		return cast(h, t.cast), nil
	case kindUUID:
		return cast(fn("left", h, "32"), t.cast), nil
	case kindInt:
		return cast(hexToInt(h, t.bits), t.cast), nil
	case kindNumeric:
		n := hexToInt(h, 64)
		if t.precision > 0 {
			modulus := "1" + strings.Repeat("0", t.precision-t.scale)
			n = fn("mod", cast(n, "numeric"), cast(lit(modulus), "numeric"))
		}
		return cast(n, t.cast), nil
	}
	return "", typeError(s, t, "a text, integer, numeric or uuid column")
}

// hexToInt reads the first bits/4 hex digits of a hex text expression as a signed
// integer of that width (16, 32 or 64).
func hexToInt(hexExpr string, bits int) string {
	digits := num(int64(bits / 4))
	b := op(text("x"), "||", fn("left", hexExpr, digits))
	switch bits {
	case 64:
		return cast(cast(b, "bit(64)"), "bigint")
	case 32:
		return cast(cast(b, "bit(32)"), "integer")
	default:
		// bit(16)::integer is 0…65535; shift it into −32768…32767.
		return cast(op(cast(cast(b, "bit(16)"), "integer"), "-", "32768"), "smallint")
	}
}
