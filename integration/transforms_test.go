package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgmask/pgmask/rewriter/transform"
)

// These tests run every transform's generated SQL on the shared PostgreSQL and check
// the exact values and the exact result types (with type modifiers) it produces.

var (
	transformMaster = []byte("pgmask integration test master key")
	transformKey    = transform.DeriveKey(transformMaster, "researcher", "clinic.patients", "mrn")
	transformToday  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// transformCase is one transform applied to one value of one type.
type transformCase struct {
	spec string
	typ  string
	in   *string // the value as PostgreSQL text input; nil is NULL
	want *string // the result as PostgreSQL text output; nil is NULL
	env  *transform.Env
}

// tv is a transform test value (PostgreSQL text input or output).
func tv(s string) *string { return &s }

// connectTransforms opens a connection with a fixed TimeZone and DateStyle, so that
// timestamptz results print the same on every machine.
func connectTransforms(t *testing.T) *pgx.Conn {
	t.Helper()
	conn := connectDirect(t)
	if _, err := conn.Exec(context.Background(), "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'"); err != nil {
		t.Fatal(err)
	}
	return conn
}

func defaultTransformEnv() transform.Env {
	return transform.Env{Key: transformKey, Today: transformToday}
}

// runTransform stores in (and subject) in a temporary table of the column's type,
// materializes the transform's expression over it with CREATE TABLE AS, and returns
// the result as text and the result column's type as format_type prints it.
func runTransform(t *testing.T, conn *pgx.Conn, spec, typ string, in, subject *string, env transform.Env) (*string, string) {
	t.Helper()
	ctx := context.Background()
	s, err := transform.Parse(spec)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	expr, err := s.Expr(transform.Column{Ref: `t."v"`, Type: typ, Subject: `t."subject"`}, env)
	if err != nil {
		t.Fatalf("%s on %s: %v", spec, typ, err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"CREATE TEMP TABLE transform_input (subject integer, v " + typ + ") ON COMMIT DROP", nil},
		{"INSERT INTO transform_input VALUES ($1::text::integer, $2::text::" + typ + ")", []any{subject, in}},
		{"CREATE TEMP TABLE transform_output ON COMMIT DROP AS SELECT " + expr + " AS r FROM ONLY transform_input AS t", nil},
	} {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s on %s: %v\nSQL: %s", spec, typ, err, q.sql)
		}
	}
	var got *string
	var gotType string
	err = tx.QueryRow(ctx, `SELECT r::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
		FROM transform_output, pg_catalog.pg_attribute a
		WHERE a.attrelid = 'transform_output'::regclass AND a.attname = 'r'`).Scan(&got, &gotType)
	if err != nil {
		t.Fatalf("%s on %s: %v", spec, typ, err)
	}
	return got, gotType
}

// showValue prints a test value, NULL for nil.
func showValue(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

// transformHMAC is what the hash transform must compute, done with Go's crypto/hmac.
func transformHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func transformHashCases() []transformCase {
	sum := transformHMAC(transformKey, "MRN-0042")
	h := hex.EncodeToString(sum)
	empty := hex.EncodeToString(transformHMAC(transformKey, ""))
	num := transformHMAC(transformKey, "42")
	dec := transformHMAC(transformKey, "42.00") // the text form of 42 as numeric(12,2)
	u := hex.EncodeToString(transformHMAC(transformKey, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))[:32]
	return []transformCase{
		{spec: "hash", typ: "text", in: tv("MRN-0042"), want: tv(h)},
		{spec: "hash", typ: "text", in: tv(""), want: tv(empty)},
		{spec: "hash", typ: "text", in: nil, want: nil},
		{spec: "hash", typ: "character varying(11)", in: tv("MRN-0042"), want: tv(h[:11])},
		{spec: "hash", typ: "character(12)", in: tv("MRN-0042"), want: tv(h[:12])},
		{spec: "hash", typ: "character varying", in: tv("MRN-0042"), want: tv(h)},
		{spec: "hash", typ: "bigint", in: tv("42"), want: tv(strconv.FormatInt(int64(binary.BigEndian.Uint64(num[:8])), 10))},
		{spec: "hash", typ: "integer", in: tv("42"), want: tv(strconv.FormatInt(int64(int32(binary.BigEndian.Uint32(num[:4]))), 10))},
		{spec: "hash", typ: "smallint", in: tv("42"), want: tv(strconv.Itoa(int(binary.BigEndian.Uint16(num[:2])) - 32768))},
		{spec: "hash", typ: "integer", in: nil, want: nil},
		{spec: "hash", typ: "numeric(12,2)", in: tv("42"), want: tv(fmt.Sprintf("%d.00", int64(binary.BigEndian.Uint64(dec[:8]))%10_000_000_000))},
		{spec: "hash", typ: "uuid", in: tv("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
			want: tv(u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:])},
	}
}

func TestTransformsGiveTheDocumentedValuesAndKeepTheColumnType(t *testing.T) {
	conn := connectTransforms(t)
	zip3Custom := transform.Env{Zip3Restricted: []string{"123"}}
	zip3None := transform.Env{Zip3Restricted: []string{}}
	cases := []transformCase{
		// keep, null
		{spec: "keep", typ: "character varying(11)", in: tv("123-45-6789"), want: tv("123-45-6789")},
		{spec: "keep", typ: "text", in: nil, want: nil},
		{spec: "null", typ: "character varying(11)", in: tv("123-45-6789"), want: nil},
		{spec: "null", typ: "date", in: tv("1952-02-29"), want: nil},
		{spec: "null", typ: "numeric(12,2)", in: tv("1.50"), want: nil},
		{spec: "null", typ: "interval", in: tv("1 day"), want: nil},
		// redact
		{spec: "redact", typ: "text", in: tv("Alice"), want: tv("[REDACTED]")},
		{spec: "redact", typ: "text", in: tv(""), want: tv("[REDACTED]")},
		{spec: "redact", typ: "text", in: nil, want: nil},
		{spec: "redact", typ: "character varying(5)", in: tv("Alice"), want: tv("XXXXX")},
		{spec: "redact", typ: "character varying(10)", in: tv("Alice"), want: tv("[REDACTED]")},
		{spec: "redact", typ: "character(2)", in: tv("MA"), want: tv("XX")},
		{spec: "redact", typ: "integer", in: tv("42"), want: tv("0")},
		{spec: "redact", typ: "bigint", in: nil, want: nil},
		{spec: "redact", typ: "numeric(12,2)", in: tv("99.95"), want: tv("0.00")},
		{spec: "redact", typ: "double precision", in: tv("1.5"), want: tv("0")},
		{spec: "redact", typ: "date", in: tv("1952-02-29"), want: nil},
		{spec: "redact", typ: "timestamp with time zone", in: tv("2021-07-19 10:00:00+00"), want: nil},
		{spec: "redact", typ: "boolean", in: tv("true"), want: nil},
		{spec: "redact", typ: "uuid", in: tv("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), want: tv("00000000-0000-0000-0000-000000000000")},
		{spec: "redact", typ: "jsonb", in: tv(`{"a": 1}`), want: tv("{}")},
		{spec: "redact", typ: "json", in: tv(`[1]`), want: tv("{}")},
		{spec: "redact", typ: "bytea", in: tv(`\x0102`), want: tv(`\x`)},
		{spec: "redact", typ: "text[]", in: tv("{a,b}"), want: tv("{}")},
		{spec: "redact", typ: "text[]", in: nil, want: nil},
		// last4
		{spec: "last4", typ: "character varying(11)", in: tv("123-45-6789"), want: tv("XXX-XX-6789")},
		{spec: "last4", typ: "text", in: tv("123456789"), want: tv("XXXXX6789")},
		{spec: "last4", typ: "text", in: nil, want: nil},
		{spec: "last4", typ: "text", in: tv(""), want: tv("")},
		{spec: "last4", typ: "text", in: tv("12"), want: tv("XX")},
		{spec: "last4", typ: "text", in: tv("1234"), want: tv("XXXX")},
		{spec: "last4", typ: "text", in: tv("12345"), want: tv("X2345")},
		{spec: "last4", typ: "text", in: tv("é€12345"), want: tv("XXX2345")},
		{spec: "last4", typ: "character(5)", in: tv("12"), want: tv("XX")},
		{spec: "last4", typ: "character(11)", in: tv("123-45-6789"), want: tv("XXX-XX-6789")},
		// partial
		{spec: "partial(1,4)", typ: "text", in: tv("MRN-00123456"), want: tv("MXX-XXXX3456")},
		{spec: "partial(1,4)", typ: "text", in: tv("12345"), want: tv("XXXXX")},
		{spec: "partial(1,4)", typ: "text", in: tv("123456"), want: tv("1X3456")},
		{spec: "partial(1,4)", typ: "character varying(12)", in: tv(""), want: tv("")},
		{spec: "partial(1,4)", typ: "text", in: nil, want: nil},
		{spec: "partial(2,0)", typ: "text", in: tv("(555) 123-4567"), want: tv("(5XX) XXX-XXXX")},
		{spec: "partial(0,0)", typ: "text", in: tv("ab-1"), want: tv("XX-X")},
		// email_domain
		{spec: "email_domain", typ: "text", in: tv("alice@example.com"), want: tv("*@example.com")},
		{spec: "email_domain", typ: "text", in: tv("a@b@mail.example.org"), want: tv("*@mail.example.org")},
		{spec: "email_domain", typ: "text", in: tv("no address"), want: tv("[REDACTED]")},
		{spec: "email_domain", typ: "text", in: tv(""), want: tv("[REDACTED]")},
		{spec: "email_domain", typ: "text", in: nil, want: nil},
		{spec: "email_domain", typ: "character varying(40)", in: tv("bob@clinic.test"), want: tv("*@clinic.test")},
		{spec: "email_domain", typ: "character varying(6)", in: tv("nobody"), want: tv("XXXXXX")},
		// year, month
		{spec: "year", typ: "date", in: tv("1952-02-29"), want: tv("1952-01-01")},
		{spec: "year", typ: "date", in: nil, want: nil},
		{spec: "year", typ: "date", in: tv("infinity"), want: tv("infinity")},
		{spec: "year", typ: "date", in: tv("0044-03-15 BC"), want: tv("0044-01-01 BC")},
		{spec: "year", typ: "timestamp with time zone", in: tv("2021-07-19 10:00:00+00"), want: tv("2021-01-01 00:00:00+00")},
		{spec: "year", typ: "timestamp(3) without time zone", in: tv("2021-07-19 10:11:12.345"), want: tv("2021-01-01 00:00:00")},
		{spec: "month", typ: "date", in: tv("2021-07-19"), want: tv("2021-07-01")},
		{spec: "month", typ: "date", in: tv("1952-02-29"), want: tv("1952-02-01")},
		{spec: "month", typ: "timestamp without time zone", in: tv("2021-07-19 10:11:12"), want: tv("2021-07-01 00:00:00")},
		{spec: "month", typ: "timestamp without time zone", in: nil, want: nil},
		// zip3
		{spec: "zip3", typ: "text", in: tv("12345"), want: tv("123")},
		{spec: "zip3", typ: "text", in: tv("03601"), want: tv("000")},
		{spec: "zip3", typ: "text", in: tv("89012"), want: tv("000")},
		{spec: "zip3", typ: "text", in: tv("12345-6789"), want: tv("123")},
		{spec: "zip3", typ: "text", in: tv(" 12345 "), want: tv("123")},
		{spec: "zip3", typ: "text", in: tv("12"), want: nil},
		{spec: "zip3", typ: "text", in: tv("ABCDE"), want: nil},
		{spec: "zip3", typ: "text", in: tv(""), want: nil},
		{spec: "zip3", typ: "text", in: nil, want: nil},
		{spec: "zip3", typ: "character(5)", in: tv("05901"), want: tv("000")},
		{spec: "zip3", typ: "character varying(10)", in: tv("02139"), want: tv("021")},
		{spec: "zip3", typ: "text", in: tv("12345"), want: tv("000"), env: &zip3Custom},
		{spec: "zip3", typ: "text", in: tv("03601"), want: tv("036"), env: &zip3None},
		// age_top90
		{spec: "age_top90", typ: "integer", in: tv("89"), want: tv("89")},
		{spec: "age_top90", typ: "integer", in: tv("90"), want: tv("90")},
		{spec: "age_top90", typ: "integer", in: tv("120"), want: tv("90")},
		{spec: "age_top90", typ: "integer", in: tv("0"), want: tv("0")},
		{spec: "age_top90", typ: "integer", in: nil, want: nil},
		{spec: "age_top90", typ: "smallint", in: tv("95"), want: tv("90")},
		{spec: "age_top90", typ: "numeric(5,1)", in: tv("89.5"), want: tv("90.0")},
		{spec: "age_top90", typ: "numeric", in: tv("30.25"), want: tv("30.25")},
		{spec: "age_top90", typ: "double precision", in: tv("89.9"), want: tv("90")},
		{spec: "age_top90", typ: "date", in: tv("1936-03-01"), want: nil},
		{spec: "age_top90", typ: "date", in: tv("1936-03-02"), want: tv("1936-01-01")},
		{spec: "age_top90", typ: "date", in: tv("1900-01-01"), want: nil},
		{spec: "age_top90", typ: "date", in: tv("2000-06-15"), want: tv("2000-01-01")},
		{spec: "age_top90", typ: "date", in: nil, want: nil},
		{spec: "age_top90", typ: "timestamp without time zone", in: tv("1936-03-02 08:00:00"), want: tv("1936-01-01 00:00:00")},
		// bucket
		{spec: "bucket(10)", typ: "integer", in: tv("37"), want: tv("30")},
		{spec: "bucket(10)", typ: "integer", in: tv("-5"), want: tv("-10")},
		{spec: "bucket(10)", typ: "integer", in: tv("0"), want: tv("0")},
		{spec: "bucket(10)", typ: "integer", in: nil, want: nil},
		{spec: "bucket(10)", typ: "integer", in: tv("2147483647"), want: tv("2147483640")},
		{spec: "bucket(10)", typ: "integer", in: tv("-2147483648"), want: tv("-2147483648")},
		{spec: "bucket(1000)", typ: "smallint", in: tv("-32768"), want: tv("-32768")},
		{spec: "bucket(5)", typ: "bigint", in: tv("12"), want: tv("10")},
		{spec: "bucket(10)", typ: "numeric(12,2)", in: tv("37.50"), want: tv("30.00")},
		{spec: "bucket(0.5)", typ: "numeric", in: tv("1.74"), want: tv("1.5")},
		{spec: "bucket(100)", typ: "numeric(3,0)", in: tv("-999"), want: tv("-999")},
		{spec: "bucket(10)", typ: "double precision", in: tv("37.5"), want: tv("30")},
		{spec: "bucket(10)", typ: "real", in: tv("-0.5"), want: tv("-10")},
		{spec: "bucket(10)", typ: "double precision", in: tv("NaN"), want: tv("NaN")},
		{spec: "bucket(10)", typ: "numeric(5,2)", in: tv("NaN"), want: tv("NaN")},
		{spec: "bucket(10)", typ: "numeric(5,2)", in: nil, want: nil},
		// round
		{spec: "round(2)", typ: "numeric", in: tv("12.345"), want: tv("12.35")},
		{spec: "round(0)", typ: "numeric(12,2)", in: tv("12.50"), want: tv("13.00")},
		{spec: "round(-1)", typ: "numeric(12,2)", in: tv("1234.50"), want: tv("1230.00")},
		{spec: "round(0)", typ: "numeric(4,2)", in: tv("99.99"), want: tv("99.99")},
		{spec: "round(2)", typ: "numeric", in: nil, want: nil},
		{spec: "round(2)", typ: "integer", in: tv("12345"), want: tv("12300")},
		{spec: "round(2)", typ: "integer", in: tv("12351"), want: tv("12400")},
		{spec: "round(1)", typ: "integer", in: tv("2147483647"), want: tv("2147483647")},
		{spec: "round(0)", typ: "bigint", in: tv("7"), want: tv("7")},
		{spec: "round(1)", typ: "integer", in: nil, want: nil},
		{spec: "round(0)", typ: "numeric(4,2)", in: tv("NaN"), want: tv("NaN")},
		{spec: "round(1)", typ: "double precision", in: tv("3.14159"), want: tv("3.1")},
		{spec: "round(1)", typ: "real", in: tv("2.25"), want: tv("2.3")},
		{spec: "round(1)", typ: "double precision", in: tv("Infinity"), want: tv("Infinity")},
		// redact_patterns
		{spec: "redact_patterns", typ: "text",
			in:   tv("SSN 123-45-6789, call (555) 123-4567 or mail a.b+c@mail.example.org today"),
			want: tv("SSN [SSN], call [PHONE] or mail [EMAIL] today")},
		{spec: "redact_patterns", typ: "text", in: tv("555-123-4567 / 555.123.4567 / +1 555 123 4567 / 5551234567 / 1-555-123-4567"),
			want: tv("[PHONE] / [PHONE] / [PHONE] / [PHONE] / [PHONE]")},
		{spec: "redact_patterns", typ: "text", in: tv("ssn 123456789 or 123 45 6789"), want: tv("ssn [SSN] or [SSN]")},
		{spec: "redact_patterns", typ: "text", in: tv("account 12345678901234, code 123-456"), want: tv("account 12345678901234, code 123-456")},
		{spec: "redact_patterns", typ: "text", in: tv("it's fine \\ really"), want: tv("it's fine \\ really")},
		{spec: "redact_patterns", typ: "text", in: tv(""), want: tv("")},
		{spec: "redact_patterns", typ: "text", in: nil, want: nil},
		{spec: "redact_patterns", typ: "character varying(200)", in: tv("Pt called from 555-123-4567."), want: tv("Pt called from [PHONE].")},
		// expr
		{spec: `expr("left(value, 1) || '.'")`, typ: "text", in: tv("Alice"), want: tv("A.")},
		{spec: `expr("left(value, 1) || '.'")`, typ: "character varying(20)", in: nil, want: nil},
		{spec: `expr("coalesce(upper(value), 'n/a')")`, typ: "text", in: nil, want: tv("n/a")},
		{spec: `expr("CASE WHEN value > 89 THEN 90 ELSE value END")`, typ: "integer", in: tv("101"), want: tv("90")},
		{spec: `expr("CASE value WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' ELSE 'other' END")`, typ: "text", in: tv("M"), want: tv("male")},
		{spec: `expr("value IN ('a', 'b') OR value BETWEEN 'x' AND 'z'")`, typ: "text", in: tv("y"), want: tv("true")},
		{spec: `expr("value NOT IN ('a', 'b') AND value NOT BETWEEN 'x' AND 'z'")`, typ: "text", in: tv("a"), want: tv("false")},
		{spec: `expr("date_trunc('quarter', value)")`, typ: "date", in: tv("2021-08-19"), want: tv("2021-07-01")},
		{spec: `expr("make_date(extract(year from value)::int / 10 * 10, 1, 1)")`, typ: "date", in: tv("1952-02-29"), want: tv("1950-01-01")},
		{spec: `expr("nullif(value, '')")`, typ: "text", in: tv(""), want: nil},
		{spec: `expr("'it''s ' || value")`, typ: "text", in: tv(`a\b`), want: tv(`it's a\b`)},
		{spec: `expr("(regexp_match(value, '([0-9]+)$'))[1]")`, typ: "text", in: tv("MRN-0042"), want: tv("0042")},
	}
	cases = append(cases, transformHashCases()...)
	for _, c := range cases {
		name := c.spec + " on " + c.typ + " of " + showValue(c.in)
		t.Run(name, func(t *testing.T) {
			env := defaultTransformEnv()
			if c.env != nil {
				env = *c.env
			}
			got, gotType := runTransform(t, conn, c.spec, c.typ, c.in, tv("7"), env)
			if showValue(got) != showValue(c.want) {
				t.Errorf("%s(%s) = %s, want %s", c.spec, showValue(c.in), showValue(got), showValue(c.want))
			}
			if gotType != c.typ {
				t.Errorf("%s on %s: result type %s, want the column type", c.spec, c.typ, gotType)
			}
		})
	}
}

// transformShift is the offset date_shift(days) must apply for a subject, computed in Go.
func transformShift(key []byte, subject string, days int) int {
	sum := transformHMAC(key, subject)
	return int(binary.BigEndian.Uint32(sum[:4])%uint32(2*days+1)) - days
}

func TestDateShiftMovesEverySubjectConsistentlyWithinTheBound(t *testing.T) {
	conn := connectTransforms(t)
	ctx := context.Background()
	key := transform.DeriveSubjectKey(transformMaster, "researcher")
	env := transform.Env{Key: key}
	spec, err := transform.Parse("date_shift(30)")
	if err != nil {
		t.Fatal(err)
	}
	admitted, err := spec.Expr(transform.Column{Ref: `e."admitted"`, Type: "date", Subject: `e."patient_id"`}, env)
	if err != nil {
		t.Fatal(err)
	}
	discharged, err := spec.Expr(transform.Column{Ref: `e."discharged"`, Type: "timestamp with time zone", Subject: `e."patient_id"`}, env)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE shift_input ON COMMIT DROP AS
		SELECT p AS patient_id, DATE '2020-01-15' + (p % 7) AS admitted,
		       (DATE '2020-01-15' + (p % 7) + 3)::timestamptz + interval '10 hours 30 minutes' AS discharged
		FROM generate_series(1, 500) AS p, generate_series(1, 2) AS visit`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT e.patient_id, `+admitted+` - e.admitted, (`+discharged+`)::date - (`+admitted+`),
		to_char(`+discharged+`, 'HH24:MI') FROM ONLY shift_input AS e`)
	if err != nil {
		t.Fatal(err)
	}
	offsets := map[int]int{}
	seen := map[int]bool{}
	for rows.Next() {
		var patient, offset, stay int
		var clock string
		if err := rows.Scan(&patient, &offset, &stay, &clock); err != nil {
			t.Fatal(err)
		}
		if offset < -30 || offset > 30 {
			t.Errorf("patient %d shifted by %d days, outside ±30", patient, offset)
		}
		if prev, ok := offsets[patient]; ok && prev != offset {
			t.Errorf("patient %d shifted by %d and %d days: not consistent", patient, prev, offset)
		}
		if want := transformShift(key, strconv.Itoa(patient), 30); offset != want {
			t.Errorf("patient %d shifted by %d days, want %d (HMAC computed in Go)", patient, offset, want)
		}
		if stay != 3 {
			t.Errorf("patient %d: length of stay became %d days, want 3", patient, stay)
		}
		if clock != "10:30" {
			t.Errorf("patient %d: discharge time of day became %s, want 10:30", patient, clock)
		}
		offsets[patient] = offset
		seen[offset] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(offsets) != 500 {
		t.Fatalf("got %d patients, want 500", len(offsets))
	}
	if len(seen) < 50 {
		t.Errorf("only %d distinct offsets over 500 patients; want nearly all 61", len(seen))
	}
}

func TestDateShiftGivesNullForARowWithoutSubject(t *testing.T) {
	conn := connectTransforms(t)
	env := transform.Env{Key: transformKey}
	got, typ := runTransform(t, conn, "date_shift(10)", "date", tv("2020-01-15"), nil, env)
	if got != nil || typ != "date" {
		t.Errorf("date_shift without subject = %s of type %s, want NULL of type date", showValue(got), typ)
	}
	got, _ = runTransform(t, conn, "date_shift(10)", "date", tv("2020-01-15"), tv("42"), env)
	want := time.Date(2020, 1, 15, 0, 0, 0, 0, time.UTC).AddDate(0, 0, transformShift(transformKey, "42", 10)).Format("2006-01-02")
	if showValue(got) != showValue(&want) {
		t.Errorf("date_shift(10) for subject 42 = %s, want %s", showValue(got), want)
	}
}

// A role's session could try to redirect the functions and operators a transform
// uses by putting its own schema first on search_path. Every name in the generated
// SQL is pg_catalog-qualified, so the masks must not change.
func TestTransformsIgnoreLookalikeFunctionsAndOperatorsOnSearchPath(t *testing.T) {
	conn := connectTransforms(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `BEGIN;
		CREATE SCHEMA evil;
		CREATE FUNCTION evil.leak(text, text) RETURNS text LANGUAGE sql AS $$ SELECT 'LEAK' $$;
		CREATE FUNCTION evil.leak_int(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT 'LEAK' $$;
		CREATE FUNCTION evil.leak_cmp(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT false $$;
		CREATE FUNCTION evil."right"(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT 'LEAK' $$;
		CREATE FUNCTION evil."left"(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT 'LEAK' $$;
		CREATE FUNCTION evil.regexp_replace(text, text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$;
		CREATE FUNCTION evil.split_part(text, text, integer) RETURNS text LANGUAGE sql AS $$ SELECT 'LEAK' $$;
		CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.leak);
		CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.leak_cmp);
		SET LOCAL search_path = evil, pg_catalog`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "ROLLBACK")
	var hijacked string
	if err := conn.QueryRow(ctx, "SELECT left($1::pg_catalog.text, 1) || 'x'", "Alice").Scan(&hijacked); err != nil {
		t.Fatal(err)
	}
	if hijacked != "LEAK" {
		t.Fatalf("unqualified names resolved to %q: the lookalikes do not take effect, so this test proves nothing", hijacked)
	}
	for _, c := range []struct{ spec, in, want string }{
		{"last4", "123-45-6789", "XXX-XX-6789"},
		{"email_domain", "alice@example.com", "*@example.com"},
		{"zip3", "03601", "000"},
		{`expr("left(value, 1) || '.'")`, "Alice", "A."},
	} {
		s, err := transform.Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		expr, err := s.Expr(transform.Column{Ref: `t."v"`, Type: "text"}, defaultTransformEnv())
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := conn.QueryRow(ctx, "SELECT "+expr+" FROM (SELECT $1::pg_catalog.text AS v) AS t", c.in).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if got != c.want {
			t.Errorf("%s(%q) with a hostile search_path = %q, want %q", c.spec, c.in, got, c.want)
		}
	}
}

// The SQL pgmask generates must not depend on standard_conforming_strings, which a
// client may turn off.
func TestRedactPatternsWorksWithoutStandardConformingStrings(t *testing.T) {
	conn := connectTransforms(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET standard_conforming_strings = off"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET standard_conforming_strings")
	got, _ := runTransform(t, conn, "redact_patterns", "text", tv("ssn 123-45-6789 phone (555) 123-4567"), nil, defaultTransformEnv())
	if want := "ssn [SSN] phone [PHONE]"; showValue(got) != showValue(&want) {
		t.Errorf("redact_patterns with standard_conforming_strings off = %s, want %q", showValue(got), want)
	}
}

// code reads the subject's code from pgmask.subject_codes (made here, or by another
// test's proxy, inside a transaction that is rolled back), keeps the column's type,
// ignores the column's own value, and gives NULL to a subject without a code.
func TestCodeShowsTheSubjectsCodeInTheColumnsTypeAndNullWithoutOne(t *testing.T) {
	conn := connectTransforms(t)
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS pgmask;
		CREATE TABLE IF NOT EXISTS pgmask.subject_codes (subject text PRIMARY KEY, code bigint NOT NULL UNIQUE);
		DELETE FROM pgmask.subject_codes WHERE code = 2147483647 OR subject IN ('-7', '-8');
		INSERT INTO pgmask.subject_codes (subject, code) VALUES ('-7', 2147483647);
		CREATE TEMP TABLE code_input (subject integer, v bigint) ON COMMIT DROP;
		INSERT INTO code_input VALUES (-7, 42), (-7, 1234), (-8, 42), (NULL, 42)`); err != nil {
		t.Fatal(err)
	}
	spec, err := transform.Parse("code")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ typ, want string }{
		{"bigint", "2147483647"},
		{"integer", "2147483647"},
		{"numeric(12,2)", "2147483647.00"},
		{"character varying(10)", "2147483647"},
		{"text", "2147483647"},
	} {
		expr, err := spec.Expr(transform.Column{Ref: `t."v"`, Type: c.typ, Subject: `t."subject"`}, transform.Env{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE code_output ON COMMIT DROP AS SELECT t.subject, "+expr+" AS r FROM ONLY code_input AS t"); err != nil {
			t.Fatalf("code on %s: %v", c.typ, err)
		}
		var typ string
		if err := tx.QueryRow(ctx, `SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
			WHERE a.attrelid = 'code_output'::regclass AND a.attname = 'r'`).Scan(&typ); err != nil {
			t.Fatal(err)
		}
		if typ != c.typ {
			t.Errorf("code on %s: result type %s, want the column type", c.typ, typ)
		}
		rows, _ := tx.Query(ctx, "SELECT subject, r::text FROM code_output")
		var subject *int
		var got *string
		if _, err := pgx.ForEachRow(rows, []any{&subject, &got}, func() error {
			want := tv(c.want)
			if subject == nil || *subject != -7 {
				want = nil
			}
			if showValue(got) != showValue(want) {
				who := "NULL"
				if subject != nil {
					who = strconv.Itoa(*subject)
				}
				t.Errorf("code on %s for subject %s = %s, want %s", c.typ, who, showValue(got), showValue(want))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "DROP TABLE code_output"); err != nil {
			t.Fatal(err)
		}
	}
}
