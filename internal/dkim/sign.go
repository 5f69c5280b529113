package dkim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carepost/carepost/internal/message"
)

// Algorithm is a DKIM signing algorithm (RFC 6376 section 3.3, RFC 8463).
type Algorithm string

const (
	RSASHA256     Algorithm = "rsa-sha256"
	Ed25519SHA256 Algorithm = "ed25519-sha256"
)

// signedHeaders are the fields a signature covers when present (RFC 6376
// section 5.4.1 lists the ones that matter to a reader). DKIM-Signature
// itself and trace fields are never signed.
var signedHeaders = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post",
}

// SignedHeaders returns the fields a signature covers when they are present.
func SignedHeaders() []string { return append([]string(nil), signedHeaders...) }

// oversigned fields are listed in h= once more than they occur. A verifier
// matches h= entries to fields from the bottom up and an entry with no field
// left signs "no such field" (RFC 6376 section 5.4.2), so adding one more
// From anywhere - the appended-header attack, where a reader shows the
// added From while the verifier checked ours - breaks the signature, as does
// adding a List-Unsubscribe that would turn one-click unsubscribe (RFC 8058)
// into an attacker's URL.
var oversigned = map[string]bool{"from": true, "list-unsubscribe": true, "list-unsubscribe-post": true}

var (
	ErrNoKey       = errors.New("dkim: no key for the requested algorithm")
	ErrLineEndings = errors.New("dkim: message has a bare CR or LF; sign only CRLF messages")
	ErrFrom        = errors.New("dkim: message must have exactly one From field (RFC 5322 section 3.6)")
)

// Signer signs messages for one domain with one or more keys.
type Signer struct {
	domain string
	keys   []selectorKey
	// now is the signature time (t=); time.Now unless a test sets it.
	now func() time.Time
}

type selectorKey struct {
	alg      Algorithm
	selector string
	key      crypto.Signer
}

// NewSigner returns a Signer for domain using keys with the given
// algorithms, both by default (RFC 8463 section 4: dual signing lets
// verifiers without Ed25519 fall back on RSA). Signatures go on top in the
// order of algs.
func NewSigner(domain string, keys Keys, algs ...Algorithm) (*Signer, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	if len(algs) == 0 {
		algs = []Algorithm{RSASHA256, Ed25519SHA256}
	}
	s := &Signer{domain: d, now: time.Now}
	for _, a := range algs {
		switch {
		case a == RSASHA256 && keys.RSA != nil && keys.Selectors.RSA != "":
			s.keys = append(s.keys, selectorKey{a, keys.Selectors.RSA, keys.RSA})
		case a == Ed25519SHA256 && keys.Ed25519 != nil && keys.Selectors.Ed25519 != "":
			s.keys = append(s.keys, selectorKey{a, keys.Selectors.Ed25519, keys.Ed25519})
		default:
			return nil, fmt.Errorf("%w: %s", ErrNoKey, a)
		}
	}
	return s, nil
}

// Sign returns raw with one DKIM-Signature field per key prepended (RFC 6376
// section 5.6): relaxed/relaxed canonicalization (section 3.4, which
// survives the refolding and whitespace changes relays make), SHA-256, the
// signed fields present plus oversigning, no l= body length (a body length
// lets anyone append content under the signature) and a t= timestamp.
// raw must use CRLF line endings only: a bare LF would be "fixed" by some
// later hop and break the body hash.
//
// The message is in memory whole, so the body is canonicalized and hashed
// once for every key, in spans: only lines that relaxed canonicalization
// changes are copied (see bodyHash).
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	if l := message.ScanLines(raw); l.BareCR || l.BareLF {
		return nil, ErrLineEndings
	}
	fields, body, err := splitFields(raw)
	if err != nil {
		return nil, err
	}
	names := make(map[string]int, len(fields))
	for _, f := range fields {
		names[f.name]++
	}
	if names["from"] != 1 {
		return nil, ErrFrom
	}
	var keys []string
	for _, h := range signedHeaders {
		n := names[strings.ToLower(h)]
		if oversigned[strings.ToLower(h)] {
			n++
		}
		for i := 0; i < n; i++ {
			keys = append(keys, h)
		}
	}
	// The signed fields in h= order, each instance taken from the bottom up
	// (RFC 6376 section 5.4.2); an entry with none left adds nothing.
	var signed []byte
	used := make(map[string]int, len(keys))
	for _, k := range keys {
		lk := strings.ToLower(k)
		seen := 0
		for i := len(fields) - 1; i >= 0; i-- {
			if fields[i].name != lk {
				continue
			}
			if seen == used[lk] {
				signed = appendRelaxedHeader(signed, fields[i].raw)
				signed = append(signed, "\r\n"...)
				break
			}
			seen++
		}
		used[lk]++
	}
	bh := bodyHash(body)
	t := strconv.FormatInt(s.now().Unix(), 10)
	var out bytes.Buffer
	out.Grow(len(s.keys)*600 + len(raw))
	for _, k := range s.keys {
		field, width := s.fieldWithoutB(k, t, keys, bh)
		h := sha256.New()
		h.Write(signed)
		// The signature field itself, b= empty and without its CRLF
		// (RFC 6376 section 3.7).
		h.Write(appendRelaxedHeader(nil, field))
		digest := h.Sum(nil)
		var opts crypto.SignerOpts = crypto.SHA256
		if k.alg == Ed25519SHA256 {
			// RFC 8463 section 3: PureEdDSA over the SHA-256 hash.
			opts = crypto.Hash(0)
		}
		sig, err := k.key.Sign(rand.Reader, digest, opts)
		if err != nil {
			return nil, fmt.Errorf("dkim: sign with %s: %w", k.alg, err)
		}
		out.Write(field)
		foldB(&out, base64.StdEncoding.EncodeToString(sig), width)
		out.WriteString("\r\n")
	}
	out.Write(raw)
	return out.Bytes(), nil
}

// fieldWithoutB is the DKIM-Signature field up to its empty b= tag, folded
// at tag boundaries and h= colons so no line passes 78 characters (RFC 5322
// section 2.1.1). Folding only replaces a space that is there anyway or
// sits where the grammar allows whitespace (around h='s colons, RFC 6376
// section 3.5), and the hash covers exactly these bytes canonicalized. It
// returns the field and the length of its last line.
func (s *Signer) fieldWithoutB(k selectorKey, t string, keys []string, bh string) ([]byte, int) {
	tags := []string{"v=1;", "a=" + string(k.alg) + ";", "c=relaxed/relaxed;", "d=" + s.domain + ";",
		"s=" + k.selector + ";", "t=" + t + ";"}
	var b []byte
	b = append(b, "DKIM-Signature:"...)
	line := len(b)
	put := func(tok string, sep string) {
		if line+len(sep)+len(tok) > 78 {
			b = append(b, "\r\n "...)
			line = 1
		} else {
			b = append(b, sep...)
			line += len(sep)
		}
		b = append(b, tok...)
		line += len(tok)
	}
	for _, tag := range tags {
		put(tag, " ")
	}
	for i, k := range keys {
		tok := k + ":"
		switch {
		case i == 0 && len(keys) == 1:
			tok = "h=" + k + ";"
		case i == 0:
			tok = "h=" + tok
		case i == len(keys)-1:
			tok = k + ";"
		}
		sep := ""
		if i == 0 {
			sep = " "
		}
		put(tok, sep)
	}
	put("bh="+bh+";", " ")
	put("b=", " ")
	return b, line
}

// foldB writes the signature's base64 after a line of used characters, in
// lines of at most 78; whitespace inside b= is ignored by verifiers (RFC
// 6376 section 3.5).
func foldB(out *bytes.Buffer, b64 string, used int) {
	const width = 76
	first := min(len(b64), max(width-used, 0))
	out.WriteString(b64[:first])
	for rest := b64[first:]; len(rest) > 0; {
		n := min(len(rest), width)
		out.WriteString("\r\n ")
		out.WriteString(rest[:n])
		rest = rest[n:]
	}
}

// field is one header field: its lower-case name and its raw bytes (folded
// lines included, final CRLF excluded).
type field struct {
	name string
	raw  []byte
}

// splitFields splits a CRLF message into its header fields and its body
// (everything after the empty line; none when there is no empty line).
func splitFields(raw []byte) ([]field, []byte, error) {
	var fields []field
	for len(raw) > 0 {
		end := bytes.Index(raw, []byte("\r\n"))
		if end < 0 {
			end = len(raw)
		}
		line := raw[:end]
		next := raw[min(end+2, len(raw)):]
		if len(line) == 0 {
			return fields, next, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				return nil, nil, errors.New("dkim: malformed header line")
			}
			f := &fields[len(fields)-1]
			f.raw = f.raw[:len(f.raw)+2+len(line)] // the continuation, in place
		} else {
			name, _, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return nil, nil, errors.New("dkim: malformed header line")
			}
			fields = append(fields, field{name: strings.ToLower(strings.TrimRight(string(name), " \t")), raw: line})
		}
		raw = next
	}
	return fields, nil, nil
}

// appendRelaxedHeader appends the relaxed canonical form of one header
// field (RFC 6376 section 3.4.2): the name in lower case without trailing
// whitespace, the value unfolded, runs of whitespace as one space, none at
// its start or end. No CRLF is appended.
func appendRelaxedHeader(dst, f []byte) []byte {
	name, value, ok := bytes.Cut(f, []byte(":"))
	name = bytes.TrimRight(name, " \t")
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	if !ok {
		return append(dst, ':')
	}
	dst = append(dst, ':')
	space := false
	wrote := false
	for _, c := range value {
		switch c {
		case ' ', '\t', '\r', '\n':
			space = true
		default:
			if space && wrote {
				dst = append(dst, ' ')
			}
			space, wrote = false, true
			dst = append(dst, c)
		}
	}
	return dst
}

// bodyHash is bh=: SHA-256 over the body's relaxed canonical form (RFC 6376
// section 3.4.4), base64. Each line loses its trailing whitespace and has
// its runs of whitespace reduced to one space; empty lines at the end are
// dropped; a body with content ends in exactly one CRLF, an empty one hashes
// nothing. body is CRLF-only (Sign checks). Unchanged lines are hashed
// straight from body in contiguous spans; only a line canonicalization
// changes is copied, into a scratch buffer.
func bodyHash(body []byte) string {
	bh := bodyHashers.Get().(*bodyHasher)
	defer func() {
		// The pooled hasher keeps no message text: no reference to the
		// body, and its scratch line zeroed.
		bh.body = nil
		clear(bh.scratch[:cap(bh.scratch)])
		bodyHashers.Put(bh)
	}()
	bh.h.Reset()
	bh.start, bh.end = 0, 0
	bh.body = body
	empties := 0 // empty lines not yet written: only content after them does
	// emptiesRaw: each of those lines is a bare CRLF in body, so they are
	// hashed in place with the span; a line of only whitespace is not.
	emptiesRaw := true
	for pos := 0; pos < len(body); {
		end := bytes.Index(body[pos:], []byte("\r\n"))
		terminated := end >= 0
		if !terminated {
			end = len(body) - pos
		}
		end += pos
		line := body[pos:end]
		next := end + 2
		if !terminated {
			next = len(body)
		}
		if clean(line) {
			if len(line) == 0 {
				empties++
				pos = next
				continue
			}
			bh.crlfs(empties, pos, emptiesRaw)
			empties, emptiesRaw = 0, true
			if terminated {
				bh.span(pos, next)
			} else {
				bh.span(pos, end)
				bh.bytes([]byte("\r\n"))
			}
		} else {
			bh.scratch = appendRelaxedLine(bh.scratch[:0], line)
			if len(bh.scratch) == 0 {
				empties, emptiesRaw = empties+1, false
				pos = next
				continue
			}
			bh.crlfs(empties, pos, emptiesRaw)
			empties, emptiesRaw = 0, true
			bh.bytes(append(bh.scratch, '\r', '\n'))
		}
		pos = next
	}
	bh.flush()
	return base64.StdEncoding.EncodeToString(bh.h.Sum(nil))
}

// clean reports whether relaxed canonicalization leaves line as it is: no
// tab, no run of spaces, no trailing space.
func clean(line []byte) bool {
	if len(line) > 0 && line[len(line)-1] == ' ' {
		return false
	}
	if bytes.IndexByte(line, '\t') >= 0 {
		return false
	}
	return !bytes.Contains(line, []byte("  "))
}

// appendRelaxedLine appends one body line in relaxed form (no CRLF).
func appendRelaxedLine(dst, line []byte) []byte {
	space := false
	for _, c := range line {
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// bodyHasher feeds the hash with spans of the body, merging adjacent ones.
type bodyHasher struct {
	h          hash.Hash
	body       []byte
	start, end int // the span of body not yet hashed
	scratch    []byte
}

var bodyHashers = sync.Pool{New: func() any { return &bodyHasher{h: sha256.New()} }}

// span adds body[from:to]; it extends the pending span when adjacent.
func (b *bodyHasher) span(from, to int) {
	if from != b.end || b.start == b.end {
		b.flush()
		b.start = from
	}
	b.end = to
}

// crlfs adds n empty lines that end just before body offset at: in place
// when they are bare CRLFs there (raw), else written out.
func (b *bodyHasher) crlfs(n, at int, raw bool) {
	if n == 0 {
		return
	}
	if raw {
		b.span(at-2*n, at)
		return
	}
	for range n {
		b.bytes([]byte("\r\n"))
	}
}

func (b *bodyHasher) bytes(p []byte) {
	b.flush()
	b.h.Write(p)
}

func (b *bodyHasher) flush() {
	if b.end > b.start {
		b.h.Write(b.body[b.start:b.end])
	}
	b.start, b.end = 0, 0
}
