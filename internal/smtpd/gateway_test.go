package smtpd_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/api"
	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

func addConnector(t *testing.T, e *apitest.Env, tn *apitest.Tenant, body map[string]any) string {
	t.Helper()
	r := e.Do(t, tn.Key, http.MethodPost, api.Prefix+"/gateway/connectors", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("add connector: %d %s", r.Status, r.Body)
	}
	var c struct{ ID string }
	r.JSON(t, &c)
	return c.ID
}

func sha(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

// relay runs a gateway transaction from local (a loopback address),
// presenting certs after STARTTLS, and returns the reply to MAIL, or the
// reply after DATA when MAIL was accepted.
func relay(t *testing.T, e *apitest.Env, local string, certs []tls.Certificate, from, headerFrom string) string {
	t.Helper()
	w := dialFrom(t, addr(t, e, smtpd.Gateway), local)
	w.ehlo()
	w.startTLS(certs...)
	if caps := w.ehlo(); strings.Contains(caps, "AUTH") {
		t.Fatalf("the gateway advertises AUTH: %q", caps)
	}
	w.write("MAIL FROM:<" + from + ">\r\n")
	if r := w.reply(); !strings.HasPrefix(r, "250") {
		return r
	}
	w.cmd("RCPT TO:<patient@partner.example>", "250")
	w.cmd("DATA", "354")
	w.write(message(headerFrom, "patient@partner.example", "Lab results", "Attached.") + "\r\n.\r\n")
	return w.reply()
}

func TestGatewayRelaysOnlyForConnectors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		fromA, fromB := e.Sender(t, e.A), e.Sender(t, e.B)
		partnerCert := testpki.SelfSigned(t, []string{"relay.b.example"}, testpki.Options{ClientAuth: true})
		otherCert := testpki.SelfSigned(t, []string{"relay.b.example"}, testpki.Options{ClientAuth: true})
		connA := addConnector(t, e, e.A, map[string]any{"name": "A on-premises Exchange", "ip_ranges": []string{"127.0.0.1/32"}})
		connB := addConnector(t, e, e.B, map[string]any{"name": "B partner relay", "cert_sha256": []string{sha(partnerCert)}})

		t.Run("allowed address relays without AUTH", func(t *testing.T) {
			w := dial(t, addr(t, e, smtpd.Gateway))
			w.ehlo()
			w.cmd("MAIL FROM:<"+fromA+">", "530 5.7.0") // the connector requires TLS
			id := queuedID(t, relay(t, e, "127.0.0.1", nil, fromA, fromA))
			var org, source, submitter string
			row := e.App.DB.Reader().QueryRow(context.Background(), `SELECT org_id, source, submitter_type || ':' || submitter_id FROM messages WHERE id = ?`, id)
			if err := store.Scan(row, &org, &source, &submitter); err != nil {
				t.Fatal(err)
			}
			if org != e.A.Org.ID || source != "gateway" || submitter != "system:gateway:"+connA {
				t.Fatalf("relayed message: org %s, source %s, submitter %s", org, source, submitter)
			}
		})
		t.Run("unknown address refused", func(t *testing.T) {
			if r := relay(t, e, "127.0.0.2", nil, fromA, fromA); !strings.HasPrefix(r, "550 5.7.1") {
				t.Fatalf("MAIL from an unknown server: %q", r)
			}
		})
		t.Run("client certificate connector", func(t *testing.T) {
			id := queuedID(t, relay(t, e, "127.0.0.3", []tls.Certificate{partnerCert}, fromB, fromB))
			if n := count(t, e, `SELECT count(*) FROM messages WHERE id = ? AND org_id = ? AND submitter_id = ?`, id, e.B.Org.ID, "gateway:"+connB); n != 1 {
				t.Fatal("the message is not organization B's, relayed by its connector")
			}
			if r := relay(t, e, "127.0.0.3", []tls.Certificate{otherCert}, fromB, fromB); !strings.HasPrefix(r, "550 5.7.1") {
				t.Fatalf("another certificate: %q", r)
			}
			if r := relay(t, e, "127.0.0.3", nil, fromB, fromB); !strings.HasPrefix(r, "550 5.7.1") {
				t.Fatalf("no certificate: %q", r)
			}
		})
		t.Run("a connector of A cannot send for B's domain", func(t *testing.T) {
			before := messagesOf(t, e, e.A) + messagesOf(t, e, e.B)
			if r := relay(t, e, "127.0.0.1", nil, fromA, fromB); !strings.HasPrefix(r, "550 5.7.1") {
				t.Fatalf("A's connector with From in B's domain: %q", r)
			}
			if after := messagesOf(t, e, e.A) + messagesOf(t, e, e.B); after != before {
				t.Fatalf("a refused relay stored a message")
			}
		})
		t.Run("shared source: the From domain's owner is chosen", func(t *testing.T) {
			// B now also claims 127.0.0.1 by address alone, as two
			// customers of one provider would.
			addConnector(t, e, e.B, map[string]any{"name": "B on the same provider", "ip_ranges": []string{"127.0.0.0/24"}})
			idA := queuedID(t, relay(t, e, "127.0.0.1", nil, fromA, fromA))
			idB := queuedID(t, relay(t, e, "127.0.0.1", nil, fromB, fromB))
			if count(t, e, `SELECT count(*) FROM messages WHERE id = ? AND org_id = ?`, idA, e.A.Org.ID) != 1 ||
				count(t, e, `SELECT count(*) FROM messages WHERE id = ? AND org_id = ?`, idB, e.B.Org.ID) != 1 {
				t.Fatal("messages were not relayed for the owners of their From domains")
			}
			if r := relay(t, e, "127.0.0.1", nil, fromA, "someone@unverified.example"); !strings.HasPrefix(r, "550 5.7.1") {
				t.Fatalf("a From domain no one owns, over a shared source: %q", r)
			}
		})
		scrape(t, e, `carepost_smtp_sessions_total{listener="gateway",result="denied"}`)
	})
}
