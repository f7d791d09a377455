package audit

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends r as JSON, without its MAC, exactly as encoding/json would with
// SetEscapeHTML(false) (a test holds it to that). It exists because sealing is the
// writer's hot path and reflection made it several times slower; verification does
// not depend on it, since it checks the bytes as written.
func appendRecord(b []byte, r *Record) []byte {
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"epoch":`...)
	b = strconv.AppendUint(b, r.Epoch, 10)
	b = appendField(b, "kind", string(r.Kind), false)
	b = appendField(b, "session", r.Session, true)
	b = appendField(b, "user", r.User, true)
	b = appendField(b, "role", r.Role, true)
	b = appendField(b, "purpose", r.Purpose, true)
	if r.BreakGlass {
		b = append(b, `,"break_glass":true`...)
	}
	b = appendField(b, "client", r.Client, true)
	b = appendField(b, "application_name", r.ApplicationName, true)
	b = appendField(b, "database", r.Database, true)
	b = appendField(b, "data_use_agreement", r.DataUseAgreement, true)
	b = appendField(b, "fingerprint", r.Fingerprint, true)
	b = appendField(b, "sql", r.SQL, true)
	b = appendField(b, "statement_kind", r.StatementKind, true)
	if len(r.Access) > 0 {
		b = append(b, `,"access":[`...)
		for i, a := range r.Access {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"relation":`...)
			b = appendString(b, a.Relation)
			b = appendField(b, "column", a.Column, true)
			b = appendField(b, "treatment", a.Treatment, false)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.PolicyVersion != 0 {
		b = append(b, `,"policy_version":`...)
		b = strconv.AppendUint(b, r.PolicyVersion, 10)
	}
	b = appendField(b, "decision", string(r.Decision), true)
	b = appendField(b, "reason", r.Reason, true)
	if r.Rows != nil {
		b = append(b, `,"rows":`...)
		b = strconv.AppendInt(b, *r.Rows, 10)
	}
	if r.DurationMS != nil {
		b = append(b, `,"duration_ms":`...)
		b = appendFloat(b, *r.DurationMS)
	}
	b = appendField(b, "sqlstate", r.SQLState, true)
	b = appendField(b, "previous_purpose", r.PreviousPurpose, true)
	b = appendField(b, "justification", r.Justification, true)
	if r.Until != nil {
		b = append(b, `,"until":"`...)
		b = r.Until.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = appendField(b, "prev", r.Prev, false)
	return append(b, '}')
}

// appendField appends ,"name":value; with omitEmpty, nothing for "".
func appendField(b []byte, name, value string, omitEmpty bool) []byte {
	if omitEmpty && value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does without HTML
// escaping: control characters, quote and backslash escaped, invalid UTF-8 replaced by
// U+FFFD, and U+2028 and U+2029 escaped (JavaScript line terminators).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plain8 reports whether the 8 bytes of s need no escaping: none is below 0x20, a
// quote, a backslash or past ASCII. Most of a record is such text; appendString skips
// it a word at a time. (Each test is exact for words without a high bit, the only
// words it passes.)
func plain8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	_ = s[7]
	v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	control := v - ones*0x20 // a byte below 0x20 borrows into its high bit
	quote := (v ^ ones*'"') - ones
	backslash := (v ^ ones*'\\') - ones
	return (control|quote|backslash|v)&highs == 0
}

// appendFloat formats f as encoding/json does (ES6 number formatting).
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0') // encoding/json would fail; durations are never either
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
