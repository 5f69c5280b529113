package message

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"mime"
	"slices"
	"strings"

	"github.com/carepost/carepost/internal/bufpool"
)

// field is one header field before folding: a value, or an address list
// folded between its items.
type field struct {
	name, value string
	list        []string
}

func (f field) fold() (string, error) {
	if f.list != nil {
		return foldList(f.name, f.list)
	}
	return foldField(f.name, f.value)
}

// part is a MIME entity to write: a leaf with an encoded body, or a
// multipart with children.
type part struct {
	header   []field
	body     []byte            // leaf: already transfer-encoded, CRLF line endings
	subtype  string            // multipart: "mixed", "alternative", "related", "report"
	params   map[string]string // multipart: Content-Type parameters besides the boundary
	children []*part
	boundary string
	// slot, when set, is where body came from in bodyPool, and where
	// release puts it back.
	slot *[]byte
}

// bodyPool holds the encoded bodies of text parts from one Build to the
// next: Build copies them into the message and has no use for them after
// (a campaign builds a message per contact, and these were an eighth of
// the bytes its path allocated).
var bodyPool = bufpool.New(1 << 20)

// release returns the pooled bodies of p and its children; p's bodies
// are not used after.
func (p *part) release() {
	if p.slot != nil {
		*p.slot = p.body
		bodyPool.Put(p.slot)
	}
	p.slot, p.body = nil, nil
	for _, c := range p.children {
		c.release()
	}
}

// BoundaryFunc returns the next multipart boundary. Build calls it once per
// multipart entity, outermost first; tests pass a counter so golden files are
// stable.
type BoundaryFunc func() string

// RandomBoundary is the default BoundaryFunc: "=_cp" and 24 random hex
// digits. "=_" never occurs in quoted-printable or base64 output, and every
// part Build writes is one of those, so the boundary cannot collide with
// content (RFC 2046 section 5.1.1).
func RandomBoundary() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "=_cp" + hex.EncodeToString(b[:])
}

var errBoundary = errors.New("boundary must be 1..70 RFC 2046 bchars not ending in a space, and must not occur in the content")

func multipart(subtype string, children ...*part) *part {
	return &part{subtype: subtype, children: children}
}

// textPart encodes s as quoted-printable UTF-8 text (encodeQP, which writes
// what mime/quotedprintable.Writer does). The quoted-printable writer turns every LF, CR and CRLF into CRLF (RFC 2045 section 6.7 rule 4)
// and keeps lines at 76 characters with soft breaks, so no bare CR or LF and
// no long line can come out of it whatever the input.
func textPart(subtype, s string) *part {
	slot := bodyPool.Get()
	body := encodeQP(slices.Grow((*slot)[:0], len(s)+len(s)/8), s)
	return &part{
		slot: slot,
		header: []field{
			{name: "Content-Type", value: "text/" + subtype + "; charset=utf-8"},
			{name: "Content-Transfer-Encoding", value: "quoted-printable"},
		},
		body: body,
	}
}

// assignBoundaries gives every multipart a boundary, outermost first, and
// its Content-Type header, then checks no boundary occurs in content.
func (p *part) assignBoundaries(next BoundaryFunc) error {
	if err := p.assign(next); err != nil {
		return err
	}
	return p.checkCollision(nil)
}

func (p *part) assign(next BoundaryFunc) error {
	if p.subtype == "" {
		return nil
	}
	p.boundary = next()
	if !validBoundary(p.boundary) {
		return errBoundary
	}
	params := map[string]string{"boundary": p.boundary}
	for k, v := range p.params {
		params[k] = v
	}
	p.header = []field{{name: "Content-Type", value: mime.FormatMediaType("multipart/"+p.subtype, params)}}
	for _, c := range p.children {
		if err := c.assign(next); err != nil {
			return err
		}
	}
	return nil
}

// checkCollision makes sure no enclosing boundary occurs inside a leaf body
// or starts a nested boundary (RFC 2046 section 5.1.1). With RandomBoundary
// neither happens.
func (p *part) checkCollision(outer []string) error {
	if p.subtype == "" {
		for _, b := range outer {
			if bytes.Contains(p.body, []byte("--"+b)) {
				return errBoundary
			}
		}
		return nil
	}
	for _, b := range outer {
		// A delimiter line of an inner multipart would match an outer
		// boundary that is its prefix.
		if strings.HasPrefix(p.boundary, b) {
			return errBoundary
		}
	}
	outer = append(outer, p.boundary)
	for _, c := range p.children {
		if err := c.checkCollision(outer); err != nil {
			return err
		}
	}
	return nil
}

// writeHeader writes p's MIME header fields (without the blank line).
func (p *part) writeHeader(buf *bytes.Buffer) error {
	for _, f := range p.header {
		s, err := f.fold()
		if err != nil {
			return err
		}
		buf.WriteString(s)
	}
	return nil
}

// writeBody writes p's body: the encoded bytes of a leaf, or each child
// between delimiter lines (RFC 2046 section 5.1.1), with no preamble and no
// epilogue. Every body ends without a line break: the CRLF before a
// delimiter belongs to the delimiter, and Build ends the message with one.
func (p *part) writeBody(buf *bytes.Buffer) error {
	if p.subtype == "" {
		buf.Write(p.body)
		return nil
	}
	for i, c := range p.children {
		if i > 0 {
			buf.WriteString("\r\n")
		}
		buf.WriteString("--" + p.boundary + "\r\n")
		if err := c.writeHeader(buf); err != nil {
			return err
		}
		buf.WriteString("\r\n")
		if err := c.writeBody(buf); err != nil {
			return err
		}
	}
	buf.WriteString("\r\n--" + p.boundary + "--")
	return nil
}

// validBoundary checks RFC 2046 section 5.1.1: 1..70 bchars, not ending in
// a space.
func validBoundary(b string) bool {
	if b == "" || len(b) > 70 || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') &&
			!strings.ContainsRune("'()+_,-./:=? ", rune(c)) {
			return false
		}
	}
	return true
}
