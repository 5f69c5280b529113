package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
)

// Token kinds: a link token names a portal item (in the notification's
// URL); a session token is the portal session cookie's value.
const (
	LinkPrefix    = "cpm_"
	SessionPrefix = "cps_"
	tokenBytes    = 32 // 256 bits
)

// tokenLen is the length of a token: a prefix and 43 base64url
// characters (RFC 4648 section 5, unpadded).
var tokenLen = len(LinkPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// ErrBadToken: the string is not a token of the expected kind. Callers
// answer as for an unknown token, so a malformed link and a forged one
// look the same.
var ErrBadToken = errors.New("portal: malformed token")

// newToken returns a fresh token of a kind and the hash that is stored.
func newToken(prefix string) (token string, hash []byte) {
	var b [tokenBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(b[:])
}

// ParseToken checks a token of a kind (LinkPrefix or SessionPrefix) and
// returns the hash that finds it. Only the canonical encoding is
// accepted: each token has exactly one spelling.
func ParseToken(prefix, s string) ([]byte, error) {
	if len(s) != tokenLen || !strings.HasPrefix(s, prefix) {
		return nil, ErrBadToken
	}
	body := s[len(prefix):]
	b, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil || len(b) != tokenBytes {
		return nil, ErrBadToken
	}
	return hashToken(b), nil
}

func hashToken(b []byte) []byte {
	h := sha256.Sum256(append([]byte("carepost portal token v1\x00"), b...))
	return h[:]
}

// newCode returns a one-time code of n decimal digits, uniformly random.
func newCode(n int) string {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, _ := rand.Int(rand.Reader, max) // cannot fail with crypto/rand
	s := v.String()
	return strings.Repeat("0", n-len(s)) + s
}

// hashCode binds a code to its row, so equal codes of two items (or two
// sends) never share a hash.
func hashCode(codeID, code string) []byte {
	h := sha256.Sum256([]byte("carepost portal code v1\x00" + codeID + "\x00" + code))
	return h[:]
}

// codeMatches compares a code with a stored hash in constant time.
func codeMatches(codeID, code string, want []byte) bool {
	return subtle.ConstantTimeCompare(hashCode(codeID, code), want) == 1
}

// normalizeCode removes the spaces and dashes people type or paste.
func normalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}
