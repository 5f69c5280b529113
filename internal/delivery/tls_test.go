package delivery_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// TestMTASTSEnforceDeliversOverVerifiedTLS: the domain's MTA-STS policy
// in enforce mode lists its MX host, whose certificate is valid: the
// message goes over verified TLS, DKIM-signed, with a receipt naming
// MTA-STS.
func TestMTASTSEnforceDeliversOverVerifiedTLS(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("dest.test")
	w.enforce("dest.test", "enforce", mx)
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})

	phi := canary()
	res := n.submit("Your A1C is 9.1. "+phi, []string{rcpt("pat", "dest.test")}, nil)
	rows := n.waitState(res.MessageID, "delivered", 20*time.Second)
	msgs := sink.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].TLSVersion < tls.VersionTLS12 || msgs[0].SNI != mx {
		t.Fatalf("sink got %+v, want one message over TLS 1.2+ with SNI %s", msgs, mx)
	}
	if !strings.Contains(string(msgs[0].Data), phi) {
		t.Fatal("the delivered message lacks its body")
	}
	if !strings.HasPrefix(string(msgs[0].Data), "DKIM-Signature:") || !strings.Contains(string(msgs[0].Data), "d="+senderDomain) {
		t.Fatalf("no DKIM signature for %s on top of the message:\n%.300s", senderDomain, msgs[0].Data)
	}
	noCanary(t, phi, sink.Wire())
	rc := receipt(t, rows[0])
	if rc.AuthorizedBy != "mta-sts" || !rc.Verified || rc.Verification != "pkix" || rc.MX != mx || rc.IP != "127.0.0.1" ||
		rc.Code != 250 || rc.CertSHA256 == "" || !strings.HasPrefix(rc.TLS, "TLS 1.") || rc.Cipher == "" ||
		rc.MTASTS == nil || rc.MTASTS.Mode != "enforce" || rc.Level != "verified-tls" || rc.Rule == "" {
		t.Fatalf("receipt %+v", rc)
	}
	if got := n.eventSet(res.MessageID); got != "delivered,queued" {
		t.Fatalf("events %v", got)
	}
	// The accounting of disclosures: one entry for this recipient, by id.
	var details string
	if err := store.Scan(n.app.DB.Reader().QueryRow(context.Background(), `SELECT details FROM audit_entries
		WHERE chain = ? AND action = 'message.deliver' AND target_id = ?`, n.org.ID, rows[0].ID), &details); err != nil {
		t.Fatalf("no audit entry for the delivery: %v", err)
	}
	if !strings.Contains(details, res.MessageID) || !strings.Contains(details, "mta-sts") || strings.Contains(details, "@") {
		t.Fatalf("audit details %s", details)
	}
}

// TestNoVerifiedPathGoesToPortal: no MTA-STS, DANE or pin, and no key for
// the recipient: the walk passes verified TLS over and hands the PHI
// message to the portal. The server receives only the notification, which
// carries none of it.
func TestNoVerifiedPathGoesToPortal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("plain.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})

	phi := canary()
	res := n.submit("Diagnosis: "+phi, []string{rcpt("pat", "plain.test")}, nil)
	if res.Recipients[0].State != "queued" {
		t.Fatalf("submitted as %s, want queued for the walk", res.Recipients[0].State)
	}
	rows, notices := n.portaled(res.MessageID, delivery.NoVerifiedPath)
	if rows[0].LastReason != "in the secure portal; the recipient was notified" {
		t.Fatalf("reason %q", rows[0].LastReason)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || len(notices) != 1 {
		t.Fatalf("%d messages at the sink, want the notification only", len(msgs))
	}
	onlyNotices(t, msgs)
	noCanary(t, phi, sink.Wire())
	if got := n.eventSet(res.MessageID); got != "held,queued" {
		t.Fatalf("events %v", got)
	}
	var details string
	if err := store.Scan(n.app.DB.Reader().QueryRow(context.Background(), `SELECT details FROM audit_entries
		WHERE chain = ? AND action = 'message.fallback' AND target_id = ?`, n.org.ID, rows[0].ID), &details); err != nil {
		t.Fatalf("no audit entry for the fallback: %v", err)
	}
	if !strings.Contains(details, `"to":"portal"`) || !strings.Contains(details, `"skipped":"verified-tls"`) || strings.Contains(details, "@") {
		t.Fatalf("fallback audit details %s", details)
	}
}

// TestStrippedSTARTTLSDefersThenFails: the attacker strips STARTTLS in
// front of an MTA-STS-enforced MX host. Delivery defers, never sends in
// cleartext, and fails when the lifetime ends.
func TestStrippedSTARTTLSDefersThenFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("dest.test")
	w.enforce("dest.test", "enforce", mx)
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	proxy := smtptest.NewStripTLSProxy(t, sink.Addr(), smtptest.ProxyOptions{})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, proxy.Addr())})

	phi := canary()
	res := n.submit("Results: "+phi, []string{rcpt("pat", "dest.test")}, nil)
	rows := n.waitState(res.MessageID, "deferred", 20*time.Second)
	if !strings.Contains(rows[0].LastReason, "verified TLS") || rows[0].Attempts != 1 {
		t.Fatalf("deferred with %q after %d attempts", rows[0].LastReason, rows[0].Attempts)
	}
	// Retries keep failing the same way, then the lifetime ends.
	for range 3 {
		n.clock.Advance(time.Hour)
		waitAttempts(t, n, res.MessageID, rows[0].Attempts+1)
		rows = n.rows(res.MessageID)
	}
	n.clock.Advance(5 * 24 * time.Hour)
	rows = n.waitState(res.MessageID, "failed", 20*time.Second)
	if !strings.Contains(rows[0].LastReason, "expired") || rows[0].FinishedAt.IsZero() {
		t.Fatalf("failed with %q", rows[0].LastReason)
	}
	if len(sink.Messages()) != 0 || sink.Mails() != 0 {
		t.Fatal("the sink received a transaction through the downgrade attacker")
	}
	noCanary(t, phi, sink.Wire())
	evs := n.events(res.MessageID)
	if evs[len(evs)-1] != "failed" || n.eventSet(res.MessageID) != "deferred,failed,queued" || len(evs) != 6 {
		t.Fatalf("events %v", evs)
	}
}

func waitAttempts(t *testing.T, n *node, msgID string, attempts int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows := n.rows(msgID)
		if rows[0].Attempts >= attempts && rows[0].State != "sending" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts (%s), want %d", rows[0].Attempts, rows[0].State, attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnverifiableServersDefer: an MTA-STS-enforced MX host whose TLS
// cannot be verified — self-signed, wrong name, expired, TLS 1.0 only —
// gets nothing: the message defers.
func TestUnverifiableServersDefer(t *testing.T) {
	t.Parallel()
	const mx = "mx.dest.test"
	past := time.Now().Add(-48 * time.Hour)
	cases := map[string]func(w *world) smtptest.Options{
		"self-signed": func(w *world) smtptest.Options {
			return smtptest.Options{Cert: ptr(testpki.SelfSigned(t, []string{mx}, testpki.Options{}))}
		},
		"wrong-name": func(w *world) smtptest.Options { return smtptest.Options{Cert: w.leaf("other.example")} },
		"expired": func(w *world) smtptest.Options {
			return smtptest.Options{Cert: ptr(w.ca.Leaf(t, []string{mx}, testpki.Options{NotBefore: past.Add(-time.Hour), NotAfter: past}))}
		},
		"tls10-only": func(w *world) smtptest.Options {
			return smtptest.Options{Cert: w.leaf(mx), MinTLSVersion: tls.VersionTLS10, MaxTLSVersion: tls.VersionTLS10}
		},
		"broken-tls": func(*world) smtptest.Options { return smtptest.Options{BrokenTLS: true} },
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.mxDomain("dest.test")
			w.enforce("dest.test", "enforce", mx)
			sink := smtptest.NewSink(t, opts(w))
			n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
			phi := canary()
			res := n.submit("Results: "+phi, []string{rcpt("pat", "dest.test")}, nil)
			rows := n.waitState(res.MessageID, "deferred", 20*time.Second)
			if rc := receipt(t, rows[0]); rc.Verified || rc.AuthorizedBy != "mta-sts" {
				t.Fatalf("receipt %+v", rc)
			}
			if len(sink.Messages()) != 0 || sink.Mails() != 0 {
				t.Fatal("an unverified server received a transaction")
			}
			noCanary(t, phi, sink.Wire())
		})
	}
}

func ptr[T any](v T) *T { return &v }
