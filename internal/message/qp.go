package message

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
)

// decodeQP undoes quoted-printable (RFC 2045 section 6.7) in one pass over
// the body, producing exactly what io.ReadAll over a
// mime/quotedprintable.Reader produces — the same bytes, and an error
// exactly when the reader fails (FuzzDecodeQP holds the two together) —
// without the reader's byte-at-a-time copying, which was the largest cost
// of inspecting a built message. The reader's rules, line by line:
// trailing spaces, tabs and line-ending characters are dropped; a line
// then ending in "=" is a soft break (joined to the next; anything but a
// line ending after the "=" is an error, except at the end of the body);
// otherwise the line ending is kept as it was (CRLF or LF). Within a line,
// "=XX" is a byte (lower-case hex accepted), "=" not followed by two hex
// digits is a literal "=", and a control byte other than TAB, CR or LF is
// an error; bytes of 0x80 and above pass.
//
// The reader reads lines through a 4,096-byte buffer and fails on a longer
// line; such a body is given to the reader itself, so even that failure
// stays the same.
func decodeQP(src []byte) ([]byte, error) {
	const readerLine = 4096 // bufio.Reader's default size, which quotedprintable.NewReader uses
	for rest := src; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest) - 1
		}
		if i+1 > readerLine {
			return io.ReadAll(quotedprintable.NewReader(bytes.NewReader(src)))
		}
		rest = rest[i+1:]
	}
	out := make([]byte, 0, len(src))
	for len(src) > 0 {
		var whole []byte
		atEOF := false
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			whole, src = src[:i+1], src[i+1:]
		} else {
			whole, src, atEOF = src, nil, true
		}
		hasLF := whole[len(whole)-1] == '\n'
		hasCR := hasLF && len(whole) > 1 && whole[len(whole)-2] == '\r'
		line := bytes.TrimRight(whole, " \t\r\n")
		var lineErr error
		ending := ""
		if n := len(line); n > 0 && line[n-1] == '=' {
			right := bytes.TrimLeft(whole[n:], " \t")
			line = line[:n-1]
			if !bytes.HasPrefix(right, []byte("\n")) && !bytes.HasPrefix(right, []byte("\r\n")) &&
				!(len(right) == 0 && len(line) > 0 && atEOF) {
				lineErr = fmt.Errorf("quotedprintable: invalid bytes after =: %q", right)
			}
		} else if hasCR {
			ending = "\r\n"
		} else if hasLF {
			ending = "\n"
		}
		for j := 0; j < len(line); j++ {
			if qpPass[line[j]] { // a run of bytes that stand for themselves, in one copy
				k := j + 1
				for k < len(line) && qpPass[line[k]] {
					k++
				}
				out = append(out, line[j:k]...)
				j = k - 1
				continue
			}
			b := line[j]
			switch {
			case b == '=':
				if j+2 < len(line)+len(ending) {
					hi, ok1 := unhex(at(line, ending, j+1))
					lo, ok2 := unhex(at(line, ending, j+2))
					if ok1 && ok2 {
						b = hi<<4 | lo
						j += 2
						break
					}
				}
				if n := len(line) + len(ending) - j; n >= 2 && at(line, ending, j+1) != '\r' && at(line, ending, j+1) != '\n' {
					break // a literal "="
				}
				return out, fmt.Errorf("quotedprintable: invalid quoted-printable escape")
			case b == '\t' || b == '\r' || b == '\n' || b >= 0x80:
			case b < ' ' || b > '~':
				return out, fmt.Errorf("quotedprintable: invalid unescaped byte 0x%02x in body", b)
			}
			out = append(out, b)
		}
		out = append(out, ending...)
		if lineErr != nil {
			return out, lineErr
		}
	}
	return out, nil
}

// qpPass marks the bytes decodeQP copies as they are: printable ASCII but
// "=", tab, CR, LF, and bytes of 0x80 and above.
var qpPass = func() (t [256]bool) {
	for b := 0; b < 256; b++ {
		t[b] = b >= ' ' && b <= '~' && b != '=' || b == '\t' || b == '\r' || b == '\n' || b >= 0x80
	}
	return t
}()

// at is the byte at i of line followed by ending.
func at(line []byte, ending string, i int) byte {
	if i < len(line) {
		return line[i]
	}
	return ending[i-len(line)]
}

func unhex(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	}
	return 0, false
}

// qpLineMax is quoted-printable's longest line, soft break included (RFC
// 2045 section 6.7 rule 5).
const qpLineMax = 76

// encodeQP appends src, quoted-printable encoded, to dst: exactly the bytes
// mime/quotedprintable.Writer (not Binary) writes for src and Close
// (FuzzEncodeQP holds the two together), in one pass without the writer's
// byte-at-a-time copying through its line buffer. The writer's rules:
// printable ASCII but "=", space and tab pass; a space or tab that ends a
// line is encoded; CR, LF and CRLF become CRLF (an LF right after a CR is
// part of it, even across encoded bytes, as in the writer); every other
// byte is "=XX"; a soft break ("=" CRLF) keeps lines to 76 characters.
func encodeQP[S string | []byte](dst []byte, src S) []byte {
	start := len(dst) // the current line's first byte
	cr := false       // the last line ending was a CR
	for i := 0; i < len(src); {
		b := src[i]
		switch {
		case qpLiteral[b]:
			// A run of literal bytes, up to the line's room, in one copy.
			room := qpLineMax - 1 - (len(dst) - start)
			if room == 0 {
				dst = append(dst, '=', '\r', '\n')
				start, room = len(dst), qpLineMax-1
			}
			j := i + 1
			for j < len(src) && j-i < room && qpLiteral[src[j]] {
				j++
			}
			dst = append(dst, src[i:j]...)
			cr = false
			i = j
			continue
		case b == '\r' || b == '\n':
			if !(cr && b == '\n') {
				cr = b == '\r'
				dst, _ = qpEndLine(dst, start)
				dst = append(dst, '\r', '\n')
				start = len(dst)
			} else {
				cr = false
			}
		default:
			dst, start = qpEscape(dst, start, b)
		}
		i++
	}
	dst, _ = qpEndLine(dst, start)
	return dst
}

// qpLiteral marks the bytes quoted-printable writes as themselves:
// printable ASCII but "=", and space and tab (encoded only at a line's
// end, by qpEndLine).
var qpLiteral = func() (t [256]bool) {
	for b := '!'; b <= '~'; b++ {
		t[b] = b != '='
	}
	t[' '], t['\t'] = true, true
	return t
}()

// qpEndLine encodes the line's last byte when it is a space or a tab.
func qpEndLine(dst []byte, start int) ([]byte, int) {
	if n := len(dst); n > start && (dst[n-1] == ' ' || dst[n-1] == '\t') {
		b := dst[n-1]
		return qpEscape(dst[:n-1], start, b)
	}
	return dst, start
}

// qpEscape appends "=XX" for b, after a soft break if the line is full.
func qpEscape(dst []byte, start int, b byte) ([]byte, int) {
	const upperhex = "0123456789ABCDEF"
	if qpLineMax-1-(len(dst)-start) < 3 {
		dst = append(dst, '=', '\r', '\n')
		start = len(dst)
	}
	return append(dst, '=', upperhex[b>>4], upperhex[b&0x0f]), start
}
