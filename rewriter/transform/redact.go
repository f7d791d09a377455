package transform

import "strings"

// redacted is the constant that replaces a text value.
const redacted = "[REDACTED]"

// nullExpr ("null") replaces every value by NULL of the column's type, so the column
// stays in the result (clients that expect it keep working) but carries nothing.
func nullExpr(_ Spec, _ Column, t colType, _ Env) (string, error) {
	return cast("NULL", t.cast), nil
}

// redactExpr ("redact") replaces every non-NULL value by a constant of the column's
// type, so a client still sees which rows have a value:
//
//   - text types: '[REDACTED]'; for character varying(n) / character(n) with n < 10,
//     n 'X' characters, so the constant fits without being cut;
//   - numbers: 0;
//   - boolean, date and timestamps: NULL. No constant of these types is both clearly
//     not data and safe for clients: a made-up date (1900-01-01) is taken for a real one
//     by analyses, and ±infinity makes common drivers (psycopg, Go time) fail;
//   - arrays: the empty array; json/jsonb: {}; bytea: the empty string;
//     uuid: 00000000-0000-0000-0000-000000000000.
//
// NULL stays NULL. Other types are refused: use null or exclude.
func redactExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	constant := ""
	switch t.kind {
	case kindText:
		constant = lit(redacted)
		if t.length > 0 && t.length < len(redacted) {
			constant = lit(strings.Repeat("X", t.length))
		}
	case kindInt, kindNumeric, kindFloat:
		constant = "0"
	case kindBool, kindDate, kindTimestamp:
		return cast("NULL", t.cast), nil
	case kindArray:
		constant = lit("{}")
	case kindJSON:
		constant = lit("{}")
	case kindBytea:
		constant = fn("decode", lit(""), lit("hex"))
	case kindUUID:
		constant = lit("00000000-0000-0000-0000-000000000000")
	default:
		return "", typeError(s, t, "a text, number, boolean, date, timestamp, array, json, bytea or uuid column (use null or exclude)")
	}
	return cast(caseWhen([]when{{isNull(c.Ref), "NULL"}}, constant), t.cast), nil
}
