package transform

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// errNoKey is returned by keyed transforms called without a key.
var errNoKey = errors.New("needs a key (Env.Key, see DeriveKey)")

// hmacSQL returns a bytea expression computing HMAC-SHA-256(key, msg) in SQL, where
// msg is a bytea expression (RFC 2104):
//
//	HMAC(K, m) = sha256((K' xor opad) || sha256((K' xor ipad) || m))
//
// K' is the key padded to the 64-byte block (hashed first when longer). The two padded
// keys are computed here and written as hex constants, so the SQL holds no function a
// client could call as an oracle and the key itself never appears. Hex decoding keeps
// the literals free of backslashes. sha256(bytea) is built into PostgreSQL 11 and
// later (no pgcrypto). NULL in, NULL out: every step is strict.
func hmacSQL(key []byte, msg string) string {
	const block = sha256.BlockSize
	k := key
	if len(k) > block {
		sum := sha256.Sum256(k)
		k = sum[:]
	}
	inner, outer := make([]byte, block), make([]byte, block)
	copy(inner, k)
	copy(outer, k)
	for i := range inner {
		inner[i] ^= 0x36
		outer[i] ^= 0x5c
	}
	ipad := fn("decode", lit(hex.EncodeToString(inner)), lit("hex"))
	opad := fn("decode", lit(hex.EncodeToString(outer)), lit("hex"))
	return fn("sha256", op(opad, "||", fn("sha256", op(ipad, "||", msg))))
}

// utf8 is the UTF-8 encoding of a text expression, as bytea.
func utf8(textExpr string) string { return fn("convert_to", textExpr, lit("UTF8")) }

// hmacHex is the HMAC of a text expression as 64 lowercase hex digits.
func hmacHex(key []byte, textExpr string) string {
	return fn("encode", hmacSQL(key, utf8(textExpr)), lit("hex"))
}
