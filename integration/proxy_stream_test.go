package integration

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/jackc/pgx/v5"
)

// streamQuery is a 100,000-row result with text of varying length, NULLs and numerics,
// enough to cross many relay buffers.
const streamQuery = `SELECT g, md5(g::text), repeat(chr(65 + g % 26), g % 300),
	CASE WHEN g % 11 = 0 THEN NULL ELSE g::numeric / 7 END, now() - g * interval '1 minute' > now()
	FROM generate_series(1, 100000) AS g`

// streamDigest runs streamQuery on conn and returns the row count and a SHA-256 of every
// value as the server encoded it (length-prefixed, NULL marked).
func streamDigest(t *testing.T, conn *pgx.Conn) (int, [32]byte) {
	t.Helper()
	rows, err := conn.Query(context.Background(), streamQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	n := 0
	for rows.Next() {
		n++
		for _, v := range rows.RawValues() {
			if v == nil {
				h.Write([]byte{0xff, 0xff, 0xff, 0xff})
				continue
			}
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v))))
			h.Write(v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("after %d rows: %v", n, err)
	}
	if tag := rows.CommandTag(); tag.RowsAffected() != int64(n) {
		t.Errorf("command tag %q, but %d rows arrived", tag, n)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return n, sum
}

func TestAHundredThousandRowResultStreamsThroughPgmaskUnchanged(t *testing.T) {
	p := startProxy(t, nil)
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"binary results", pgx.QueryExecModeCacheStatement},
		{"text results", pgx.QueryExecModeSimpleProtocol},
	} {
		t.Run(m.name, func(t *testing.T) {
			gotN, got := streamDigest(t, p.connect(t, "dana", execMode(m.mode)))
			wantN, want := streamDigest(t, connectDirect(t, execMode(m.mode)))
			if gotN != 100000 || wantN != 100000 {
				t.Fatalf("%d rows through pgmask, %d directly; want 100000", gotN, wantN)
			}
			if got != want {
				t.Errorf("the rows through pgmask differ from the rows of a direct connection")
			}
		})
	}
}
