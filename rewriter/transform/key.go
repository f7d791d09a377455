package transform

import (
	"crypto/hmac"
	"crypto/sha256"
)

// DeriveKey derives the secret of one column for one role from pgmask's master key:
// HMAC-SHA-256(master, role "\x00" relation "\x00" column). Keyed transforms of
// different roles or columns therefore never produce joinable values, and no key that
// reaches the generated SQL reveals the master key or another column's key.
func DeriveKey(master []byte, role, relation, column string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(role + "\x00" + relation + "\x00" + column))
	return m.Sum(nil)
}

// DeriveSubjectKey derives the secret that date_shift should use for all of one
// role's columns: a subject's admission, discharge and birth dates (in any table) must
// move by the same offset to keep intervals such as length of stay, so this key
// depends on the role only. Its HMAC input carries one NUL where DeriveKey's carries
// two, so it never equals a column key.
func DeriveSubjectKey(master []byte, role string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("pgmask date_shift\x00" + role))
	return m.Sum(nil)
}
