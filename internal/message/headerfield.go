package message

import (
	"errors"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// RFC 5322 section 2.1.1 line length limits, excluding the CRLF.
const (
	foldAt     = 78  // SHOULD
	maxLineLen = 998 // MUST
)

var (
	errHeaderName    = errors.New("header name must be 1..76 printable US-ASCII characters other than colon (RFC 5322 section 2.2)")
	errHeaderControl = errors.New("header value contains CR, LF or another control character (header injection)")
	errHeaderASCII   = errors.New("header value must be US-ASCII")
	errHeaderLong    = errors.New("header field does not fit in a 998-octet line (RFC 5322 section 2.1.1)")
	errHeaderSet     = errors.New("header is set by carepost and cannot be supplied")
	errHeaderAllowed = errors.New("header is not allowed: use X-* or one of List-Unsubscribe, List-Unsubscribe-Post, List-Id, In-Reply-To, References, Auto-Submitted, Precedence")
	errHeaderPrefix  = errors.New("X-Carepost-* headers are reserved")
)

// allowedHeaders are the non-X custom headers a Draft may carry. All of them
// are structured or keyword fields, so their values must be ASCII.
var allowedHeaders = map[string]bool{
	"List-Unsubscribe":      true, // RFC 2369 section 3.2
	"List-Unsubscribe-Post": true, // RFC 8058 section 3.1
	"List-Id":               true, // RFC 2919
	"In-Reply-To":           true, // RFC 5322 section 3.6.4
	"References":            true, // RFC 5322 section 3.6.4
	"Auto-Submitted":        true, // RFC 3834 section 5
	"Precedence":            true, // RFC 2076 (informational, still read by autoresponders)
}

// structuralHeaders are built from the Draft's own fields, or added later by
// signing and delivery; a client supplying one could forge or duplicate them
// (a second From, a Bcc that leaks, a fake Received trail).
var structuralHeaders = map[string]bool{
	"From": true, "Sender": true, "Reply-To": true, "To": true, "Cc": true, "Bcc": true,
	"Subject": true, "Date": true, "Message-Id": true, "Mime-Version": true,
	"Dkim-Signature": true, "Arc-Seal": true, "Arc-Message-Signature": true,
	"Arc-Authentication-Results": true, "Authentication-Results": true,
	"Received": true, "Return-Path": true, "Delivered-To": true,
	"Resent-From": true, "Resent-To": true, "Resent-Cc": true, "Resent-Bcc": true,
	"Resent-Date": true, "Resent-Message-Id": true, "Resent-Sender": true,
}

// checkHeaderName checks the RFC 5322 section 2.2 field-name syntax: ftext is
// printable US-ASCII (33..126) except ":". The 76 keeps "Name: " plus a
// folded value inside the 78-character line.
func checkHeaderName(name string) error {
	if name == "" || len(name) > 76 || !validHeaderName([]byte(name)) {
		return errHeaderName
	}
	return nil
}

// validHeaderName checks the ftext characters of a field name of any length
// (names from a raw message are not held to the 76 of checkHeaderName).
func validHeaderName(name []byte) bool {
	for _, c := range name {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return len(name) > 0
}

// checkCustomHeader applies the Draft rules to one client-supplied header and
// returns its canonical name and encoded value.
func checkCustomHeader(name, value string) (string, string, error) {
	if err := checkHeaderName(name); err != nil {
		return "", "", err
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	switch {
	case strings.HasPrefix(canon, "X-Carepost-"):
		return "", "", errHeaderPrefix
	case structuralHeaders[canon], strings.HasPrefix(canon, "Content-"):
		return "", "", errHeaderSet
	case !allowedHeaders[canon] && !strings.HasPrefix(canon, "X-"):
		return "", "", errHeaderAllowed
	}
	if hasControl(value) {
		return "", "", errHeaderControl
	}
	value = strings.TrimSpace(value)
	if !isASCII(value) {
		if allowedHeaders[canon] {
			return "", "", errHeaderASCII
		}
		// X-* fields are unstructured (RFC 5322 section 3.2.5): RFC 2047
		// encoded words carry non-ASCII text.
		value = EncodeHeaderText(value)
	}
	if _, err := foldField(name, value); err != nil {
		return "", "", err
	}
	return displayName(canon), value, nil
}

// displayName restores the conventional spelling of names that Go's
// canonical form changes ("Message-Id" to "Message-ID").
func displayName(canon string) string {
	switch canon {
	case "Message-Id":
		return "Message-ID"
	case "Mime-Version":
		return "MIME-Version"
	case "List-Id":
		return "List-ID"
	case "Content-Id":
		return "Content-ID"
	}
	return canon
}

// foldField formats "Name: value" CRLF, folding at whitespace so lines stay
// at 78 characters where the value allows and never pass 998 (RFC 5322
// sections 2.1.1 and 2.2.3). Folding only ever inserts CRLF before existing
// whitespace, so unfolding gives the value back unchanged.
func foldField(name, value string) (string, error) {
	f := newFolder(name, len(value))
	f.words(value)
	return f.done()
}

// foldList formats an address list, folding between items before folding
// inside one (a break inside a quoted display name is legal but needless).
func foldList(name string, items []string) (string, error) {
	f := newFolder(name, 32*len(items))
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		f.unit(it)
	}
	return f.done()
}

// folder writes one folded header field.
type folder struct {
	b       strings.Builder
	lineLen int
	first   bool // nothing after "Name:" yet
}

func newFolder(name string, size int) *folder {
	f := &folder{first: true}
	f.b.Grow(len(name) + size + 8)
	f.b.WriteString(name)
	f.b.WriteString(":")
	f.lineLen = len(name) + 1
	return f
}

// words appends s, breaking before any whitespace run as needed. A run of
// whitespace stays with the word after it: a continuation line of only
// whitespace is not allowed (RFC 5322 section 3.2.2).
func (f *folder) words(s string) {
	if s != "" && s[0] != ' ' {
		s = " " + s
	}
	for s != "" {
		i := 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
		for i < len(s) && s[i] != ' ' {
			i++
		}
		chunk := s[:i]
		s = s[i:]
		if f.lineLen+len(chunk) > foldAt && !f.first && chunk[len(chunk)-1] != ' ' {
			f.b.WriteString("\r\n")
			f.lineLen = 0
		}
		f.write(chunk)
	}
}

// unit appends " "+s on the current line if it fits, else on a new line if
// it fits there, else folded inside.
func (f *folder) unit(s string) {
	s = " " + s
	switch {
	case f.lineLen+len(s) <= foldAt:
		f.write(s)
	case len(s) <= foldAt && !f.first:
		f.b.WriteString("\r\n")
		f.lineLen = 0
		f.write(s)
	default:
		f.words(s)
	}
}

func (f *folder) write(s string) {
	f.b.WriteString(s)
	f.lineLen += len(s)
	f.first = false
}

// done ends the field and checks the hard limit on every line.
func (f *folder) done() (string, error) {
	f.b.WriteString("\r\n")
	out := f.b.String()
	for line := range strings.SplitSeq(out, "\r\n") {
		if len(line) > maxLineLen {
			return "", errHeaderLong
		}
	}
	return out, nil
}

// EncodeHeaderText returns s as an RFC 5322 unstructured field body: as is
// when it is printable ASCII, otherwise as RFC 2047 encoded words that
// foldField can fold between. ASCII text containing "=?" is encoded too, or a
// reader would decode what only looks like an encoded word.
func EncodeHeaderText(s string) string {
	if !strings.Contains(s, "=?") && isPrintableASCII(s) {
		return s
	}
	return qWords(s, false)
}

// qWords encodes s as "Q" encoded words (RFC 2047 section 4.2) of at most 75
// characters each (section 2), never splitting a UTF-8 sequence (section 5
// rule 3). Readers drop the whitespace between adjacent encoded words
// (section 6.2), so the split adds nothing to the text. In a phrase (a
// display name) only letters, digits and "!*+-/" may stay unencoded
// (section 5 rule 3); in unstructured text any printable character but
// "=", "?" and "_" may.
func qWords(s string, phrase bool) string {
	const prefix, suffix = "=?utf-8?q?", "?="
	const room = 75 - len(prefix) - len(suffix)
	var b strings.Builder
	b.Grow(len(s)*3 + 16)
	b.WriteString(prefix)
	used := 0
	var enc [utf8.UTFMax * 3]byte
	for _, r := range s {
		var rb [utf8.UTFMax]byte
		n := utf8.EncodeRune(rb[:], r)
		e := enc[:0]
		for _, c := range rb[:n] {
			switch {
			case c == ' ':
				e = append(e, '_')
			case phrase && qPhraseSafe(c), !phrase && c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_':
				e = append(e, c)
			default:
				e = append(e, '=', upperHex[c>>4], upperHex[c&15])
			}
		}
		if used+len(e) > room {
			b.WriteString(suffix + " " + prefix)
			used = 0
		}
		b.Write(e)
		used += len(e)
	}
	b.WriteString(suffix)
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func qPhraseSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!*+-/", c) >= 0
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
