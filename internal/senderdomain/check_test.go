package senderdomain_test

import (
	"context"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

var fullRecords = dkim.RecordOptions{
	SPFIPs:    []string{"192.0.2.25"},
	DMARCRUA:  "dmarc@riverside.example",
	TLSRPTRUA: "tls-reports@riverside.example",
}

func TestAddPublishCheckVerifies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, nil)
		s := e.service(t, senderdomain.Options{Records: fullRecords})
		a := admin(e.orgA)
		dom, recs := add(t, s, a, "Mail.Riverside.Example.")
		if dom.Name != "mail.riverside.example" || dom.Status != senderdomain.StatusPending || dom.LastCheck != nil {
			t.Fatalf("added %+v", dom)
		}

		// The records carry exactly the generated keys.
		_, _, keys := e.storedKeys(t, e.orgA.ID, dom.ID)
		rsaP, edP := publicData(t, keys)
		wantNames := map[string]string{
			senderdomain.KindDKIMRSA:     keys.Selectors.RSA + "._domainkey.mail.riverside.example",
			senderdomain.KindDKIMEd25519: keys.Selectors.Ed25519 + "._domainkey.mail.riverside.example",
			senderdomain.KindSPF:         "mail.riverside.example",
			senderdomain.KindDMARC:       "_dmarc.mail.riverside.example",
			senderdomain.KindTLSRPT:      "_smtp._tls.mail.riverside.example",
		}
		for kind, name := range wantNames {
			if r := recordOf(t, recs, kind); r.Name != name || r.Type != "TXT" {
				t.Errorf("%s record at %s %s, want %s TXT", kind, r.Name, r.Type, name)
			}
		}
		if v := recordOf(t, recs, senderdomain.KindDKIMRSA).Value; !strings.HasSuffix(v, "p="+rsaP) || !strings.Contains(v, "k=rsa") {
			t.Errorf("RSA record %q does not carry the generated key", v)
		}
		if v := recordOf(t, recs, senderdomain.KindDKIMEd25519).Value; v != "v=DKIM1; k=ed25519; p="+edP {
			t.Errorf("Ed25519 record %q does not carry the generated key", v)
		}
		if again, err := s.Records(ctx, a, dom.ID); err != nil || len(again) != len(recs) || again[0].Value != recs[0].Value {
			t.Fatalf("Records after Add: %v, %v", again, err)
		}

		// Before anything is published: pending, every record missing.
		_, res, err := s.Check(ctx, a, dom.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.DKIMFound() || len(res.Checks) != 5 || byKind(res.Checks)[senderdomain.KindDKIMRSA].Status != senderdomain.Missing {
			t.Fatalf("check with nothing published: %+v", res)
		}
		if ok, _ := s.Verified(ctx, e.app.DB.Reader(), e.orgA.ID, "mail.riverside.example"); ok {
			t.Fatal("verified before anything was published")
		}

		e.publish(recs)
		dom, res, err = s.Check(ctx, a, dom.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Checks {
			if c.Status != senderdomain.Found {
				t.Errorf("%s %s: %s (%s)", c.Kind, c.Name, c.Status, c.Detail)
			}
		}
		if dom.Status != senderdomain.StatusVerified || dom.VerifiedBy != senderdomain.VerifiedByDNS || dom.VerifiedAt.IsZero() ||
			dom.LastCheck == nil || len(dom.LastCheck.Checks) != 5 || len(res.Warnings()) != 0 {
			t.Fatalf("after publishing: %+v, %+v", dom, res)
		}
		got, err := s.Get(ctx, a, dom.ID)
		if err != nil || got.Status != senderdomain.StatusVerified || got.LastCheck == nil || !got.LastCheck.At.Equal(res.At) {
			t.Fatalf("Get after verification: %+v, %v", got, err)
		}
		if ok, err := s.Verified(ctx, e.app.DB.Reader(), e.orgA.ID, "mail.riverside.example"); !ok || err != nil {
			t.Fatalf("Verified = %v, %v", ok, err)
		}
		if got := e.auditActions(t, e.orgA.ID); !strings.HasSuffix(got, "domain.add domain.check domain.check domain.verify") {
			t.Fatalf("audit chain: %s", got)
		}

		// A later failing check does not take the verification away.
		e.dns.Remove(wantNames[senderdomain.KindDKIMRSA], "TXT")
		dom, res, err = s.Check(ctx, a, dom.ID)
		if err != nil || dom.Status != senderdomain.StatusVerified || byKind(res.Checks)[senderdomain.KindDKIMRSA].Status != senderdomain.Missing {
			t.Fatalf("re-check without the RSA key: %+v %+v %v", dom, res, err)
		}
	})
}

func TestOneWrongDKIMRecordIsNamedAndDoesNotVerify(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	s := e.service(t, senderdomain.Options{Records: fullRecords})
	a := admin(e.orgA)
	dom, recs := add(t, s, a, "riverside.example")
	other, err := dkim.GenerateKeys("riverside.example")
	if err != nil {
		t.Fatal(err)
	}
	otherRecs, err := dkim.Records("riverside.example", other, fullRecords)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind == senderdomain.KindDKIMEd25519 {
			// Someone else's Ed25519 key, at our selector.
			e.dns.AddTXT(r.Name, otherRecs[1].Value)
			continue
		}
		e.dns.AddTXT(r.Name, r.Value)
	}
	dom, res, err := s.Check(context.Background(), a, dom.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := byKind(res.Checks)
	if dom.Status != senderdomain.StatusPending || res.DKIMFound() {
		t.Fatalf("verified with a wrong Ed25519 key: %+v", dom)
	}
	ed := c[senderdomain.KindDKIMEd25519]
	if ed.Status != senderdomain.Mismatch || !ed.Required || !strings.Contains(ed.Detail, "differs") {
		t.Fatalf("Ed25519 check %+v: want a named mismatch", ed)
	}
	if c[senderdomain.KindDKIMRSA].Status != senderdomain.Found {
		t.Fatalf("RSA check %+v", c[senderdomain.KindDKIMRSA])
	}
	if ok, _ := s.Verified(context.Background(), e.app.DB.Reader(), e.orgA.ID, "riverside.example"); ok {
		t.Fatal("Verified with a mismatching key")
	}
}

func TestMissingPoliciesAreWarningsOnly(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	// The App's service: no SPF configured, so none is listed either.
	s := e.app.Domains
	a := admin(e.orgA)
	dom, recs := add(t, s, a, "riverside.example")
	for _, r := range recs {
		if r.Kind == senderdomain.KindSPF {
			t.Fatalf("an SPF record was listed with no SPF sources configured: %v", r)
		}
		if r.Required() {
			e.dns.AddTXT(r.Name, r.Value)
		}
	}
	dom, res, err := s.Check(context.Background(), a, dom.ID)
	if err != nil {
		t.Fatal(err)
	}
	if dom.Status != senderdomain.StatusVerified {
		t.Fatalf("DKIM published but not verified: %+v", res)
	}
	warn := byKind(res.Warnings())
	if warn[senderdomain.KindSPF].Status != senderdomain.Missing || warn[senderdomain.KindDMARC].Status != senderdomain.Missing || len(warn) != 2 {
		t.Fatalf("warnings %+v: want SPF and DMARC missing", res.Warnings())
	}
}

func TestLookupFailureIsAnErrorNotAMismatch(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	s := e.app.Domains
	a := admin(e.orgA)
	dom, recs := add(t, s, a, "riverside.example")
	e.publish(recs)
	rsa := recordOf(t, recs, senderdomain.KindDKIMRSA)
	e.dns.SetServFail(rsa.Name, true)
	dom, res, err := s.Check(context.Background(), a, dom.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := byKind(res.Checks)[senderdomain.KindDKIMRSA]; c.Status != senderdomain.Error || dom.Status != senderdomain.StatusPending {
		t.Fatalf("SERVFAIL on the RSA selector: %+v, domain %s", c, dom.Status)
	}
	e.dns.SetServFail(rsa.Name, false)
	if dom, _, err = s.Check(context.Background(), a, dom.ID); err != nil || dom.Status != senderdomain.StatusVerified {
		t.Fatalf("after the server recovered: %s, %v", dom.Status, err)
	}
}
