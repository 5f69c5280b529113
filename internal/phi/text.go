package phi

import (
	"encoding/binary"
	"unsafe"
)

// Text is a text prepared for the detectors: every run of white space
// (ASCII white space and U+00A0 NO-BREAK SPACE, which HTML's &nbsp; becomes)
// collapsed to one space, and an ASCII-lowercased copy of exactly the same
// length, so a keyword found in one is at the same offsets in the other.
type Text struct {
	s     string
	lower string
}

// NewText prepares s in one pass over its bytes, with one allocation: both
// strings view the same buffer, which nothing writes once they are made.
//
// Eight bytes are taken at a time when they need no change but lower
// case: ASCII, no control byte, no two spaces side by side and none right
// after white space already written. That is most of a message's text (a
// word and a space fit in a word of eight bytes); the lower-case copy is
// then the word with 0x20 added to exactly its bytes in A-Z. Anything else
// goes byte by byte (FuzzNewText holds the two to the same output).
func NewText(s string) *Text {
	t := prepareText(s, make([]byte, 2*len(s)))
	return &t
}

// prepareText is NewText in buf, which holds at least 2*len(s) bytes; the
// Text views buf.
func prepareText(s string, buf []byte) Text {
	const (
		high   = 0x8080808080808080
		spaces = 0x2020202020202020
	)
	buf = buf[:2*len(s)]
	norm, lower := buf[:len(s)], buf[len(s):]
	n := 0
	space := true // drops leading white space
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
			// Per-byte tests on ASCII bytes (each below 0x80, so adding
			// a constant below 0x80 never carries into the next byte):
			// the high bit of b+k is set exactly when b >= 0x80-k.
			isSpace := ^((w ^ spaces) + 0x7f7f7f7f7f7f7f7f) & high
			printable := (w + 0x6060606060606060) & high                        // b >= 0x20
			caps := (w + 0x3f3f3f3f3f3f3f3f) &^ (w + 0x2525252525252525) & high // 'A' <= b <= 'Z'
			if w&high == 0 && printable == high && isSpace&(isSpace<<8) == 0 && !(space && isSpace&0x80 != 0) {
				binary.LittleEndian.PutUint64(norm[n:], w)
				binary.LittleEndian.PutUint64(lower[n:], w|caps>>2)
				n, i = n+8, i+8
				space = isSpace>>56 != 0
				continue
			}
		}
		for end := min(i+8, len(s)); i < end; i++ {
			c := s[i]
			switch class[c] {
			case 0:
				norm[n], lower[n] = c, c
				n++
				space = false
				continue
			case upper:
				norm[n], lower[n] = c, c+'a'-'A'
				n++
				space = false
				continue
			case nbspLead:
				if i+1 >= len(s) || s[i+1] != 0xa0 {
					norm[n], lower[n] = c, c
					n++
					space = false
					continue
				}
				i++
			}
			if !space {
				norm[n], lower[n] = ' ', ' '
				n++
				space = true
			}
		}
	}
	if n == 0 {
		return Text{}
	}
	all := unsafe.String(&buf[0], len(buf))
	return Text{s: all[:n], lower: all[len(s) : len(s)+n]}
}

// Byte classes for NewText.
const (
	white    = 1
	upper    = 2
	nbspLead = 3 // 0xC2, the first byte of U+00A0
)

// class is NewText's byte table (read-only).
var class = func() (t [256]byte) {
	for _, c := range " \t\n\r\f\v" {
		t[c] = white
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = upper
	}
	t[0xc2] = nbspLead
	return t
}()

// Len is the prepared text's length in bytes.
func (t *Text) Len() int { return len(t.s) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// wordAt reports whether s[start:end] stands alone as a word: no letter or
// digit touches it on either side. Non-ASCII bytes count as boundaries.
func wordAt(s string, start, end int) bool {
	return (start == 0 || !isAlnum(s[start-1])) && (end >= len(s) || !isAlnum(s[end]))
}

// digitRun returns the end of the run of digits starting at i.
// nextDigit is the index of the first ASCII digit in s at or after i, or
// len(s). Eight bytes are tested at a time (text is mostly letters): XOR
// with '0' turns exactly the digits into bytes below 10, which the classic
// "hasless" test finds in a word.
func nextDigit(s string, i int) int {
	const (
		ones  = 0x0101010101010101
		high  = 0x8080808080808080
		zeros = 0x3030303030303030
	)
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if x := w ^ zeros; (x-ones*10)&^x&high != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if isDigit(s[i]) {
			return i
		}
	}
	return len(s)
}

func digitRun(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
