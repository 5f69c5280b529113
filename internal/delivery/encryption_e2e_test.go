package delivery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/smtp"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/pgp/pgptest"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// The recipients of the encryption tests, one per way a PHI message can
// travel: verified TLS (MTA-STS), the portal (no verified path, no key),
// OpenPGP and S/MIME (no verified path, a key in the directory).
const (
	toVerified = "pat@verified.test"
	toPortal   = "pat@plain.test"
	toPGP      = "pat@pgp.test"
	toSMIME    = "sam@smime.test"
)

var (
	linkRE = regexp.MustCompile(`/portal/m/(cpm_[A-Za-z0-9_-]{43})`)
	codeRE = regexp.MustCompile(`(?m)^\s+([0-9]{8})\s*$`)
)

// encWorld is a node on a world with the four destination domains, one
// sink for all their MX hosts, and the recipients' keys in the directory.
type encWorld struct {
	t     *testing.T
	w     *world
	n     *node
	sink  *smtptest.Sink
	api   *apiClient
	gpg   *pgptest.GPG
	smime string // a folder holding the S/MIME recipient's cert.pem and key.pem
	// tagged is the portal link of the gateway's tagged message, and
	// taggedPHI its canary.
	tagged, taggedPHI string
}

func newEncWorld(t *testing.T, d store.Driver) *encWorld {
	w := newWorld(t)
	var mxs []string
	for _, dom := range []string{"verified.test", "plain.test", "pgp.test", "smime.test"} {
		mxs = append(mxs, w.mxDomain(dom))
	}
	w.enforce("verified.test", "enforce", "mx.verified.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mxs...)})
	n := w.startNode(nodeOptions{driver: d, mxPort: port(t, sink.Addr()), edit: func(c *config.Config) {
		c.Keydir.SMIMETrustFile = w.caFile // the recipients' S/MIME CA
		c.Gateway.Listen = "127.0.0.1:0"
	}})
	e := &encWorld{t: t, w: w, n: n, sink: sink, api: n.api(), gpg: pgptest.New(t), smime: t.TempDir()}
	e.api.do("POST", "/keys", map[string]any{"key": string(e.gpg.GenerateKey(t, "Pat Gee <"+toPGP+">"))}, http.StatusCreated, nil)
	certPEM, keyPEM := testpki.PEM(t, w.ca.Leaf(t, nil, testpki.Options{RSA: true, Email: []string{toSMIME}}))
	writeFile(t, e.smime, "cert.pem", certPEM)
	writeFile(t, e.smime, "key.pem", keyPEM)
	e.api.do("POST", "/keys", map[string]any{"key": string(certPEM)}, http.StatusCreated, nil)
	return e
}

// explanation is POST /policy/explain's answer.
type explanation struct {
	Recipients []struct {
		Email, State string
		Decision     struct {
			Level, Rule string
			Methods     []string
			Drop        bool
		}
	}
}

// messageRecord is GET /messages/{id}.
type messageRecord struct {
	Recipients []struct {
		ID, Email, State, Level, Rule, Reason string
		Receipt                               delivery.Receipt
		Policy                                struct {
			Methods []string
			Drop    bool
		}
	}
}

// agree fails unless what happened to each recipient of msgID is what the
// explanation said would: the recorded decision is the explained one, the
// method used is one it allows, and exactly the methods before it were
// passed over, with reasons.
func (e *encWorld) agree(ex explanation, msgID string) messageRecord {
	e.t.Helper()
	var rec messageRecord
	e.api.do("GET", "/messages/"+msgID, nil, http.StatusOK, &rec)
	if len(rec.Recipients) != len(ex.Recipients) {
		e.t.Fatalf("%d recipients, %d explained", len(rec.Recipients), len(ex.Recipients))
	}
	for i, r := range rec.Recipients {
		x := ex.Recipients[i]
		if r.Email != x.Email || r.Level != x.Decision.Level || r.Rule != x.Decision.Rule ||
			!slices.Equal(r.Policy.Methods, x.Decision.Methods) || r.Policy.Drop != x.Decision.Drop {
			e.t.Fatalf("%s: recorded %s %q %v, explained %+v", r.Email, r.Level, r.Rule, r.Policy.Methods, x.Decision)
		}
		used := slices.Index(x.Decision.Methods, r.Receipt.Method)
		if r.Receipt.Method == "" {
			used = len(x.Decision.Methods) // none: every method was passed over
		}
		if used < 0 || len(r.Receipt.Skipped) != used {
			e.t.Fatalf("%s: used %q after %+v, explained methods %v", r.Email, r.Receipt.Method, r.Receipt.Skipped, x.Decision.Methods)
		}
		for j, sk := range r.Receipt.Skipped {
			if sk.Method != x.Decision.Methods[j] || sk.Reason == "" {
				e.t.Fatalf("%s: skipped %+v, explained methods %v", r.Email, r.Receipt.Skipped, x.Decision.Methods)
			}
		}
		if r.Receipt.Level != r.Level || r.Receipt.Rule != r.Rule {
			e.t.Fatalf("%s: receipt level %q rule %q", r.Email, r.Receipt.Level, r.Receipt.Rule)
		}
	}
	return rec
}

func (r messageRecord) of(email string) (id, state string, rc delivery.Receipt) {
	for _, x := range r.Recipients {
		if x.Email == email {
			return x.ID, x.State, x.Receipt
		}
	}
	return "", "", delivery.Receipt{}
}

// inner checks a decrypted entity: the text and HTML with the canary, and
// every attachment byte for byte.
func inner(t *testing.T, dec []byte, phi string, atts map[string][]byte) {
	t.Helper()
	p, err := message.Inspect(dec, message.Limits{})
	if err != nil {
		t.Fatalf("inspect the decrypted entity: %v", err)
	}
	if p.Subject != "Your pathology results" || !strings.Contains(p.Text, phi) || !strings.Contains(p.HTML, phi) {
		t.Fatalf("decrypted subject %q text %q html %q", p.Subject, p.Text, p.HTML)
	}
	if len(p.Attachments) != len(atts) {
		t.Fatalf("%d attachments decrypted, want %d", len(p.Attachments), len(atts))
	}
	for _, a := range p.Attachments {
		if want, ok := atts[a.Filename]; !ok || !bytes.Equal(a.Content, want) {
			t.Fatalf("attachment %q differs from what was sent", a.Filename)
		}
	}
}

func TestEncryptionEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := newEncWorld(t, d)
		n, ctx := e.n, context.Background()
		phi := canary()
		pdf := make([]byte, 40_000)
		_, _ = rand.Read(pdf)
		notes := []byte("MRN 00123, " + phi + "\r\n")
		atts := map[string][]byte{"pathology.pdf": pdf, "notes.txt": notes}
		body := map[string]any{"from": "Dr. Ada Smith <results@" + senderDomain + ">", "to": []string{toVerified, toPortal, toPGP, toSMIME},
			"subject": "Your pathology results", "text": "Dear patient, your biopsy shows no malignancy. " + phi + "\r\n",
			"html": "<p>Dear patient, your biopsy shows <b>no malignancy</b>. " + phi + "</p>",
			"attachments": []map[string]any{
				{"filename": "pathology.pdf", "content_type": "application/pdf", "content": base64.StdEncoding.EncodeToString(pdf)},
				{"filename": "notes.txt", "content_type": "text/plain; charset=utf-8", "content": base64.StdEncoding.EncodeToString(notes)}}}

		// The dry run first: every recipient needs verified TLS; those with a
		// key may get e2e before the portal. Nothing is stored or sent.
		var ex explanation
		e.api.do("POST", "/policy/explain", body, http.StatusOK, &ex)
		want := map[string]string{toVerified: "verified-tls,portal", toPortal: "verified-tls,portal",
			toPGP: "verified-tls,e2e,portal", toSMIME: "verified-tls,e2e,portal"}
		for _, r := range ex.Recipients {
			if r.Decision.Level != "verified-tls" || strings.Join(r.Decision.Methods, ",") != want[r.Email] || r.State != outbox.StateQueued {
				t.Fatalf("explained %s: %+v (%s)", r.Email, r.Decision, r.State)
			}
		}
		if len(e.sink.Messages()) != 0 || n.count(`SELECT count(*) FROM messages`) != 0 {
			t.Fatal("explain stored or sent something")
		}

		var sub struct{ ID string }
		e.api.do("POST", "/messages", body, http.StatusAccepted, &sub)
		n.waitStates(sub.ID, map[string]string{toVerified: "delivered", toPortal: "portal", toPGP: "delivered", toSMIME: "delivered"})
		rec := e.agree(ex, sub.ID)

		// Verified TLS: the message itself, over TLS to the MTA-STS host.
		_, _, rc := rec.of(toVerified)
		if rc.Method != "verified-tls" || rc.AuthorizedBy != "mta-sts" || !rc.Verified {
			t.Fatalf("verified-tls receipt %+v", rc)
		}
		m := waitMail(t, e.sink, toVerified, 0, anyMail)
		if !m.TLS || m.SNI != "mx.verified.test" || !bytes.Contains(m.Data, []byte(phi)) {
			t.Fatalf("to %s: TLS %v SNI %q", toVerified, m.TLS, m.SNI)
		}
		n.dkimVerified(m.Data, senderDomain)

		// OpenPGP: PGP/MIME that gpg decrypts, signed by DKIM outside.
		_, _, rc = rec.of(toPGP)
		if rc.Method != "e2e" || rc.E2E != "pgp" || rc.Skipped[0].Reason != delivery.NoVerifiedPath || rc.AuthorizedBy != "none" || !strings.HasPrefix(rc.TLS, "TLS 1.") {
			t.Fatalf("pgp receipt %+v", rc)
		}
		m = waitMail(t, e.sink, toPGP, 0, anyMail)
		if !bytes.Contains(m.Data, []byte("multipart/encrypted")) || !bytes.Contains(m.Data, []byte("application/pgp-encrypted")) ||
			bytes.Contains(m.Data, []byte(phi)) || bytes.Contains(m.Data, []byte("pathology")) {
			t.Fatalf("to %s: not PGP/MIME, or content outside the encryption:\n%.600s", toPGP, m.Data)
		}
		n.dkimVerified(m.Data, senderDomain)
		p, err := message.Inspect(m.Data, message.Limits{})
		if err != nil || len(p.Attachments) != 2 || p.Subject != "..." {
			t.Fatalf("PGP/MIME structure: %v, subject %q", err, p.Subject)
		}
		inner(t, e.gpg.Decrypt(t, p.Attachments[1].Content).Plaintext, phi, atts)

		// S/MIME: CMS enveloped data that openssl decrypts.
		_, _, rc = rec.of(toSMIME)
		if rc.Method != "e2e" || rc.E2E != "smime" || rc.Skipped[0].Method != "verified-tls" {
			t.Fatalf("smime receipt %+v", rc)
		}
		m = waitMail(t, e.sink, toSMIME, 0, anyMail)
		if !bytes.Contains(m.Data, []byte("application/pkcs7-mime")) || bytes.Contains(m.Data, []byte(phi)) {
			t.Fatalf("to %s: not S/MIME, or content outside the encryption:\n%.600s", toSMIME, m.Data)
		}
		n.dkimVerified(m.Data, senderDomain)
		writeFile(t, e.smime, "out.eml", m.Data)
		inner(t, openssl(t, e.smime, "cms", "-decrypt", "-in", "out.eml", "-recip", "cert.pem", "-inkey", "key.pem"), phi, atts)

		// The portal: a notification without PHI, and the message only after
		// the one-time code.
		rcptID, _, rc := rec.of(toPortal)
		if rc.Method != "portal" || rc.Skipped[0].Reason != delivery.NoVerifiedPath {
			t.Fatalf("portal receipt %+v", rc)
		}
		token, b := e.openPortal(toPortal, phi, pdf)
		item, err := store.PortalItemByRecipient(ctx, n.app.DB.Reader(), n.org.ID, rcptID)
		if err != nil {
			t.Fatal(err)
		}

		// Revocation: the portal refuses the link and the open session.
		e.api.do("POST", "/portal/deliveries/"+item.ID+"/revoke", nil, http.StatusOK, nil)
		if r := n.browser().do("GET", "/portal/m/"+token, nil); r.status != http.StatusGone || strings.Contains(r.body, phi) {
			t.Fatalf("link after revocation: %d", r.status)
		}
		if r := b.do("GET", "/portal/read", nil); r.status == http.StatusOK || strings.Contains(r.body, phi) {
			t.Fatalf("session after revocation: %d", r.status)
		}

		// Nothing of the message crossed the wire in the clear.
		noCanary(t, phi, e.sink.Wire())

		e.gatewayTag(ctx)
		e.tlsOnlyDrops(ctx)
		e.expiry(ctx)

		// Every step is in the audit log, by id, and the chain verifies.
		for action, min := range map[string]int{"message.submit": 1, "message.deliver": 3, "message.fallback": 1, "message.portal": 2,
			"portal.code.send": 1, "portal.verify": 2, "portal.read": 1, "portal.download": 1, "portal.revoke": 1, "portal.expire": 1, "message.fail": 1} {
			if got := n.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = ?`, n.org.ID, action); got < min {
				t.Errorf("%d %s audit entries, want at least %d", got, action, min)
			}
		}
		for _, f := range []string{"pgp", "smime"} {
			if got := n.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'message.deliver' AND details LIKE ?`,
				n.org.ID, `%"e2e":"`+f+`"%`); got < 1 {
				t.Errorf("no message.deliver entry names e2e %s", f)
			}
		}
		if got := n.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND details LIKE '%@%' AND action LIKE 'message.%'`, n.org.ID); got != 0 {
			t.Errorf("%d message audit entries carry an address", got)
		}
		rep, err := n.app.Audit.Verify(ctx, audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("audit chain: %v %v", err, rep.Problems())
		}
	})
}

// openPortal takes the recipient through the portal: the notification
// (no PHI), the landing page a scanner may fetch, the one-time code by
// email, a wrong code, the right one, the message and an attachment. It
// returns the link's token and the browser holding the session.
func (e *encWorld) openPortal(rcpt, phi string, pdf []byte) (string, *browser) {
	t, n := e.t, e.n
	t.Helper()
	notice := waitMail(t, e.sink, rcpt, 0, isNotice)
	text := textOf(t, notice.Data)
	// What a reader sees: every header field but the DKIM signatures, and
	// the decoded text without the link's token (both random base64, in
	// which a short word like "mrn" turns up by chance once in a few
	// hundred runs, ignoring case).
	readable := linkRE.ReplaceAllString(text, "/portal/m/TOKEN")
	if p, err := message.Inspect(notice.Data, message.Limits{}); err == nil {
		for _, h := range p.Header {
			if !strings.EqualFold(h.Name, "DKIM-Signature") {
				readable += "\n" + h.Name + ": " + h.Value
			}
		}
	} else {
		t.Fatalf("inspect the notification: %v", err)
	}
	for _, leak := range []string{phi, "biopsy", "malignancy", "pathology", "MRN"} {
		if strings.Contains(strings.ToLower(readable), strings.ToLower(leak)) {
			t.Fatalf("the notification carries %q:\n%s", leak, notice.Data)
		}
	}
	if bytes.Contains(notice.Data, []byte(phi)) {
		t.Fatalf("the raw notification carries the canary:\n%s", notice.Data)
	}
	mt := linkRE.FindStringSubmatch(text)
	if mt == nil || !strings.Contains(text, "Riverside Clinic") {
		t.Fatalf("no portal link or organization in the notification:\n%s", text)
	}
	token := mt[1]
	b := n.browser()
	landing := b.do("GET", "/portal/m/"+token, nil)
	if landing.status != http.StatusOK || strings.Contains(landing.body, phi) || landing.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("landing: %d %v", landing.status, landing.header)
	}
	if r := b.do("GET", "/portal/read", nil); r.status != http.StatusUnauthorized || strings.Contains(r.body, phi) {
		t.Fatalf("read before the code: %d", r.status)
	}
	e.proveByCode(b, rcpt, token, true)
	read := b.do("GET", "/portal/read", nil)
	if read.status != http.StatusOK || !strings.Contains(read.body, phi) || !strings.Contains(read.body, "pathology.pdf") {
		t.Fatalf("read: %d %.500s", read.status, read.body)
	}
	if dl := b.do("GET", "/portal/read/attachments/0", nil); dl.status != http.StatusOK || dl.body != string(pdf) {
		t.Fatalf("download: %d, %d bytes", dl.status, len(dl.body))
	}
	return token, b
}

// isNotice matches a portal notification.
func isNotice(m smtptest.Message) bool { return bytes.Contains(m.Data, []byte("/portal/m/cpm_")) }

// proveByCode asks the portal for a one-time code by email for the link's
// delivery, reads it from the code email (which must carry no PHI:
// nothing but the code and the organization), optionally tries a wrong
// code first (refused, still no session), and enters the right one.
func (e *encWorld) proveByCode(b *browser, rcpt, token string, wrongFirst bool) {
	t := e.t
	t.Helper()
	landing := b.do("GET", "/portal/m/"+token, nil)
	before := len(e.sink.Messages())
	if r := b.do("POST", "/portal/m/"+token+"/code", url.Values{"csrf": {landing.csrf(t)}, "method": {"email-code"}}); r.status != http.StatusSeeOther {
		t.Fatalf("ask for a code: %d %.300s", r.status, r.body)
	}
	codeMail := waitMail(t, e.sink, rcpt, before, func(m smtptest.Message) bool { return bytes.Contains(m.Data, []byte("verification code")) })
	codeText := textOf(t, codeMail.Data)
	for _, leak := range []string{"PHI-CANARY", "biopsy", "Lab results", "pathology"} {
		if strings.Contains(codeText+string(codeMail.Data), leak) {
			t.Fatalf("the code email carries %q", leak)
		}
	}
	cm := codeRE.FindStringSubmatch(codeText)
	if cm == nil {
		t.Fatalf("no code in:\n%s", codeText)
	}
	if wrongFirst {
		wrong := "00000000"
		if wrong == cm[1] {
			wrong = "11111111"
		}
		if r := b.do("POST", "/portal/m/"+token+"/verify", url.Values{"csrf": {landing.csrf(t)}, "code": {wrong}}); r.status != http.StatusBadRequest {
			t.Fatalf("a wrong code: %d", r.status)
		}
		if r := b.do("GET", "/portal/read", nil); r.status == http.StatusOK || strings.Contains(r.body, "PHI-CANARY") {
			t.Fatalf("read after a wrong code: %d", r.status)
		}
	}
	if r := b.do("POST", "/portal/m/"+token+"/verify", url.Values{"csrf": {landing.csrf(t)}, "code": {cm[1]}}); r.status != http.StatusSeeOther {
		t.Fatalf("the right code: %d %.300s", r.status, r.body)
	}
}

// gatewayTag relays a message from the organization's mail server through
// the gateway with "[secure]" in its Subject and Thread-Topic: the same
// policy raises it to e2e-or-portal, the PGP recipient gets PGP/MIME and
// the other the portal, and the tag is gone from everything delivered,
// stored and shown.
func (e *encWorld) gatewayTag(ctx context.Context) {
	t, n := e.t, e.n
	t.Helper()
	e.api.do("POST", "/gateway/connectors", map[string]any{"name": "Exchange", "ip_ranges": []string{"127.0.0.1/32"}}, http.StatusCreated, nil)
	e.api.do("PUT", "/portal/settings", map[string]any{"expiry": "30d", "show_subject": true,
		"notification_text": "Sign in to the secure portal to read it."}, http.StatusOK, nil)
	phi := canary()
	const other = "lee@plain.test"
	before := len(e.sink.Messages())
	raw := "From: Dr. Ada Smith <results@" + senderDomain + ">\r\nTo: " + toPGP + ", " + other + "\r\n" +
		"Subject: [secure] Lab results\r\nThread-Topic: [secure] Lab results\r\nDate: Mon, 02 Jun 2025 09:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour A1C is 9.1. " + phi + "\r\n"

	// What explain says for the same message.
	var ex explanation
	e.api.do("POST", "/policy/explain", map[string]any{"from": "results@" + senderDomain, "to": []string{toPGP, other},
		"subject": "[secure] Lab results", "text": "Your A1C is 9.1. " + phi}, http.StatusOK, &ex)
	if ex.Recipients[0].Decision.Level != "e2e" || strings.Join(ex.Recipients[0].Decision.Methods, ",") != "e2e,portal" ||
		strings.Join(ex.Recipients[1].Decision.Methods, ",") != "portal" || ex.Recipients[1].State != outbox.StatePortal {
		t.Fatalf("explained tagged: %+v", ex)
	}

	c, err := smtp.Dial(n.run.SMTPAddr(smtpd.Gateway).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Hello("exchange.clinic.test") },
		func() error { return c.StartTLS(&tls.Config{InsecureSkipVerify: true}) }, // the node's development certificate
		func() error { return c.Mail("results@" + senderDomain) },
		func() error { return c.Rcpt(toPGP) },
		func() error { return c.Rcpt(other) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("gateway: %v", err)
		}
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := wc.Close(); err != nil {
		t.Fatalf("gateway DATA: %v", err)
	}
	_ = c.Quit()
	var msgID string
	if err := store.Scan(n.app.DB.Reader().QueryRow(ctx, `SELECT id FROM messages WHERE org_id = ? AND source = 'gateway'`, n.org.ID), &msgID); err != nil {
		t.Fatal(err)
	}
	n.waitStates(msgID, map[string]string{toPGP: "delivered", other: "portal"})
	// The gateway's message goes through the same policy: the same
	// decisions as the explanation of the same content.
	e.agree(ex, msgID)

	var content struct{ Subject string }
	e.api.do("GET", "/messages/"+msgID+"/content", nil, http.StatusOK, &content)
	if content.Subject != "Lab results" {
		t.Fatalf("stored subject %q", content.Subject)
	}
	m := waitMail(t, e.sink, toPGP, before, anyMail)
	p, err := message.Inspect(m.Data, message.Limits{})
	if err != nil || len(p.Attachments) != 2 {
		t.Fatalf("not PGP/MIME: %v", err)
	}
	plain := e.gpg.Decrypt(t, p.Attachments[1].Content).Plaintext
	dec, err := message.Inspect(plain, message.Limits{})
	if err != nil || dec.Subject != "Lab results" || !strings.Contains(dec.Text, phi) {
		t.Fatalf("decrypted tagged message: subject %q, %v", dec.Subject, err)
	}
	notice := waitMail(t, e.sink, other, before, isNotice)
	token := linkRE.FindStringSubmatch(textOf(t, notice.Data))
	if token == nil || !strings.Contains(textOf(t, notice.Data), "Lab results") {
		t.Fatalf("notification of the tagged message:\n%s", notice.Data)
	}
	for _, x := range [][]byte{m.Data, notice.Data, plain} {
		if bytes.Contains(bytes.ToLower(x), []byte("[secure]")) {
			t.Fatalf("the tag was delivered:\n%s", x)
		}
	}
	b := n.browser()
	if e.proveByCode(b, other, token[1], false); !strings.Contains(b.do("GET", "/portal/read", nil).body, "Lab results") {
		t.Fatal("the portal does not show the subject")
	}
	if r := b.do("GET", "/portal/read", nil); strings.Contains(strings.ToLower(r.body), "[secure]") || !strings.Contains(r.body, phi) {
		t.Fatalf("the portal shows the tag, or not the message: %.400s", r.body)
	}
	e.tagged = token[1]
	e.taggedPHI = phi
}

// tlsOnlyDrops: a marketing source's recipient without verified TLS is
// dropped with its reason, never portaled, as explain said.
func (e *encWorld) tlsOnlyDrops(ctx context.Context) {
	t, n := e.t, e.n
	t.Helper()
	d := &message.Draft{From: message.Address{Email: "news@" + senderDomain}, To: []message.Address{{Email: "fan@plain.test"}},
		Subject: "Our new clinic hours", Text: "We are open on Saturdays."}
	s := outbox.Submission{OrgID: n.org.ID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "campaign"}, Source: outbox.SourceCampaign,
		Draft: d, NonPHI: true, TLSOnly: true}
	ex, err := n.app.Outbox.Explain(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	x := ex.Recipients[0]
	if !x.Decision.Drop || policy.MethodList(x.Decision.Methods) != "verified-tls" || x.State != outbox.StateQueued {
		t.Fatalf("explained TLS-only: %+v", x)
	}
	res, err := n.app.Outbox.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	rows := n.waitState(res.MessageID, "failed", 20*time.Second)
	rc := receipt(t, rows[0])
	if !strings.HasPrefix(rows[0].LastReason, "dropped by policy") || rc.Method != "" || len(rc.Skipped) != 1 || rc.Skipped[0].Method != "verified-tls" {
		t.Fatalf("dropped %q, receipt %+v", rows[0].LastReason, rc)
	}
	if _, err := store.PortalItemByRecipient(ctx, n.app.DB.Reader(), n.org.ID, rows[0].ID); err == nil {
		t.Fatal("a TLS-only recipient was handed to the portal")
	}
}

// expiry: once the tagged message's portal delivery expires, the portal
// refuses it, and the sweep records the expiry.
func (e *encWorld) expiry(ctx context.Context) {
	t, n := e.t, e.n
	t.Helper()
	b := n.browser()
	if r := b.do("GET", "/portal/m/"+e.tagged, nil); r.status != http.StatusOK {
		t.Fatalf("tagged link before expiry: %d", r.status)
	}
	n.clock.Advance(30*24*time.Hour + time.Minute)
	landing := b.do("GET", "/portal/m/"+e.tagged, nil)
	if landing.status != http.StatusGone || strings.Contains(landing.body, e.taggedPHI) {
		t.Fatalf("tagged link after expiry: %d", landing.status)
	}
	if _, err := n.app.Portal.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitStates waits until each recipient of msgID (by address) is in its
// state.
func (n *node) waitStates(msgID string, want map[string]string) {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]string{}
		for _, r := range n.rows(msgID) {
			email, err := n.app.Keys.Open(context.Background(), n.app.DB.Reader(), outbox.AddressAAD(n.org.ID, r.ID), r.Address)
			if err != nil {
				n.t.Fatal(err)
			}
			got[string(email)] = r.State + " (" + r.LastReason + ")"
		}
		done := len(got) == len(want)
		for k, v := range want {
			done = done && strings.HasPrefix(got[k], v+" ")
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(got)
			n.t.Fatalf("message %s: recipients %s, want %v", msgID, b, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *node) count(query string, args ...any) int {
	n.t.Helper()
	var c int
	if err := store.Scan(n.app.DB.Reader().QueryRow(context.Background(), query, args...), &c); err != nil {
		n.t.Fatal(err)
	}
	return c
}
