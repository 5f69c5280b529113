package tracking

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// Kind is what a token is for. A token of one kind is refused where
// another is expected: an open token cannot click, a click token cannot
// unsubscribe.
type Kind uint8

// The token kinds.
const (
	KindOpen        Kind = 1
	KindClick       Kind = 2
	KindUnsubscribe Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindOpen:
		return "open"
	case KindClick:
		return "click"
	case KindUnsubscribe:
		return "unsubscribe"
	}
	return "unknown"
}

// Token is what a tracking link carries: identifiers only. No PHI and no
// URL: a click names its link by index in the campaign's link table.
type Token struct {
	Kind       Kind
	OrgID      string
	CampaignID string // the campaign, or the message, whose link table and report it belongs to
	ContactID  string
	Link       int    // KindClick: the index in the link table
	ListID     string // KindUnsubscribe: the list to leave; "" is all marketing mail
	IssuedAt   time.Time
}

// The token format (version 1), before base64url without padding:
//
//	byte     version << 4 | kind
//	id       org, campaign, contact (packed, see putID)
//	uvarint  link index (click) | id list (unsubscribe) | nothing (open)
//	uvarint  issue time, seconds since 2020-01-01 UTC
//	16 bytes HMAC-SHA256(org key, "carepost-tracking" || 0 || all the above), truncated
//
// 128 bits of MAC are far beyond what an attacker can forge online (NIST
// SP 800-107 section 5.3.4 allows truncation to 64 bits and more), and
// keep a token to about 110 characters.
const (
	tokenVersion = 1
	macLen       = 16
	// MaxTokenLen bounds what the parser reads.
	MaxTokenLen = 512
)

var (
	epoch   = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	macInfo = []byte("carepost-tracking\x00")
)

// ErrInvalid is every reason a token is refused: malformed, wrong kind,
// unknown organization, bad MAC. Callers cannot tell them apart, by
// design (and answer 404).
var ErrInvalid = errors.New("tracking: invalid token")

// sign returns the token string for t under key.
func sign(key *tokenKey, t Token) string {
	b := make([]byte, 0, 96)
	b = append(b, tokenVersion<<4|byte(t.Kind))
	b = putID(b, t.OrgID)
	b = putID(b, t.CampaignID)
	b = putID(b, t.ContactID)
	switch t.Kind {
	case KindClick:
		b = binary.AppendUvarint(b, uint64(t.Link))
	case KindUnsubscribe:
		b = putID(b, t.ListID)
	}
	secs := t.IssuedAt.Sub(epoch) / time.Second
	b = binary.AppendUvarint(b, uint64(max(secs, 0)))
	b = key.mac(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenKey is one organization's token key, ready to MAC with. A message
// carries several tokens (the open pixel, every link, the unsubscribe
// address and its header), and a fresh HMAC per token hashed the padded
// key twice before the token's own bytes; keyed states are pooled instead
// and reused (hmac's Reset returns to the keyed state without hashing the
// key again), safe for concurrent issuers.
type tokenKey struct{ pool sync.Pool }

func newTokenKey(key []byte) *tokenKey {
	key = bytes.Clone(key)
	t := &tokenKey{}
	t.pool.New = func() any { return hmac.New(sha256.New, key) }
	return t
}

// mac appends the truncated HMAC-SHA256 of macInfo and payload to dst.
func (t *tokenKey) mac(dst, payload []byte) []byte {
	m := t.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(macInfo)
	m.Write(payload)
	var sum [sha256.Size]byte
	dst = append(dst, m.Sum(sum[:0])[:macLen]...)
	t.pool.Put(m)
	return dst
}

// parsed is a token read but not yet verified: the organization id is
// needed to find the key that verifies it.
type parsed struct {
	Token
	payload, mac []byte
}

// parse reads a token's fields without trusting them.
func parse(s string) (parsed, error) {
	if len(s) == 0 || len(s) > MaxTokenLen {
		return parsed{}, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < 1+macLen {
		return parsed{}, ErrInvalid
	}
	p := parsed{payload: raw[:len(raw)-macLen], mac: raw[len(raw)-macLen:]}
	r := reader{b: p.payload}
	head := r.byte()
	if head>>4 != tokenVersion {
		return parsed{}, ErrInvalid
	}
	p.Kind = Kind(head & 0x0f)
	p.OrgID, p.CampaignID, p.ContactID = r.id(), r.id(), r.id()
	switch p.Kind {
	case KindOpen:
	case KindClick:
		n := r.uvarint()
		if n > 1<<31 {
			r.fail()
		}
		p.Link = int(n)
	case KindUnsubscribe:
		p.ListID = r.id()
	default:
		r.fail()
	}
	secs := r.uvarint()
	if r.err || len(r.b) != 0 || p.OrgID == "" || p.CampaignID == "" || p.ContactID == "" || secs > 1<<40 {
		return parsed{}, ErrInvalid
	}
	p.IssuedAt = epoch.Add(time.Duration(secs) * time.Second)
	return p, nil
}

// verify checks the MAC with the organization's key, in constant time.
func (p parsed) verify(key *tokenKey) bool {
	return hmac.Equal(p.mac, key.mac(nil, p.payload))
}

type reader struct {
	b   []byte
	err bool
}

func (r *reader) fail() { r.err, r.b = true, nil }

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}
