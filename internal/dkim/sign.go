package dkim

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"

	msgauth "github.com/emersion/go-msgauth/dkim"

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
}

type selectorKey struct {
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
	s := &Signer{domain: d}
	for _, a := range algs {
		switch {
		case a == RSASHA256 && keys.RSA != nil && keys.Selectors.RSA != "":
			s.keys = append(s.keys, selectorKey{keys.Selectors.RSA, keys.RSA})
		case a == Ed25519SHA256 && keys.Ed25519 != nil && keys.Selectors.Ed25519 != "":
			s.keys = append(s.keys, selectorKey{keys.Selectors.Ed25519, keys.Ed25519})
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
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	names, err := headerNames(raw)
	if err != nil {
		return nil, err
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
	var sigs strings.Builder
	for _, k := range s.keys {
		sig, err := msgauth.NewSigner(&msgauth.SignOptions{
			Domain:                 s.domain,
			Selector:               k.selector,
			Signer:                 k.key,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: msgauth.CanonicalizationRelaxed,
			BodyCanonicalization:   msgauth.CanonicalizationRelaxed,
			HeaderKeys:             keys,
		})
		if err != nil {
			return nil, fmt.Errorf("dkim: signer: %w", err)
		}
		if _, err := sig.Write(raw); err != nil {
			_ = sig.Close()
			return nil, fmt.Errorf("dkim: sign: %w", err)
		}
		if err := sig.Close(); err != nil {
			return nil, fmt.Errorf("dkim: sign: %w", err)
		}
		sigs.WriteString(sig.Signature())
	}
	out := make([]byte, 0, sigs.Len()+len(raw))
	out = append(out, sigs.String()...)
	return append(out, raw...), nil
}

// headerNames checks the line endings of raw and counts its header fields
// by lower-case name.
func headerNames(raw []byte) (map[string]int, error) {
	if l := message.ScanLines(raw); l.BareCR || l.BareLF {
		return nil, ErrLineEndings
	}
	names := make(map[string]int)
	for len(raw) > 0 {
		line, rest, _ := bytes.Cut(raw, []byte("\r\n"))
		raw = rest
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, errors.New("dkim: malformed header line")
		}
		names[strings.ToLower(strings.TrimRight(string(name), " \t"))]++
	}
	return names, nil
}
