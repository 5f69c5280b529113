package tracking

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/id"
)

var testKey = newTokenKey(bytes.Repeat([]byte{7}, 32))

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	org, cmp, con := id.New("org"), id.New("cmp"), id.New("con")
	tests := []Token{
		{Kind: KindOpen, OrgID: org, CampaignID: cmp, ContactID: con, IssuedAt: at},
		{Kind: KindClick, OrgID: org, CampaignID: cmp, ContactID: con, Link: 300, IssuedAt: at},
		{Kind: KindUnsubscribe, OrgID: org, CampaignID: cmp, ContactID: con, ListID: id.New("lst"), IssuedAt: at},
		{Kind: KindUnsubscribe, OrgID: org, CampaignID: "legacy-42", ContactID: "c:9", ListID: "", IssuedAt: at},
		{Kind: KindClick, OrgID: "org_NOT-canonical", CampaignID: "x_0123456789abcdefghjkmnpqrs", ContactID: con, IssuedAt: epoch},
	}
	for _, want := range tests {
		s := sign(testKey, want)
		if limit := map[Kind]int{KindOpen: 110, KindClick: 112, KindUnsubscribe: 140}[want.Kind]; len(s) > limit && strings.HasPrefix(want.CampaignID, "cmp_") {
			t.Errorf("%v token is %d characters: not compact", want.Kind, len(s))
		}
		p, err := parse(s)
		if err != nil || !p.verify(testKey) {
			t.Fatalf("%+v: parse %v, verified %v", want, err, err == nil && p.verify(testKey))
		}
		if p.Token != want {
			t.Errorf("round trip:\n got %+v\nwant %+v", p.Token, want)
		}
		if strings.ContainsAny(s, "+/=") {
			t.Errorf("token %q is not base64url without padding", s)
		}
	}
}

func TestTokenTamperedIsRefused(t *testing.T) {
	t.Parallel()
	tok := sign(testKey, Token{Kind: KindClick, OrgID: id.New("org"), CampaignID: id.New("cmp"), ContactID: id.New("con"), Link: 1, IssuedAt: time.Now()})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	// Every single-bit change anywhere: the payload (another link, another
	// contact, another kind) or the MAC.
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			p, err := parse(base64.RawURLEncoding.EncodeToString(b))
			if err == nil && p.verify(testKey) {
				t.Fatalf("byte %d bit %d flipped still verifies", i, bit)
			}
		}
	}
	for name, s := range map[string]string{
		"empty": "", "truncated": tok[:len(tok)-3], "padded": tok + "==", "standard base64 alphabet": tok[:len(tok)-1] + "+",
		"extended": tok + "AA", "huge": strings.Repeat("A", MaxTokenLen+1), "not base64": "!!!",
	} {
		if p, err := parse(s); err == nil && p.verify(testKey) {
			t.Errorf("%s token verified", name)
		}
	}
	p, _ := parse(tok)
	if p.verify(newTokenKey(bytes.Repeat([]byte{8}, 32))) {
		t.Error("verified under another organization's key")
	}
}

func TestPackedIDsAreCanonical(t *testing.T) {
	t.Parallel()
	// Ids that look like carepost ids but are not canonical travel raw
	// and come back byte for byte.
	for _, s := range []string{"org_01JD8X3K9W0000000000000000", "org_z1jd8x3k9w0000000000000000", "o_0123", "a_" + strings.Repeat("0", 26), id.New("tpl")} {
		b := putID(nil, s)
		r := reader{b: b}
		if got := r.id(); got != s || r.err || len(r.b) != 0 {
			t.Errorf("%q came back as %q (err %v)", s, got, r.err)
		}
	}
	if !errors.Is(ErrInvalid, ErrInvalid) || validID(strings.Repeat("a", 128)) || validID("a b") || validID("a@b") {
		t.Error("validID accepts what tokens cannot carry")
	}
}

// FuzzParse feeds the token parser arbitrary input: it must never panic,
// and what it accepts must re-sign to the same payload.
func FuzzParse(f *testing.F) {
	f.Add(sign(testKey, Token{Kind: KindOpen, OrgID: "org_01jd8x3k9w0000000000000000", CampaignID: "cmp_01jd8x3k9w0000000000000001", ContactID: "con_x", IssuedAt: epoch}))
	f.Add(sign(testKey, Token{Kind: KindUnsubscribe, OrgID: "o", CampaignID: "c", ContactID: "k", ListID: "lst_01jd8x3k9w0000000000000002", IssuedAt: epoch}))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parse(s)
		if err != nil {
			return
		}
		again := sign(testKey, p.Token)
		q, err := parse(again)
		if err != nil || q.Token != p.Token {
			t.Fatalf("%q parsed to %+v, which does not survive signing: %+v %v", s, p.Token, q.Token, err)
		}
	})
}

// TestPooledMACIsHMACSHA256: the pooled, reused MAC states compute exactly
// HMAC-SHA256(key, macInfo || payload), truncated, so tokens minted before
// the pool (in mail already delivered) still verify — also when states are
// reused concurrently.
func TestPooledMACIsHMACSHA256(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	want := func(payload []byte) []byte {
		m := hmac.New(sha256.New, raw)
		m.Write(macInfo)
		m.Write(payload)
		return m.Sum(nil)[:macLen]
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				payload := []byte(fmt.Sprintf("payload %d/%d", g, i))
				if got := testKey.mac([]byte("prefix"), payload); !bytes.Equal(got[6:], want(payload)) || string(got[:6]) != "prefix" {
					t.Errorf("mac(%q) = %x, want prefix + %x", payload, got, want(payload))
					return
				}
			}
		}()
	}
	wg.Wait()
}
