package senderdomain_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const testMessage = "From: Riverside Clinic <appointments@riverside.example>\r\n" +
	"To: Pat Doe <pat@patient.example>\r\n" +
	"Subject: Your appointment\r\n" +
	"Date: Fri, 14 Mar 2025 09:26:53 +0000\r\n" +
	"Message-ID: <signer.1@riverside.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"See you on Monday.\r\n"

// verifiedDomain adds riverside.example for org A, publishes its records
// and checks them.
func verifiedDomain(t *testing.T, e *env, s *senderdomain.Service) (senderdomain.Domain, []senderdomain.Record) {
	t.Helper()
	dom, recs := add(t, s, admin(e.orgA), "riverside.example")
	e.publish(recs)
	dom, _, err := s.Check(context.Background(), admin(e.orgA), dom.ID)
	if err != nil || dom.Status != senderdomain.StatusVerified {
		t.Fatalf("verify: %+v, %v", dom, err)
	}
	return dom, recs
}

// verify checks signed with go-msgauth, reading keys from the loopback DNS
// server through carepost's resolver.
func verify(t *testing.T, e *env, signed []byte) map[string]error {
	t.Helper()
	lookup := func(name string) ([]string, error) {
		txts, _, err := e.app.DNS.LookupTXT(context.Background(), name)
		return txts, err
	}
	vs, err := msgauth.VerifyWithOptions(bytes.NewReader(signed), &msgauth.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]error{}
	for _, v := range vs {
		if v.Domain != "riverside.example" {
			t.Fatalf("signature for %q", v.Domain)
		}
		out[selectorOf(t, signed, len(out))] = v.Err
	}
	return out
}

// selectorOf returns the s= of the i-th DKIM-Signature field.
func selectorOf(t *testing.T, signed []byte, i int) string {
	t.Helper()
	parts := strings.Split(string(signed), "DKIM-Signature:")
	if len(parts) < i+2 {
		t.Fatalf("no signature %d", i)
	}
	_, rest, _ := strings.Cut(parts[i+1], " s=")
	sel, _, _ := strings.Cut(rest, ";")
	return sel
}

func TestSignerDualSignsWithThePublishedKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, nil)
		s := e.app.Domains
		dom, recs := verifiedDomain(t, e, s)
		sig, err := s.Signer(ctx, e.orgA.ID, "riverside.example")
		if err != nil {
			t.Fatal(err)
		}
		signed, err := sig.Sign([]byte(testMessage))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(signed), "a=rsa-sha256") || !strings.Contains(string(signed), "a=ed25519-sha256") {
			t.Fatalf("not dual-signed:\n%s", signed[:len(signed)-len(testMessage)])
		}
		got := verify(t, e, signed)
		if len(got) != 2 || got[dom.Selectors.RSA] != nil || got[dom.Selectors.Ed25519] != nil {
			t.Fatalf("verification: %v", got)
		}

		// Each signature really depends on its own published key.
		ed := recordOf(t, recs, senderdomain.KindDKIMEd25519)
		e.dns.Remove(ed.Name, "TXT")
		got = verify(t, e, signed)
		if got[dom.Selectors.RSA] != nil || got[dom.Selectors.Ed25519] == nil {
			t.Fatalf("without the Ed25519 key: %v", got)
		}
		e.dns.AddTXT(ed.Name, ed.Value)

		// A data-key rotation re-encrypts the keys; signing goes on.
		rotateAndReencrypt(t, e, e.orgA.ID)
		sig2, err := s.Signer(ctx, e.orgA.ID, "riverside.example")
		if err != nil {
			t.Fatal(err)
		}
		signed2, err := sig2.Sign([]byte(testMessage))
		if err != nil {
			t.Fatal(err)
		}
		if got := verify(t, e, signed2); got[dom.Selectors.RSA] != nil || got[dom.Selectors.Ed25519] != nil {
			t.Fatalf("after re-encryption: %v", got)
		}

		// Deleted: no more signing, on this node at once.
		if err := s.Delete(ctx, admin(e.orgA), dom.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Signer(ctx, e.orgA.ID, "riverside.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("signer after delete: %v", err)
		}
	})
}

func rotateAndReencrypt(t *testing.T, e *env, org string) {
	t.Helper()
	ctx := context.Background()
	r0, err := store.SenderDomainByName(ctx, e.app.DB.Reader(), org, "riverside.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.DB.Tx(ctx, func(tx *store.Tx) error { _, err := e.app.Keys.Rotate(ctx, tx, org); return err }); err != nil {
		t.Fatal(err)
	}
	// The keyring caches the current version; a clock step past its TTL.
	e.clock.Advance(e.app.Config.Keys.CurrentTTL.Duration() * 2)
	if _, err := e.app.Keys.Reencrypt(ctx, org, 100); err != nil {
		t.Fatal(err)
	}
	r1, err := store.SenderDomainByName(ctx, e.app.DB.Reader(), org, "riverside.example")
	if err != nil {
		t.Fatal(err)
	}
	if r1.DEKVersion == r0.DEKVersion || bytes.Equal(r1.DKIMKeys, r0.DKIMKeys) {
		t.Fatalf("sender_domains was not re-encrypted: version %d -> %d", r0.DEKVersion, r1.DEKVersion)
	}
}

func TestSignerRefusesUnverifiedAndUnknownDomains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), nil)
	s := e.app.Domains
	add(t, s, admin(e.orgA), "pending.example")
	if _, err := s.Signer(ctx, e.orgA.ID, "pending.example"); !errors.Is(err, senderdomain.ErrNotVerified) {
		t.Fatalf("pending: %v", err)
	}
	if _, err := s.Signer(ctx, e.orgB.ID, "pending.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another organization's domain: %v", err)
	}
	if _, err := s.Signer(ctx, e.orgA.ID, "unknown.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestVerifiedMatchesTheExactDomainOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), nil)
	s := e.app.Domains
	verifiedDomain(t, e, s)
	add(t, s, admin(e.orgA), "pending.example")
	q := e.app.DB.Reader()
	for _, c := range []struct {
		org, domain string
		want        bool
	}{
		{e.orgA.ID, "riverside.example", true},
		{e.orgA.ID, "Riverside.Example", true}, // the same name, another spelling
		{e.orgA.ID, "mail.riverside.example", false},
		{e.orgA.ID, "example", false},
		{e.orgA.ID, "pending.example", false},
		{e.orgB.ID, "riverside.example", false},
		{e.orgA.ID, "not a domain", false},
	} {
		if got, err := s.Verified(ctx, q, c.org, c.domain); got != c.want || err != nil {
			t.Errorf("Verified(%s, %q) = %v, %v; want %v", c.org, c.domain, got, err, c.want)
		}
	}
}
