package e2e

import (
	"bytes"
	"encoding/base64"

	"github.com/carepost/carepost/internal/message"
)

// Base64 encodes b in RFC 2045 section 6.8 base64: 76-character lines,
// each ending in CRLF.
func Base64(b []byte) []byte {
	const line = 76
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(enc, b)
	out := make([]byte, 0, len(enc)+2*(len(enc)/line+1))
	for len(enc) > 0 {
		n := min(line, len(enc))
		out = append(out, enc[:n]...)
		out = append(out, '\r', '\n')
		enc = enc[n:]
	}
	return out
}

// Boundary returns a multipart boundary that occurs in none of parts (RFC
// 2046 section 5.1.1). Random boundaries practically never collide; the
// check makes it certain for content carepost did not write.
func Boundary(parts ...[]byte) string {
	for {
		b := message.RandomBoundary()
		clash := false
		for _, p := range parts {
			if bytes.Contains(p, []byte(b)) {
				clash = true
				break
			}
		}
		if !clash {
			return b
		}
	}
}
