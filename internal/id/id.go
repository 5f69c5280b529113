// Package id makes the identifiers carepost hands out: a short type prefix
// and 26 characters of Crockford base32 over 48 bits of milliseconds and 80
// random bits ("msg_01jd8x3k9w…"). They sort by creation time, which keeps
// B-tree inserts local and gives cursors a natural order, and they carry no
// information about the content they name.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford base32, lower case

// New returns prefix + "_" + a fresh time-ordered random id.
func New(prefix string) string {
	return NewAt(prefix, time.Now())
}

// NewAt is New with an explicit time, for deterministic tests.
func NewAt(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(t.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("id: crypto/rand failed: " + err.Error()) // the kernel's CSPRNG does not fail
	}
	return prefix + "_" + encode(b)
}

// encode writes 128 bits as 26 base32 characters (the top two bits of the
// first character are always zero).
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Valid reports whether s looks like an id with the given prefix. It checks
// form only; the store decides whether the id exists.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}
