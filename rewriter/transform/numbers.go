package transform

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// needNumber refuses a transform on a column that is not a number.
func needNumber(s Spec, t colType) error {
	switch t.kind {
	case kindInt, kindNumeric, kindFloat:
		return nil
	}
	return typeError(s, t, "a number column (smallint, integer, bigint, numeric, real, double precision)")
}

// ageTop90Expr ("age_top90") reports every age over 89 as 90, the single "90 or older"
// category of Safe Harbor (164.514(b)(2)(i)(C)): 89 → 89, 90 → 90, 120 → 90,
// 89.5 → 90. On a date or timestamp column (a birth date) it is BirthYearTop90: the
// year, or NULL for a person 90 or older.
func ageTop90Expr(s Spec, c Column, t colType, env Env) (string, error) {
	if t.kind == kindDate || t.kind == kindTimestamp {
		return birthYearTop90(s, c, t, env)
	}
	if err := needNumber(s, t); err != nil {
		return "", typeError(s, t, "an age (number) or birth date column")
	}
	if t.kind == kindNumeric && t.precision > 0 && t.precision-t.scale < 2 {
		return "", typeError(s, t, "a column that can hold 90")
	}
	return cast(caseWhen([]when{{op(c.Ref, ">", "89"), "90"}}, c.Ref), t.cast), nil
}

// bucketArgs checks bucket(width).
func bucketArgs(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("takes one argument (the width), got %d", len(args))
	}
	if _, ok := positiveDecimal(args[0]); !ok {
		return fmt.Errorf("width must be a positive number such as 10 or 0.5, got %q", args[0])
	}
	return nil
}

// positiveDecimal parses a plain positive decimal (digits, optionally a point and
// more digits) and returns it normalized.
func positiveDecimal(s string) (string, bool) {
	if s == "" || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 ||
		strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || len(s) > 40 {
		return "", false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return "", false
	}
	return s, true
}

// bucketExpr ("bucket(width)") replaces a number by the lower bound of its bucket,
// floor(v / width) · width, keeping the type: bucket(10) turns 37 into 30 and −5 into
// −10. On integer columns the width must be an integer. Results beyond the type's
// range (the lowest bucket of a bounded type) are clamped to it, so no row can fail.
func bucketExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	if err := needNumber(s, t); err != nil {
		return "", err
	}
	w, _ := positiveDecimal(s.Args[0])
	switch t.kind {
	case kindInt:
		if strings.Contains(w, ".") {
			return "", fmt.Errorf("transform %s: the width of a bucket on an %s column must be an integer", s, t.name)
		}
		x := op(fn("floor", op(cast(c.Ref, "numeric"), "/", cast(lit(w), "numeric"))), "*", cast(lit(w), "numeric"))
		return cast(clamp(x, t), t.cast), nil
	case kindNumeric:
		x := op(fn("floor", op(c.Ref, "/", cast(lit(w), "numeric"))), "*", cast(lit(w), "numeric"))
		return cast(clamp(x, t), t.cast), nil
	default:
		d := "double precision"
		x := op(fn("floor", op(cast(c.Ref, d), "/", cast(lit(w), d))), "*", cast(lit(w), d))
		return cast(x, t.cast), nil
	}
}

// roundArgs checks round(n).
func roundArgs(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("takes one argument (the number of digits), got %d", len(args))
	}
	_, err := intArg("n", args[0], -100, 100)
	return err
}

// roundExpr ("round(n)") rounds a number, keeping the type:
//   - numeric, real and double precision: to n digits after the decimal point
//     (round(2) turns 12.345 into 12.35; a negative n rounds to tens, hundreds …);
//   - integer types: n is the number of trailing digits rounded away, round(v, −n):
//     round(2) turns 12345 into 12300 and 12351 into 12400.
//
// Results beyond the type's range are clamped to it, so no row can fail.
func roundExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	if err := needNumber(s, t); err != nil {
		return "", err
	}
	n, _ := strconv.Atoi(s.Args[0])
	switch t.kind {
	case kindInt:
		if n < 0 || n > 18 {
			return "", fmt.Errorf("transform %s: on an %s column n is the number of digits to round away and must be from 0 to 18", s, t.name)
		}
		return cast(clamp(fn("round", cast(c.Ref, "numeric"), num(int64(-n))), t), t.cast), nil
	case kindNumeric:
		return cast(clamp(fn("round", c.Ref, num(int64(n))), t), t.cast), nil
	default:
		return cast(fn("round", cast(c.Ref, "numeric"), num(int64(n))), t.cast), nil
	}
}

// clamp bounds a numeric expression to the range of an integer or numeric(p,s) type.
// NULL and NaN pass through (GREATEST/LEAST would turn NULL into a bound, and NaN
// sorts above every number).
func clamp(x string, t colType) string {
	var lo, hi string
	switch {
	case t.kind == kindInt:
		max := new(big.Int).Lsh(big.NewInt(1), uint(t.bits-1))
		lo = "-" + max.String()
		hi = new(big.Int).Sub(max, big.NewInt(1)).String()
	case t.kind == kindNumeric && t.precision > 0:
		hi = strings.Repeat("9", t.precision-t.scale)
		if hi == "" {
			hi = "0"
		}
		if t.scale > 0 {
			hi += "." + strings.Repeat("9", t.scale)
		}
		lo = "-" + hi
	default:
		return x
	}
	hi, lo = cast(lit(hi), "numeric"), cast(lit(lo), "numeric")
	var arms []when
	if t.kind == kindNumeric { // an integer column holds no NaN
		arms = append(arms, when{op(x, "=", cast(lit("NaN"), "numeric")), x})
	}
	return caseWhen(append(arms, when{op(x, ">", hi), hi}, when{op(x, "<", lo), lo}), x)
}
