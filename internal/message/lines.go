package message

import (
	"bytes"
	"encoding/binary"
)

// LineReport describes the line structure of a raw message: the properties
// SMTP and DKIM care about. Inspect reports them and callers decide; Build's
// output always has BareCR and BareLF false and Longest at most 998.
type LineReport struct {
	// BareCR: a CR not followed by LF. BareLF: an LF not preceded by CR.
	// RFC 5322 section 2.3 forbids both; SMTP servers treat them
	// differently (the root of SMTP smuggling), so a relay must not pass
	// them on unchanged.
	BareCR, BareLF bool
	// Longest is the longest line in octets without its line ending. RFC
	// 5322 section 2.1.1 and RFC 5321 section 4.5.3.1.6 cap it at 998.
	Longest int
	// NUL: the message contains a zero octet (RFC 5322 section 2.3).
	NUL bool
	// EightBit: the message contains octets above 127, so it needs
	// 8BITMIME (RFC 6152) or SMTPUTF8 (RFC 6531) from the next hop.
	EightBit bool
}

// ScanLines reports the line structure of raw in one pass. Eight bytes are
// tested at a time: a word with no CR, LF, NUL or 8-bit byte in it — most
// of a message — changes nothing in the report and is skipped whole; the
// others go byte by byte (FuzzScanLines holds it to the byte-by-byte
// scan).
func ScanLines(raw []byte) LineReport {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		crs  = 0x0d0d0d0d0d0d0d0d
		lfs  = 0x0a0a0a0a0a0a0a0a
	)
	// zero reports whether some byte of v is zero (the classic
	// "haszero": exact for the any-byte question).
	zero := func(v uint64) bool { return (v-ones)&^v&high != 0 }
	var r LineReport
	lineStart := 0
	for i := 0; i < len(raw); {
		if i+8 <= len(raw) {
			w := binary.LittleEndian.Uint64(raw[i:])
			if w&high == 0 && !zero(w) && !zero(w^crs) && !zero(w^lfs) {
				i += 8
				continue
			}
		}
		end := min(i+8, len(raw))
		for ; i < end; i++ {
			switch c := raw[i]; {
			case c == '\n':
				e := i
				if i > 0 && raw[i-1] == '\r' {
					e--
				} else {
					r.BareLF = true
				}
				if n := e - lineStart; n > r.Longest {
					r.Longest = n
				}
				lineStart = i + 1
			case c == '\r':
				if i+1 >= len(raw) || raw[i+1] != '\n' {
					r.BareCR = true
				}
			case c == 0:
				r.NUL = true
			case c >= 0x80:
				r.EightBit = true
			}
		}
	}
	if n := len(raw) - lineStart; n > r.Longest {
		r.Longest = n
	}
	return r
}

// EightBit reports whether raw has an octet above 127: ScanLines's
// EightBit alone, which delivery asks of every message (for BODY=8BITMIME,
// RFC 6152) and which needs no line structure. Eight bytes are tested at a
// time with no early stop on a line ending, so a quoted-printable message
// of short lines costs one pass of word tests rather than ScanLines's byte
// loop at every CRLF (FuzzScanLines holds the two to the same answer).
func EightBit(raw []byte) bool {
	const high = 0x8080808080808080
	i := 0
	for ; i+32 <= len(raw); i += 32 {
		w := binary.LittleEndian.Uint64(raw[i:]) | binary.LittleEndian.Uint64(raw[i+8:]) |
			binary.LittleEndian.Uint64(raw[i+16:]) | binary.LittleEndian.Uint64(raw[i+24:])
		if w&high != 0 {
			return true
		}
	}
	for ; i < len(raw); i++ {
		if raw[i] >= 0x80 {
			return true
		}
	}
	return false
}

// Canonical reports whether raw can travel exactly as it is where SMTP
// carries a message without transforming it (a BDAT chunk, RFC 3030): every
// line ending is CRLF and so is the end, there is no bare CR, no bare LF,
// no NUL, and no line is longer than 998 octets (RFC 5321 section
// 4.5.3.1.6). It is ScanLines's answer (FuzzScanLines holds the two
// together) found with vectorized searches: the LFs one by one, each
// checked for its CR and its line's length, and the CRs and NULs counted,
// since once every LF has its CR, one more CR than LF is a bare one.
func Canonical(raw []byte) bool {
	if !bytes.HasSuffix(raw, []byte("\r\n")) || bytes.IndexByte(raw, 0) >= 0 {
		return false
	}
	lfs := 0
	for start := 0; start < len(raw); {
		i := bytes.IndexByte(raw[start:], '\n')
		if i < 0 {
			break
		}
		end := start + i
		if end == 0 || raw[end-1] != '\r' || end-1-start > maxLineLen {
			return false
		}
		lfs++
		start = end + 1
	}
	return bytes.Count(raw, []byte{'\r'}) == lfs
}
