package tracking

import (
	"encoding/binary"
	"strings"
)

// Identifiers in tokens are carepost ids ("cmp_01jd8x3k9w…": a prefix and
// 26 characters of Crockford base32 over 128 bits, package id), packed as
// the prefix and 16 bytes, or any other short identifier as its bytes:
//
//	0x80 | len(prefix), prefix, 16 bytes   a carepost id (prefix 1-15 of [a-z0-9])
//	len (0-127), bytes                     anything else of [A-Za-z0-9._:-]
//
// Packing keeps a token of three ids near 110 characters.

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// maxID bounds an identifier in a token.
const maxID = 127

// validID reports whether s can travel in a token.
func validID(s string) bool {
	if len(s) > maxID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idByte(s[i]) {
			return false
		}
	}
	return true
}

func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':'
}

func putID(b []byte, s string) []byte {
	if prefix, bits, ok := splitID(s); ok {
		b = append(b, 0x80|byte(len(prefix)))
		b = append(b, prefix...)
		b = binary.BigEndian.AppendUint64(b, bits[0])
		return binary.BigEndian.AppendUint64(b, bits[1])
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

func (r *reader) id() string {
	n := r.byte()
	if n&0x80 == 0 {
		s := string(r.bytes(int(n)))
		if !validID(s) {
			r.fail()
		}
		return s
	}
	plen := int(n & 0x7f)
	prefix := string(r.bytes(plen))
	raw := r.bytes(16)
	if r.err || plen == 0 || plen > 15 || !lowerAlnum(prefix) {
		r.fail()
		return ""
	}
	return prefix + "_" + encode32(binary.BigEndian.Uint64(raw[:8]), binary.BigEndian.Uint64(raw[8:]))
}

// splitID recognizes a canonical carepost id.
func splitID(s string) (string, [2]uint64, bool) {
	i := strings.IndexByte(s, '_')
	if i < 1 || i > 15 || len(s)-i-1 != 26 || !lowerAlnum(s[:i]) {
		return "", [2]uint64{}, false
	}
	var hi, lo uint64
	body := s[i+1:]
	for k := 0; k < 26; k++ {
		v := strings.IndexByte(alphabet, body[k])
		if v < 0 || k == 0 && v > 7 { // the top two of 130 bits must be zero
			return "", [2]uint64{}, false
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	return s[:i], [2]uint64{hi, lo}, true
}

func encode32(hi, lo uint64) string {
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

func lowerAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}
