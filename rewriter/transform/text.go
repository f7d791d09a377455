package transform

import (
	"fmt"
	"strconv"
)

// maskChars matches the characters partial masks: everything but white space and
// punctuation, so separators (123-45-…, (555) …) keep the value's shape. Non-ASCII
// letters and digits are masked too.
const maskChars = "[^[:space:][:punct:]]"

// needText refuses a transform on a column that is not text-like.
func needText(s Spec, t colType) error {
	if t.kind != kindText {
		return typeError(s, t, "a text column (text, character varying, character)")
	}
	return nil
}

// last4Expr ("last4") keeps the last four characters and replaces every letter and
// digit before them by 'X', keeping separators: '123-45-6789' → 'XXX-XX-6789'. A value
// of four characters or fewer is masked whole ('XXXX' of the same length), so last4
// never shows a short value entirely. It is partial(0,4).
func last4Expr(s Spec, c Column, t colType, env Env) (string, error) {
	if err := needText(s, t); err != nil {
		return "", err
	}
	return partialSQL(c.Ref, t, 0, 4), nil
}

// partialArgs checks partial(first, last).
func partialArgs(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("takes two arguments (first, last), got %d", len(args))
	}
	if _, err := intArg("first", args[0], 0, 1000); err != nil {
		return err
	}
	_, err := intArg("last", args[1], 0, 1000)
	return err
}

// partialExpr ("partial(first, last)") keeps the first and last characters of the
// value and replaces every letter and digit in between by 'X', keeping separators:
// partial(1,4) turns 'MRN-00123456' into 'MXX-XXXX3456'. A value no longer than
// first+last is masked whole, so the kept parts never add up to the whole value.
func partialExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	if err := needText(s, t); err != nil {
		return "", err
	}
	first, _ := strconv.Atoi(s.Args[0])
	last, _ := strconv.Atoi(s.Args[1])
	return partialSQL(c.Ref, t, first, last), nil
}

func partialSQL(ref string, t colType, first, last int) string {
	v := asText(ref)
	n := fn("length", v)
	middle := fn("regexp_replace",
		fn("substr", v, num(int64(first+1)), op(n, "-", num(int64(first+last)))),
		text(maskChars), text("X"), text("g"))
	masked := op(op(fn("left", v, num(int64(first))), "||", middle), "||", fn("right", v, num(int64(last))))
	return cast(caseWhen([]when{
		{isNull(v), "NULL"},
		{op(n, "<=", num(int64(first+last))), fn("repeat", text("X"), n)},
	}, masked), t.cast)
}

// emailDomainExpr ("email_domain") keeps the domain of an address and hides the
// mailbox: 'alice@example.com' → '*@example.com'. The domain is what follows the last
// '@'. A value without '@' is not an address that could be split safely, so it is
// redacted like redact does.
func emailDomainExpr(s Spec, c Column, t colType, env Env) (string, error) {
	if err := needText(s, t); err != nil {
		return "", err
	}
	v := asText(c.Ref)
	red, _ := redactExpr(Spec{Name: "redact"}, c, t, env)
	return cast(caseWhen([]when{
		{isNull(v), "NULL"},
		{op(fn("strpos", v, text("@")), "=", "0"), red},
	}, op(text("*@"), "||", fn("split_part", v, text("@"), num(-1)))), t.cast), nil
}

// The patterns redact_patterns replaces, in this order (an address may hold digits
// that look like a phone number). Word boundaries (\m, \M) and look-arounds keep
// longer digit runs, such as a 10-digit account number, from matching as an SSN.
var textPatterns = []struct{ re, flags, replacement string }{
	{`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`, "g", "[EMAIL]"},
	{`\m[0-9]{3}([- ]?)[0-9]{2}\1[0-9]{4}\M`, "g", "[SSN]"},
	{`(?<![0-9])(\+?1[-. ]?)?(\([0-9]{3}\) ?|[0-9]{3}[-. ]?)[0-9]{3}[-. ]?[0-9]{4}(?![0-9])`, "g", "[PHONE]"},
}

// redactPatternsExpr ("redact_patterns") keeps free text but replaces what looks like
// an email address by '[EMAIL]', an SSN (123-45-6789, 123 45 6789, 123456789) by
// '[SSN]' and a US phone number ((555) 123-4567, 555-123-4567, 555.123.4567,
// +1 555 123 4567, 5551234567) by '[PHONE]'. It is a best effort for notes that may
// mention identifiers, not de-identification: names and dates in the text stay.
func redactPatternsExpr(s Spec, c Column, t colType, _ Env) (string, error) {
	if err := needText(s, t); err != nil {
		return "", err
	}
	v := asText(c.Ref)
	for _, p := range textPatterns {
		v = fn("regexp_replace", v, text(p.re), text(p.replacement), text(p.flags))
	}
	return cast(v, t.cast), nil
}
