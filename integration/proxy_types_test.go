package integration

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// typeCase is one value of one PostgreSQL type sent as a parameter and read back.
type typeCase struct {
	name    string
	sqlType string
	arg     any
	dest    func() any          // a new pointer to scan into
	check   func(got any) error // compares *dest with arg
}

// roundTrip builds a typeCase for a Go value of type T compared with eq.
func roundTrip[T any](name, sqlType string, v T, eq func(got, want T) bool) typeCase {
	return typeCase{
		name:    name,
		sqlType: sqlType,
		arg:     v,
		dest:    func() any { return new(T) },
		check: func(got any) error {
			g := *(got.(*T))
			if !eq(g, v) {
				return fmt.Errorf("got %#v, want %#v", g, v)
			}
			return nil
		},
	}
}

func same[T comparable](a, b T) bool { return a == b }

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func deepEqual[T any](a, b T) bool { return reflect.DeepEqual(a, b) }

func sameFloat(a, b float64) bool {
	return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
}

// sameNumeric compares numerics by value: PostgreSQL may return another scale.
func sameNumeric(a, b pgtype.Numeric) bool {
	if a.Valid != b.Valid || a.NaN != b.NaN || a.InfinityModifier != b.InfinityModifier {
		return false
	}
	if !a.Valid || a.NaN || a.InfinityModifier != pgtype.Finite {
		return true
	}
	return numericRat(a).Cmp(numericRat(b)) == 0
}

func numericRat(n pgtype.Numeric) *big.Rat {
	r := new(big.Rat).SetInt(n.Int)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil))
	if n.Exp < 0 {
		return r.Quo(r, scale)
	}
	return r.Mul(r, scale)
}

func abs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

func numeric(s string) pgtype.Numeric {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		panic(err)
	}
	return n
}

func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// allBytes is every byte value, so bytea carries invalid UTF-8, NUL and the bytes that
// mean something in bytea's text forms (backslash, quote).
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// typeCases are the values every query exec mode must round-trip through pgmask.
func typeCases() []typeCase {
	ts := time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.FixedZone("IST", 5*3600+30*60))
	return []typeCase{
		roundTrip("int2 min", "int2", int16(math.MinInt16), same[int16]),
		roundTrip("int4 max", "int4", int32(math.MaxInt32), same[int32]),
		roundTrip("int8 min", "int8", int64(math.MinInt64), same[int64]),
		roundTrip("numeric with many digits", "numeric", numeric("-12345678901234567890123456789.000000000000000000001"), sameNumeric),
		roundTrip("numeric NaN", "numeric", pgtype.Numeric{NaN: true, Valid: true}, sameNumeric),
		roundTrip("float8 one third", "float8", 1.0/3, sameFloat),
		roundTrip("float8 smallest denormal", "float8", math.SmallestNonzeroFloat64, sameFloat),
		roundTrip("float8 max", "float8", -math.MaxFloat64, sameFloat),
		roundTrip("text with quotes, backslashes, unicode and control characters", "text",
			"it's a \"quoted\" \\ back\\slash, $1, ☃ 👩‍⚕️ \x01\t\r\n end", same[string]),
		roundTrip("empty text", "text", "", same[string]),
		roundTrip("long text", "text", strings.Repeat("pgmask ", 20000), same[string]),
		roundTrip("varchar with trailing blanks", "varchar(20)", "abc  ", same[string]),
		roundTrip("date", "date", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), sameTime),
		roundTrip("date before 1970", "date", time.Date(1901, 12, 13, 0, 0, 0, 0, time.UTC), sameTime),
		roundTrip("timestamptz with microseconds and an offset", "timestamptz", ts, sameTime),
		roundTrip("interval", "interval", pgtype.Interval{Months: -14, Days: 3, Microseconds: 3723000001, Valid: true}, same[pgtype.Interval]),
		roundTrip("uuid", "uuid", pgtype.UUID{Bytes: [16]byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 0x40, 2, 0x80, 3, 4, 5, 6, 7, 8, 0xff}, Valid: true}, same[pgtype.UUID]),
		// The argument is JSON text: pgx cannot encode a Go map for a parameter of
		// unknown type (exec and simple protocol modes).
		{
			name: "jsonb", sqlType: "jsonb",
			arg:  `{"a": 1.5, "b": ["x", null, true], "ü☃": {"q": "'\"\\"}}`,
			dest: func() any { return new(map[string]any) },
			check: func(got any) error {
				want := map[string]any{"a": 1.5, "b": []any{"x", nil, true}, "ü☃": map[string]any{"q": "'\"\\"}}
				if g := *(got.(*map[string]any)); !reflect.DeepEqual(g, want) {
					return fmt.Errorf("got %#v, want %#v", g, want)
				}
				return nil
			},
		},
		roundTrip("int4 array", "int4[]", []int32{1, -2, math.MaxInt32, 0}, deepEqual[[]int32]),
		roundTrip("text array with separators, quotes and NULL-looking strings", "text[]",
			[]string{"a", "b,c", `"q"`, `back\slash`, "NULL", "", "{}", "with space"}, deepEqual[[]string]),
		roundTrip("text array with a NULL element", "text[]", []*string{ptr("x"), nil, ptr("")}, func(a, b []*string) bool {
			if len(a) != len(b) {
				return false
			}
			for i := range a {
				if !samePtr(a[i], b[i]) {
					return false
				}
			}
			return true
		}),
		roundTrip("bytea with every byte value", "bytea", allBytes(), bytes.Equal),
		roundTrip("bytea with invalid UTF-8", "bytea", []byte{0xff, 0xfe, 0xc3, 0x28, 0x00, '\\', 'x'}, bytes.Equal),
		roundTrip("empty bytea", "bytea", []byte{}, func(a, b []byte) bool { return a != nil && len(a) == 0 }),
		roundTrip("bool true", "bool", true, same[bool]),
		roundTrip("bool false", "bool", false, same[bool]),
		roundTrip("NULL int4", "int4", (*int32)(nil), samePtr[int32]),
		roundTrip("NULL text", "text", (*string)(nil), samePtr[string]),
		roundTrip("NULL bytea", "bytea", []byte(nil), func(a, b []byte) bool { return a == nil }),
		roundTrip("NULL timestamptz", "timestamptz", pgtype.Timestamptz{}, same[pgtype.Timestamptz]),
		roundTrip("NULL jsonb", "jsonb", (*string)(nil), samePtr[string]),
	}
}

func ptr[T any](v T) *T { return &v }

func TestEveryQueryExecModeRoundTripsEveryTypeThroughPgmask(t *testing.T) {
	p := startProxy(t, nil)
	cases := typeCases()
	for _, m := range execModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			conn := p.connect(t, "dana", execMode(m.mode))
			for _, c := range cases {
				dest := c.dest()
				if err := conn.QueryRow(ctx, "SELECT $1::"+c.sqlType, c.arg).Scan(dest); err != nil {
					t.Errorf("%s: %v", c.name, err)
					continue
				}
				if err := c.check(dest); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}

			// All of them again in one row: a wide DataRow of mixed lengths and NULLs.
			var sql strings.Builder
			sql.WriteString("SELECT ")
			args := make([]any, len(cases))
			dests := make([]any, len(cases))
			for i, c := range cases {
				if i > 0 {
					sql.WriteString(", ")
				}
				fmt.Fprintf(&sql, "$%d::%s", i+1, c.sqlType)
				args[i] = c.arg
				dests[i] = c.dest()
			}
			for round := range 3 { // the cached modes prepare on the first round only
				if err := conn.QueryRow(ctx, sql.String(), args...).Scan(dests...); err != nil {
					t.Fatalf("round %d, one row of every type: %v", round, err)
				}
				for i, c := range cases {
					if err := c.check(dests[i]); err != nil {
						t.Errorf("round %d, one row of every type, %s: %v", round, c.name, err)
					}
				}
			}
		})
	}
}
