package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// encodingJSON is the reference appendRecord must match.
func encodingJSON(t testing.TB, r *Record) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	until := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	rows := int64(-3)
	records := []Record{
		stmt(1),
		checkpoint(checkpointStart),
		BreakGlassStart(session, "line\nbreak \"quoted\" <tag> & \\ \t \x01 \u2028 \xff é", until),
		Disconnect(session, 1234567*time.Microsecond, ""),
		Disconnect(session, 0, "x"),
		Disconnect(session, time.Nanosecond, "sub-microsecond"),
		{Kind: KindStatement, Rows: &rows, DurationMS: func() *float64 { f := 1e-7; return &f }(), PolicyVersion: 9,
			Access: []Access{{Relation: "s.t", Treatment: TreatmentFiltered}}},
		{Kind: KindStatement, DurationMS: func() *float64 { f := 3e21; return &f }()},
	}
	for i, r := range records {
		r.Time = time.Date(2026, 3, 1, 9, 0, 0, i*1000, time.UTC)
		r.Seq, r.Epoch, r.Prev = uint64(i+1), uint64(i), "ab"
		if got, want := appendRecord(nil, &r), encodingJSON(t, &r); !bytes.Equal(got, want) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzAppendStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\b\f\x00\x1f", "\u2028\u2029", "\xff\xfe", "é€𝄞", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Record{Kind: KindConnect, User: s, Reason: s}
		if got, want := appendRecord(nil, &r), encodingJSON(t, &r); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}
