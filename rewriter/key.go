package rewriter

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
)

// KeyEnv names the environment variable holding the master key of the keyed
// transforms (hash, date_shift): hex (at least 32 digits) or, if it is not hex, the
// raw bytes. A configuration key will replace it later.
const KeyEnv = "PGMASK_MASK_KEY"

var (
	processKeyOnce sync.Once
	processKey     []byte
)

// masterKey returns the key from KeyEnv or, without one, a random key made once per
// process. The fallback keeps hashes consistent across policy reloads of one process
// but not across restarts or between pgmask instances behind a load balancer: set
// PGMASK_MASK_KEY wherever hashed values must stay joinable over time.
func masterKey() []byte {
	if v := os.Getenv(KeyEnv); v != "" {
		if b, err := hex.DecodeString(v); err == nil && len(b) >= 16 {
			return b
		}
		return []byte(v)
	}
	processKeyOnce.Do(func() {
		processKey = make([]byte, 32)
		if _, err := rand.Read(processKey); err != nil {
			panic("rewriter: no randomness for the master key: " + err.Error())
		}
	})
	return processKey
}

// secret is key material that never prints, so a Policy can be logged or dumped
// with %v / %#v without leaking the master key.
type secret []byte

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }
