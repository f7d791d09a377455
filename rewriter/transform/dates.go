package transform

import (
	"fmt"
	"strconv"
)

// needDate refuses a transform on a column that is neither a date nor a timestamp.
func needDate(s Spec, t colType) error {
	if t.kind != kindDate && t.kind != kindTimestamp {
		return typeError(s, t, "a date or timestamp column")
	}
	return nil
}

// truncSQL truncates a date or timestamp column to the start of its year or month,
// keeping the type. A date is truncated as a timestamp without time zone (never
// through timestamptz, which would make the result depend on the session's TimeZone);
// a timestamptz is truncated in the session's TimeZone, as the client would display it.
// ±infinity stays as it is.
func truncSQL(ref string, t colType, field string) string {
	v := ref
	if t.kind == kindDate {
		v = cast(ref, "timestamp without time zone")
	}
	return cast(fn("date_trunc", text(field), v), t.cast)
}

// yearExpr ("year") keeps only the year of a date or timestamp: 1952-02-29 → 1952-01-01
// (a date stays a date, a timestamp becomes midnight of January 1st). This is the Safe
// Harbor rule for dates related to an individual (164.514(b)(2)(i)(C)).
func yearExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	if err := needDate(s, t); err != nil {
		return "", err
	}
	return truncSQL(c.Ref, t, "year"), nil
}

// monthExpr ("month") keeps the year and month of a date or timestamp:
// 2021-07-19 → 2021-07-01. It is not a Safe Harbor transform.
func monthExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	if err := needDate(s, t); err != nil {
		return "", err
	}
	return truncSQL(c.Ref, t, "month"), nil
}

// dateShiftArgs checks date_shift(days).
func dateShiftArgs(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("takes one argument (the maximum shift in days), got %d", len(args))
	}
	_, err := intArg("days", args[0], 1, 36500)
	return err
}

// dateShiftExpr ("date_shift(days)") moves a date or timestamp by a per-subject offset
// in [-days, +days]: every date of one subject moves by the same offset (so intervals
// such as length of stay are kept), different subjects move differently. The offset is
// HMAC-SHA-256(key, subject key as text), its first 4 bytes taken modulo 2·days+1,
// minus days; to keep one subject's dates together across columns and tables, use one
// key for all of them (DeriveSubjectKey). A timestamp keeps its time of day. A row
// without a subject key (NULL) gets NULL. A shift keeps month and day structure, so it
// fits limited data sets and expert determination, not Safe Harbor.
func dateShiftExpr(s Spec, c Column, t colType, env Env) (string, error) {
	if err := needDate(s, t); err != nil {
		return "", err
	}
	if c.Subject == "" {
		return "", fmt.Errorf("transform %s needs the table's subject key (subject_key in pgmask.toml)", s)
	}
	if len(env.Key) == 0 {
		return "", fmt.Errorf("transform %s: %w", s, errNoKey)
	}
	days, _ := strconv.Atoi(s.Args[0])
	h := hmacHex(env.Key, asText(c.Subject))
	u32 := cast(cast(op(text("x"), "||", fn("left", h, "8")), "bit(32)"), "bigint")
	offset := cast(op(fn("mod", u32, num(int64(2*days+1))), "-", num(int64(days))), "integer")
	if t.kind == kindDate {
		return cast(op(c.Ref, "+", offset), t.cast), nil
	}
	return cast(op(c.Ref, "+", fn("make_interval", "0", "0", "0", offset)), t.cast), nil
}

// BirthYearTop90 is the birth-date side of the Safe Harbor age rule
// (164.514(b)(2)(i)(C)): for a birth date column it keeps the year, as year does,
// unless the person is 90 or older on env.Today — then the birth year would reveal an
// age over 89, and the value is NULL. The age is PostgreSQL's
// age(Today, birth date), so birthdays on February 29th count as PostgreSQL counts them.
func BirthYearTop90(c Column, env Env) (string, error) {
	s := Spec{Name: "age_top90"}
	t, err := parseType(c.Type)
	if err != nil {
		return "", fmt.Errorf("transform %s: %w", s, err)
	}
	return birthYearTop90(s, c, t, env)
}

func birthYearTop90(s Spec, c Column, t colType, env Env) (string, error) {
	if err := needDate(s, t); err != nil {
		return "", err
	}
	if env.Today.IsZero() {
		return "", fmt.Errorf("transform %s on a birth date needs today's date (Env.Today)", s)
	}
	today := cast(lit(env.Today.Format("2006-01-02")), "timestamp without time zone")
	age := fn("age", today, cast(c.Ref, "timestamp without time zone"))
	over89 := op(fn("extract", text("year"), age), ">=", "90")
	return cast(caseWhen([]when{{over89, "NULL"}}, truncSQL(c.Ref, t, "year")), t.cast), nil
}
