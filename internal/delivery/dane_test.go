package delivery_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// signDomain marks the domain's MX answer and its host's address answer
// DNSSEC-authentic, as a validating resolver would.
func signDomain(w *world, domain, mx string) {
	w.dns.SetAuthentic(domain, true)
	w.dns.SetAuthentic(mx, true)
}

// TestDANEEEAuthorizesSelfSigned: authentic TLSA records (DANE-EE, SPKI,
// SHA-256) match a self-signed certificate no PKIX check would accept:
// RFC 7672 section 3.1.1 makes the record the authority.
func TestDANEEEAuthorizesSelfSigned(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("dane.test")
	signDomain(w, "dane.test", mx)
	cert := testpki.SelfSigned(t, []string{"not-the-mx.example"}, testpki.Options{})
	spki := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	tlsa := "_25._tcp." + mx
	w.dns.AddTLSA(tlsa, 3, 1, 1, spki[:])
	w.dns.SetAuthentic(tlsa, true)
	sink := smtptest.NewSink(t, smtptest.Options{Cert: &cert})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})

	phi := canary()
	res := n.submit("Pathology: "+phi, []string{rcpt("pat", "dane.test")}, nil)
	rows := n.waitState(res.MessageID, "delivered", 20*time.Second)
	rc := receipt(t, rows[0])
	if rc.AuthorizedBy != "dane" || rc.Verification != "dane-ee" || !rc.Verified || !strings.HasPrefix(rc.DANERecord, "3 1 1 "+hex.EncodeToString(spki[:4])) {
		t.Fatalf("receipt %+v", rc)
	}
	if m := sink.Messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("sink messages %+v", m)
	}
	noCanary(t, phi, sink.Wire())
}

// TestDANE: records that do not match, or a TLSA lookup that fails, defer;
// unsigned records are no DANE at all (no verified path: the portal).
func TestDANEFailuresDefer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(w *world, tlsa string)
		state string
	}{
		{"tlsa-servfail", func(w *world, tlsa string) {
			w.dns.AddTLSA(tlsa, 3, 1, 1, make([]byte, 32))
			w.dns.SetServFail(tlsa, true)
		}, "deferred"},
		{"tlsa-mismatch", func(w *world, tlsa string) {
			w.dns.AddTLSA(tlsa, 3, 1, 1, make([]byte, 32))
			w.dns.SetAuthentic(tlsa, true)
		}, "deferred"},
		{"tlsa-unsigned", func(w *world, tlsa string) {
			w.dns.AddTLSA(tlsa, 3, 1, 1, make([]byte, 32))
		}, "portal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			mx := w.mxDomain("dane.test")
			signDomain(w, "dane.test", mx)
			c.setup(w, "_25._tcp."+mx)
			cert := testpki.SelfSigned(t, []string{mx}, testpki.Options{})
			sink := smtptest.NewSink(t, smtptest.Options{Cert: &cert})
			n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
			phi := canary()
			res := n.submit("Pathology: "+phi, []string{rcpt("pat", "dane.test")}, nil)
			if c.state == "portal" {
				n.portaled(res.MessageID, delivery.NoVerifiedPath)
				onlyNotices(t, sink.Messages())
			} else if n.waitState(res.MessageID, c.state, 20*time.Second); len(sink.Messages()) != 0 || sink.Mails() != 0 {
				t.Fatal("the server received a transaction")
			}
			noCanary(t, phi, sink.Wire())
		})
	}
}

// TestPartnerPin: the organization pins a partner without MTA-STS or DANE
// to verified TLS with its certificate's fingerprint. The right
// certificate delivers; another valid one for the same name defers.
func TestPartnerPin(t *testing.T) {
	t.Parallel()
	for _, right := range []bool{true, false} {
		name := map[bool]string{true: "pinned-cert", false: "other-cert"}[right]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			mx := w.mxDomain("partner.test")
			cert := w.leaf(mx)
			pinned := cert.Leaf
			if !right {
				pinned = w.leaf(mx).Leaf
			}
			sum := sha256.Sum256(pinned.Raw)
			sink := smtptest.NewSink(t, smtptest.Options{Cert: cert})
			n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
			ctx := context.Background()
			if err := n.app.DB.Tx(ctx, func(tx *store.Tx) error {
				return store.PutTransportPin(ctx, tx, store.TransportPin{OrgID: n.org.ID, Domain: "partner.test",
					MXPattern: "*.partner.test", CertSHA256: strings.ToUpper(hex.EncodeToString(sum[:])), CreatedAt: time.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			phi := canary()
			res := n.submit("Referral: "+phi, []string{rcpt("dr.lee", "partner.test")}, nil)
			if !right {
				n.waitState(res.MessageID, "deferred", 20*time.Second)
				if len(sink.Messages()) != 0 || sink.Mails() != 0 {
					t.Fatal("a certificate other than the pinned one received the message")
				}
				noCanary(t, phi, sink.Wire())
				return
			}
			rows := n.waitState(res.MessageID, "delivered", 20*time.Second)
			if rc := receipt(t, rows[0]); rc.AuthorizedBy != "pin" || rc.Verification != "pin" || !rc.Verified {
				t.Fatalf("receipt %+v", rc)
			}
			noCanary(t, phi, sink.Wire())
		})
	}
}
