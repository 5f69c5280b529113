package message

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// BuildOptions are the parts of a message that do not come from the Draft.
type BuildOptions struct {
	// MessageID is the Message-ID, with or without angle brackets. Default: a
	// random id at Hostname, or at the From domain when Hostname is empty.
	MessageID string
	// Date is the origination date (RFC 5322 section 3.6.1). Default: now.
	Date time.Time
	// Hostname is the right-hand side of generated Message-IDs. Default: the
	// From domain, which keeps the id aligned with the DKIM signing domain.
	Hostname string
	// Boundary makes multipart boundaries. Default: RandomBoundary.
	Boundary BoundaryFunc
	// Limits are passed to Draft.ValidateWith; Limits.MaxSize also bounds
	// the built message.
	Limits ValidateOptions
	// Buffer, when given, is memory to build the message in: Build
	// appends to Buffer[:0], so the message it returns shares Buffer's
	// memory when it fits (a caller that lets its messages go reuses one
	// buffer for the next).
	Buffer []byte
}

// RFC 5322 section 3.3 date-time, with a numeric zone.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

var (
	errMessageID = errors.New("message id must be id-left@id-right of dot-atom text (RFC 5322 section 3.6.4)")
	errTooLarge  = errors.New("built message exceeds the size limit")
)

// Build validates d and renders it as an RFC 5322 message with MIME (RFC
// 2045-2049): CRLF line endings, no line over 998 octets, no bare CR or LF,
// quoted-printable UTF-8 text, base64 attachments, and no Bcc header. The
// structure is the smallest that carries the draft:
//
//	text or html only          text/plain | text/html
//	text and html              multipart/alternative
//	inline parts (with html)   the html becomes multipart/related{html, inline…}
//	attachments                multipart/mixed{body, attachment…}
//
// The output depends only on d and opts, so with a fixed Date, MessageID and
// Boundary it is byte-for-byte reproducible. Validation failures are
// FieldErrors.
func Build(d Draft, opts BuildOptions) ([]byte, error) {
	opts.Limits = opts.Limits.WithDefaults()
	if err := d.ValidateWith(opts.Limits); err != nil {
		return nil, err
	}
	from, _ := NormalizeAddress(d.From) // validated above
	msgID, err := messageID(opts, from)
	if err != nil {
		return nil, err
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	if opts.Boundary == nil {
		opts.Boundary = RandomBoundary
	}
	root := bodyTree(d)
	defer root.release()
	if err := root.assignBoundaries(opts.Boundary); err != nil {
		return nil, err
	}

	buf := bytes.NewBuffer(opts.Buffer[:0])
	buf.Grow(estimateSize(d))
	hdr := topHeader(d, from, date, msgID)
	for _, f := range hdr {
		s, err := f.fold()
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", f.name, err)
		}
		buf.WriteString(s)
	}
	if err := root.writeHeader(buf); err != nil {
		return nil, err
	}
	buf.WriteString("\r\n")
	if err := root.writeBody(buf); err != nil {
		return nil, err
	}
	// RFC 5321 section 4.1.1.4: message data ends in CRLF (the first one of
	// CRLF.CRLF); a single text part may already end in one.
	if root.subtype != "" || !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		buf.WriteString("\r\n")
	}
	out := buf.Bytes()
	if len(out) > opts.Limits.MaxSize {
		return nil, errTooLarge
	}
	// The rules above make these impossible; checking costs one pass
	// (Canonical's vectorized one) and turns a future bug into an error
	// instead of a malformed message.
	if !Canonical(out) {
		return nil, errors.New("message: internal error: built message breaks RFC 5322 line rules")
	}
	return out, nil
}

// topHeader lists the message header fields before the root part's MIME
// fields, in a fixed order.
func topHeader(d Draft, from Address, date time.Time, msgID string) []field {
	h := []field{{name: "From", value: from.String()}}
	if len(d.ReplyTo) > 0 {
		h = append(h, field{name: "Reply-To", list: addressList(d.ReplyTo)})
	}
	switch {
	case len(d.To) > 0:
		h = append(h, field{name: "To", list: addressList(d.To)})
	case len(d.Cc) == 0:
		// Only Bcc recipients: RFC 5322 section 3.6.3 suggests an empty
		// group so the message still has a destination field.
		h = append(h, field{name: "To", value: "undisclosed-recipients:;"})
	}
	if len(d.Cc) > 0 {
		h = append(h, field{name: "Cc", list: addressList(d.Cc)})
	}
	h = append(h,
		// Surrounding whitespace would not survive unfolding (RFC 5322
		// section 2.2.3) for ASCII subjects; trim it for all.
		field{name: "Subject", value: EncodeHeaderText(strings.TrimSpace(d.Subject))},
		field{name: "Date", value: date.Format(dateLayout)},
		field{name: "Message-ID", value: msgID},
		field{name: "MIME-Version", value: "1.0"},
	)
	for _, name := range sortedKeys(d.Headers) {
		canon, value, _ := checkCustomHeader(name, d.Headers[name]) // validated
		h = append(h, field{name: canon, value: value})
	}
	return h
}

// bodyTree arranges text, html and attachments into the MIME structure
// described on Build.
func bodyTree(d Draft) *part {
	var inline, attached []*part
	for _, a := range d.Attachments {
		if a.Inline && d.HTML != "" {
			inline = append(inline, attachmentPart(a, "inline"))
		} else if a.Inline {
			attached = append(attached, attachmentPart(a, "inline"))
		} else {
			attached = append(attached, attachmentPart(a, "attachment"))
		}
	}
	var body *part
	if d.HTML != "" {
		body = textPart("html", d.HTML)
		if len(inline) > 0 {
			// RFC 2387 section 3: the first part is the root the others
			// belong to, and the type parameter names its media type.
			body = multipart("related", append([]*part{body}, inline...)...)
			body.params = map[string]string{"type": "text/html"}
		}
		if d.Text != "" {
			// RFC 2046 section 5.1.4: alternatives in increasing order of
			// preference, so plain text first.
			body = multipart("alternative", textPart("plain", d.Text), body)
		}
	} else {
		body = textPart("plain", d.Text)
	}
	if len(attached) > 0 {
		body = multipart("mixed", append([]*part{body}, attached...)...)
	}
	return body
}

func addressList(l []Address) []string {
	s := make([]string, len(l))
	for i, a := range l {
		n, _ := NormalizeAddress(a) // validated
		s[i] = n.String()
	}
	return s
}

// messageID returns opts.MessageID in angle brackets, or a new random one:
// 128 random bits in base32 at the host name (RFC 5322 section 3.6.4 wants
// it globally unique; the randomness does that without a counter).
func messageID(opts BuildOptions, from Address) (string, error) {
	if id := opts.MessageID; id != "" {
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		if !validMsgID(id) {
			return "", errMessageID
		}
		return "<" + id + ">", nil
	}
	host := from.Domain()
	if opts.Hostname != "" {
		h, err := normalizeDomain(opts.Hostname)
		if err != nil {
			return "", fmt.Errorf("hostname: %w", err)
		}
		host = h
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	left := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return "<" + left + "@" + host + ">", nil
}

// validMsgID checks id-left "@" id-right, both dot-atom-text (the
// obsolete and literal forms are refused).
func validMsgID(id string) bool {
	left, right, ok := strings.Cut(id, "@")
	if !ok || len(id) > 250 {
		return false
	}
	return validDotAtom(left) && validDotAtom(right)
}

func validDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

func estimateSize(d Draft) int {
	n := 2048 + len(d.Text)*11/10 + len(d.HTML)*11/10
	for _, a := range d.Attachments {
		n += len(a.Content)*137/100 + 512
	}
	return n
}
