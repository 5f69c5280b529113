package e2e

import (
	"bytes"
	"errors"
	"strings"

	"github.com/carepost/carepost/internal/message"
)

// DefaultNeutralSubject is the outer Subject of a protected message, as
// draft-autocrypt-lamps-protected-headers section 4.1 suggests.
const DefaultNeutralSubject = "..."

// ErrNeutralSubject refuses a neutral subject that is not printable ASCII:
// it is written into a header as is.
var ErrNeutralSubject = errors.New("the neutral subject must be 1 to 200 printable ASCII characters")

// ErrNoHeader refuses input that has no header section: it is not a
// message, and encrypting it would produce one without From or Date.
var ErrNoHeader = errors.New("the message has no header fields")

// Envelope is a message split for end-to-end encryption.
type Envelope struct {
	// Outer is the header that stays in the clear: the fields listed in the
	// package documentation and the neutral Subject, CRLF-terminated,
	// without MIME-Version or Content-* fields.
	Outer []byte
	// Inner is the MIME entity to encrypt: the message's header fields
	// (protected headers), its Content-* fields with protected-headers="v1"
	// added to Content-Type, a blank line and the body, in CRLF form.
	Inner []byte
}

// outerFields stay outside (canonical lower-case names); fields starting
// with "resent-" or "list-" do too.
var outerFields = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "reply-to": true,
	"date": true, "message-id": true, "in-reply-to": true, "references": true,
	"received": true, "return-path": true, "auto-submitted": true, "precedence": true,
}

// droppedFields are transport traces and signatures over the old body:
// neither outside nor inside.
var droppedFields = map[string]bool{
	"received": true, "return-path": true, "dkim-signature": true, "arc-seal": true,
	"arc-message-signature": true, "arc-authentication-results": true, "authentication-results": true,
	"mime-version": true, "bcc": true,
}

// Split divides raw into the outer header and the inner entity. neutral is
// the outer Subject; empty means DefaultNeutralSubject.
func Split(raw []byte, neutral string) (Envelope, error) {
	if neutral == "" {
		neutral = DefaultNeutralSubject
	}
	if err := CheckNeutralSubject(neutral); err != nil {
		return Envelope{}, err
	}
	raw = Canonical(raw)
	fields, err := message.HeaderFields(raw)
	if err != nil {
		return Envelope{}, err
	}
	if len(fields) == 0 {
		return Envelope{}, ErrNoHeader
	}
	off := 0
	for _, f := range fields {
		off += len(f.Raw)
	}
	body := raw[off:]
	body = bytes.TrimPrefix(body, []byte("\r\n")) // the blank line
	var outer, protected, content bytes.Buffer
	subjectDone := false
	for _, f := range fields {
		name := strings.ToLower(f.Name)
		fr := terminated(f.Raw)
		switch {
		case strings.HasPrefix(name, "content-"):
			if name == "content-type" {
				fr = markProtected(fr, f.Value)
			}
			content.Write(fr)
			continue
		case name == "subject":
			if !subjectDone {
				outer.WriteString("Subject: " + neutral + "\r\n")
				subjectDone = true
			}
		case outerFields[name] || strings.HasPrefix(name, "resent-") || strings.HasPrefix(name, "list-"):
			outer.Write(fr)
		}
		if !droppedFields[name] {
			protected.Write(fr)
		}
	}
	if !subjectDone {
		outer.WriteString("Subject: " + neutral + "\r\n")
	}
	if content.Len() == 0 || !hasField(content.Bytes(), "content-type") {
		// RFC 2045 section 5.2: the default a missing Content-Type means.
		content.WriteString("Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n")
	}
	inner := make([]byte, 0, protected.Len()+content.Len()+2+len(body))
	inner = append(inner, protected.Bytes()...)
	inner = append(inner, content.Bytes()...)
	inner = append(inner, '\r', '\n')
	inner = append(inner, body...)
	return Envelope{Outer: outer.Bytes(), Inner: inner}, nil
}

// CheckNeutralSubject reports whether s may be the outer Subject.
func CheckNeutralSubject(s string) error {
	if s == "" || len(s) > 200 {
		return ErrNeutralSubject
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return ErrNeutralSubject
		}
	}
	return nil
}

// Wrap returns the outer message: e.Outer, MIME-Version, the given
// Content-* fields (CRLF-terminated), a blank line and body.
func (e Envelope) Wrap(contentFields string, body []byte) []byte {
	out := make([]byte, 0, len(e.Outer)+len(contentFields)+len(body)+24)
	out = append(out, e.Outer...)
	out = append(out, "MIME-Version: 1.0\r\n"...)
	out = append(out, contentFields...)
	out = append(out, '\r', '\n')
	return append(out, body...)
}

// markProtected adds protected-headers="v1" to a raw Content-Type field
// as a folded continuation line, unless it is there already.
func markProtected(field []byte, value string) []byte {
	if strings.Contains(strings.ToLower(value), "protected-headers") {
		return field
	}
	out := append([]byte(nil), bytes.TrimSuffix(field, []byte("\r\n"))...)
	out = bytes.TrimRight(out, "; \t\r\n")
	return append(out, ";\r\n protected-headers=\"v1\"\r\n"...)
}

func hasField(header []byte, lowerName string) bool {
	fs, err := message.HeaderFields(header)
	if err != nil {
		return false
	}
	for _, f := range fs {
		if strings.EqualFold(f.Name, lowerName) {
			return true
		}
	}
	return false
}

// terminated returns a field with a final CRLF (the last field of a
// message without a body may lack one).
func terminated(f []byte) []byte {
	if bytes.HasSuffix(f, []byte("\r\n")) {
		return f
	}
	return append(append([]byte(nil), f...), '\r', '\n')
}

// Canonical returns raw with every bare LF turned into CRLF, or raw itself
// when it has none.
func Canonical(raw []byte) []byte {
	bare := 0
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			bare++
		}
	}
	if bare == 0 {
		return raw
	}
	out := make([]byte, 0, len(raw)+bare)
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
