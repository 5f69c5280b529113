package message

import (
	"bytes"
	"errors"
	"strings"
)

// ErrMalformedHeader is returned for a header section that is not a sequence
// of "name: value" fields with continuation lines (RFC 5322 section 2.2).
var ErrMalformedHeader = errors.New("message header is malformed")

// HeaderField is one field of a raw message's header, in the order it
// appears.
type HeaderField struct {
	// Name as written, without trailing whitespace.
	Name string
	// Value is the field body unfolded (RFC 5322 section 2.2.3: CRLF before
	// whitespace removed) and trimmed, still encoded (RFC 2047 words stay).
	Value string
	// Raw is the field exactly as in the message, line endings included.
	Raw []byte
}

// rawHeader is the header section of a raw message.
type rawHeader struct {
	fields    []HeaderField
	offsets   [][2]int // start and end of each field in the message
	bodyStart int      // offset of the body (after the blank line), or len(raw)
	eol       string   // the line ending the message uses: "\r\n" or "\n"
}

// parseRawHeader splits raw into header fields and the body without copying
// or re-encoding anything. A message without a blank line is all header.
// With limit > 0, a header section longer than limit octets is
// ErrHeaderTooLarge, found before the fields are collected.
func parseRawHeader(raw []byte, limit int) (*rawHeader, error) {
	h := &rawHeader{eol: "\r\n"}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 && (i == 0 || raw[i-1] != '\r') {
		h.eol = "\n"
	}
	if _, err := scanHeader(raw, limit, nil); err != nil {
		return nil, err
	}
	bodyStart, _ := scanHeader(raw, 0, func(start, end, colon int) bool {
		h.fields = append(h.fields, HeaderField{Name: string(bytes.TrimRight(raw[start:colon], " \t"))})
		h.offsets = append(h.offsets, [2]int{start, end})
		return true
	})
	h.bodyStart = bodyStart
	return h, nil
}

// scanHeader walks the header section of raw and returns where the body
// starts. For each complete field it calls field (when not nil) with the
// field's start and end offsets and the offset of its colon; field returns
// false to stop the walk early. Every line is a field ("name:" with an
// RFC 5322 section 2.2 name, whitespace before the colon allowed as
// obs-optional, section 4.5.8) or a continuation starting with SP or HTAB.
func scanHeader(raw []byte, limit int, field func(start, end, colon int) bool) (int, error) {
	cur, colon := -1, 0
	flush := func(end int) bool {
		if cur < 0 || field == nil {
			return true
		}
		return field(cur, end, colon)
	}
	pos := 0
	for pos < len(raw) {
		if limit > 0 && pos > limit {
			return 0, ErrHeaderTooLarge
		}
		end := bytes.IndexByte(raw[pos:], '\n')
		if end < 0 {
			end = len(raw)
		} else {
			end += pos + 1
		}
		line := raw[pos:end]
		switch {
		case isBlankLine(line):
			if limit > 0 && end > limit {
				return 0, ErrHeaderTooLarge
			}
			flush(pos)
			return end, nil
		case line[0] == ' ' || line[0] == '\t':
			if cur < 0 {
				return 0, ErrMalformedHeader
			}
		default:
			c := bytes.IndexByte(line, ':')
			if c < 0 || !validHeaderName(bytes.TrimRight(line[:c], " \t")) {
				return 0, ErrMalformedHeader
			}
			if !flush(pos) {
				return 0, nil
			}
			cur, colon = pos, pos+c
		}
		pos = end
	}
	flush(len(raw))
	return len(raw), nil
}

// finish fills in Value and Raw from the offsets.
func (h *rawHeader) finish(raw []byte) []HeaderField {
	for i := range h.fields {
		f := raw[h.offsets[i][0]:h.offsets[i][1]]
		h.fields[i].Raw = f
		colon := bytes.IndexByte(f, ':')
		h.fields[i].Value = unfold(f[colon+1:])
	}
	return h.fields
}

func isBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// unfold removes the line breaks of a folded field body and trims it.
func unfold(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			sb.WriteByte(c)
		}
	}
	return strings.Trim(sb.String(), " \t")
}

// HeaderFields returns the header fields of a raw message.
func HeaderFields(raw []byte) ([]HeaderField, error) {
	h, err := parseRawHeader(raw, 0)
	if err != nil {
		return nil, err
	}
	return h.finish(raw), nil
}

// SetHeader returns raw with the first field called name (case-insensitive)
// replaced by "name: value" and any further ones removed, or with the field
// prepended when there is none. value must be printable ASCII: encode text
// with EncodeHeaderText first. Everything else, header and body, is kept
// byte for byte, so signatures over it (and the body's transfer encoding)
// are untouched; long values are folded like Build's.
func SetHeader(raw []byte, name, value string) ([]byte, error) {
	return editHeader(raw, name, value, true, true)
}

// PrependHeader returns raw with "name: value" added as the first field
// (where trace and signature fields go, RFC 5321 section 4.4 and RFC 6376
// section 5.6), leaving everything else byte for byte.
func PrependHeader(raw []byte, name, value string) ([]byte, error) {
	return editHeader(raw, name, value, false, true)
}

// RemoveHeader returns raw without any field called name (case-insensitive),
// leaving everything else byte for byte.
func RemoveHeader(raw []byte, name string) ([]byte, error) {
	return editHeader(raw, name, "", true, false)
}

// editHeader is SetHeader (replace, add), PrependHeader (add) and
// RemoveHeader (replace with nothing). Fields always end in a line break or
// at the end of the message, and a new field only ever goes at the top or in
// place of an old one, so splicing cannot join two fields.
func editHeader(raw []byte, name, value string, replace, add bool) ([]byte, error) {
	if err := checkHeaderName(name); err != nil {
		return nil, err
	}
	if hasControl(value) {
		return nil, errHeaderControl
	}
	if !isASCII(value) {
		return nil, errHeaderASCII
	}
	h, err := parseRawHeader(raw, 0)
	if err != nil {
		return nil, err
	}
	var newField []byte
	if add {
		s, err := foldField(name, value)
		if err != nil {
			return nil, err
		}
		if h.eol == "\n" {
			s = strings.ReplaceAll(s, "\r\n", "\n") // keep the message's own line endings
		}
		newField = []byte(s)
	}
	var matches [][2]int
	if replace {
		for i, f := range h.fields {
			if strings.EqualFold(f.Name, name) {
				matches = append(matches, h.offsets[i])
			}
		}
	}
	out := make([]byte, 0, len(raw)+len(newField))
	if len(matches) == 0 {
		out = append(out, newField...)
		return append(out, raw...), nil
	}
	pos := 0
	for i, m := range matches {
		out = append(out, raw[pos:m[0]]...)
		if i == 0 {
			out = append(out, newField...)
		}
		pos = m[1]
	}
	return append(out, raw[pos:]...), nil
}
