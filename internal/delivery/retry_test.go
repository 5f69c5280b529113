package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// verifiedDomain publishes domain with an MX host and an MTA-STS policy
// in enforce mode for it, and returns the host.
func (w *world) verifiedDomain(domain string) string {
	mx := w.mxDomain(domain)
	w.enforce(domain, "enforce", mx)
	return mx
}

// discardSink publishes domain as verifiedDomain does and starts its MX: a
// sink with a certificate for the host that counts messages and keeps none.
func (w *world) discardSink(domain string) *smtptest.Sink {
	return smtptest.NewSink(w.t, smtptest.Options{Cert: w.leaf(w.verifiedDomain(domain)), DiscardData: true})
}

// TestTemporaryFailureRetries: a 451 after the data defers; the retry,
// once its time comes, delivers.
func TestTemporaryFailureRetries(t *testing.T) {
	t.Parallel()
	for name, script := range map[string]smtptest.Script{
		"451-then-250":  {TempFailData: 1},
		"drop-mid-data": {DropData: 1, DropAfterBytes: 200},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			mx := w.verifiedDomain("dest.test")
			sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx), Script: script})
			n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
			phi := canary()
			res := n.submit("Results: "+phi, []string{rcpt("pat", "dest.test")}, nil)
			rows := n.waitState(res.MessageID, "deferred", 20*time.Second)
			if rows[0].NextAttemptAt.Sub(n.clock.Now()) > time.Minute || rows[0].Attempts != 1 {
				t.Fatalf("next attempt %v after %d attempts; want the first retry delay", rows[0].NextAttemptAt, rows[0].Attempts)
			}
			if len(sink.Messages()) != 0 {
				t.Fatal("delivered before the retry")
			}
			n.clock.Advance(2 * time.Minute)
			rows = n.waitState(res.MessageID, "delivered", 20*time.Second)
			if rows[0].Attempts != 2 || len(sink.Messages()) != 1 {
				t.Fatalf("%d attempts, %d messages at the sink", rows[0].Attempts, len(sink.Messages()))
			}
			if got := n.eventSet(res.MessageID); got != "deferred,delivered,queued" {
				t.Fatalf("events %v", got)
			}
			noCanary(t, phi, sink.Wire())
		})
	}
}

// TestHardBounceSuppressesAndNotifies: a 550 5.1.1 for a recipient of an
// SMTP-submitted message (DSN requested) bounces it, suppresses the
// address, and sends the sender one DSN through the outbox that carries
// the original header but never its body; a later message to the address
// fails at submission.
func TestHardBounceSuppressesAndNotifies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The DSN goes back to the sender's domain: both domains' MX hosts
	// are the one sink (one port for all MX hosts).
	w.verifiedDomain("dest.test")
	w.verifiedDomain(senderDomain)
	gone, moved := rcpt("former.patient", "dest.test"), rcpt("moved.patient", "dest.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf("mx.dest.test", "mx."+senderDomain),
		Script: smtptest.Script{RejectRcpt: []string{gone, moved}}})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})

	phi := canary()
	sender := "results@" + senderDomain
	raw := "From: Riverside Clinic <" + sender + ">\r\nTo: <" + gone + ">, <" + moved + ">\r\nSubject: Your lab results\r\n" +
		"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\nMessage-ID: <bounce-test@" + senderDomain + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nYour results: " + phi + "\r\n"
	res := n.submit("", nil, func(s *outbox.Submission) {
		s.Draft, s.Source, s.Raw, s.MailFrom, s.Rcpts, s.DSN = nil, outbox.SourceSMTP, []byte(raw), sender, []string{gone, moved}, true
	})
	rows := n.waitState(res.MessageID, "bounced", 20*time.Second)
	if len(rows) != 2 || rows[0].LastCode != 550 || rows[0].LastEnhanced != "5.1.1" {
		t.Fatalf("bounced with %d %s", rows[0].LastCode, rows[0].LastEnhanced)
	}
	msgs, err := sink.WaitFor(1, 20*time.Second)
	if err != nil {
		t.Fatalf("no DSN reached the sender: %v", err)
	}
	dsn := string(msgs[0].Data)
	if len(msgs[0].Rcpts) != 1 || msgs[0].Rcpts[0] != sender || !strings.Contains(dsn, "multipart/report") ||
		!strings.Contains(dsn, "Status: 5.1.1") || !strings.Contains(dsn, "Subject: Your lab results") ||
		!strings.Contains(dsn, "Final-Recipient: rfc822; "+gone) || !strings.Contains(dsn, "Final-Recipient: rfc822; "+moved) {
		t.Fatalf("DSN to %v:\n%s", msgs[0].Rcpts, dsn)
	}
	if strings.Contains(dsn, phi) || strings.Contains(dsn, "Your results:") {
		t.Fatal("the DSN echoes the original body")
	}
	noCanary(t, phi, sink.Wire())
	time.Sleep(300 * time.Millisecond)
	if len(sink.Messages()) != 1 {
		t.Fatalf("%d messages at the sink, want one DSN for both recipients", len(sink.Messages()))
	}

	// Suppressed: a later message to the address fails at submission.
	later := n.submit("Reminder", []string{gone}, nil)
	if r := later.Recipients[0]; r.State != "failed" || !strings.Contains(r.Reason, "suppressed") {
		t.Fatalf("later message: %+v", r)
	}
	ix, err := n.app.Index.Lookup(context.Background(), n.app.DB.Reader(), n.org.ID, "email", gone)
	if err != nil {
		t.Fatal(err)
	}
	sup, err := store.Suppressed(context.Background(), n.app.DB.Reader(), n.org.ID, [][]byte{ix})
	if err != nil || !strings.Contains(sup[string(ix)], "5.1.1") {
		t.Fatalf("suppression %v, %v", sup, err)
	}
}

// TestNullMXBouncesAndImplicitMXDelivers: RFC 7505's null MX bounces
// without a connection; a domain with no MX records is reached at its own
// address (RFC 5321 section 5.1).
func TestNullMXBouncesAndImplicitMXDelivers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dns.AddMX("nomail.test", 0, ".")
	w.dns.AddA("direct.test", "127.0.0.1")
	w.enforce("direct.test", "enforce", "direct.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf("direct.test")})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})

	null := n.submit("Hello", []string{rcpt("pat", "nomail.test")}, nil)
	rows := n.waitState(null.MessageID, "bounced", 20*time.Second)
	if rows[0].LastEnhanced != "5.1.10" || !strings.Contains(rows[0].LastReason, "null MX") {
		t.Fatalf("null MX: %s %q", rows[0].LastEnhanced, rows[0].LastReason)
	}
	direct := n.submit("Hello", []string{rcpt("pat", "direct.test")}, nil)
	rows = n.waitState(direct.MessageID, "delivered", 20*time.Second)
	if rc := receipt(t, rows[0]); rc.MX != "direct.test" || rc.AuthorizedBy != "mta-sts" {
		t.Fatalf("receipt %+v", rc)
	}
	if len(sink.Messages()) != 1 {
		t.Fatalf("%d messages at the sink", len(sink.Messages()))
	}
}
