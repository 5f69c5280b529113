package portalweb_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/portal"
	"github.com/carepost/carepost/internal/portal/portalweb"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webhook"
)

// The PHI of the message under test: none of it may reach a notification
// or a code email.
const (
	canary     = "CANARY-7f3a9c-PORTAL"
	subject    = "Biopsy results for Jane Roe, DOB 04/12/1961"
	bodyText   = "Dear Jane, your biopsy shows no malignancy. " + canary
	attachName = "jane-roe-pathology.pdf"
)

var (
	linkPattern = regexp.MustCompile(`/portal/m/(cpm_[A-Za-z0-9_-]{43})`)
	codePattern = regexp.MustCompile(`(?m)^\s+([0-9]{8})\s*$`)
)

// send submits the PHI message as the organization's owner and returns
// its id and the one recipient's result.
func (e *env) send(to string, security outbox.Security) (string, outbox.RecipientResult) {
	e.t.Helper()
	d := &message.Draft{From: message.Address{Name: "Dr. Ada Smith", Email: "clinic@clinic.example"}, To: []message.Address{{Email: to}},
		Subject: subject, Text: bodyText,
		HTML: `<p onclick="steal()">Dear Jane, your biopsy shows <b>no malignancy</b>. ` + canary + `</p><script>alert(1)</script>` +
			`<img src="https://tracker.example/pixel.gif" alt="logo">`,
		Attachments: []message.Attachment{{Filename: attachName, ContentType: "application/pdf", Content: []byte("%PDF-1.4 " + canary)}}}
	res, err := e.app.Outbox.Submit(context.Background(), outbox.Submission{OrgID: e.org.ID, Actor: audit.Actor{Type: audit.ActorUser, ID: e.owner.ID},
		SenderUserID: e.owner.ID, Source: outbox.SourceAPI, Draft: d, Security: security})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.MessageID, res.Recipients[0]
}

// item reads the portal item of a recipient.
func (e *env) item(recipientID string) store.PortalItemRow {
	e.t.Helper()
	it, err := store.PortalItemByRecipient(context.Background(), e.app.DB.Reader(), e.org.ID, recipientID)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// noPHI fails when mail the portal sent carries any of the message, in
// its bytes or its decoded text, and returns the decoded text.
func noPHI(t *testing.T, what string, raw []byte) string {
	t.Helper()
	parsed, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		t.Fatalf("%s does not parse: %v", what, err)
	}
	text, _ := parsed.TextContent()
	for _, s := range []string{canary, subject, "Jane", "biopsy", "malignancy", attachName, "1961"} {
		for _, in := range []string{string(raw), text, parsed.Subject} {
			if strings.Contains(strings.ToLower(in), strings.ToLower(s)) {
				t.Errorf("%s contains %q:\n%s", what, s, raw)
			}
		}
	}
	return text
}

func TestPortalEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		err := e.app.DB.Tx(ctx, func(tx *store.Tx) error {
			_, _, err := e.app.Webhooks.CreateEndpoint(ctx, tx, e.org.ID, webhook.EndpointInput{URL: "https://hooks.example.com/in",
				EventTypes: []string{webhook.EventOpened, webhook.EventDownloaded, webhook.EventReplied, webhook.EventRevoked, webhook.EventExpired}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		msgID, rc := e.send("patient@example.org", outbox.SecurityPortal)
		if rc.State != outbox.StatePortal {
			t.Fatalf("recipient state %q (%s), want portal", rc.State, rc.Reason)
		}
		it := e.item(rc.ID)
		if it.MessageID != msgID || it.NoticeID == "" || it.State != store.PortalActive {
			t.Fatalf("portal item %+v", it)
		}

		// The notification: organization, text, link; nothing of the message.
		notice := e.captured(it.NoticeID)
		text := noPHI(t, "notification", notice)
		if !strings.Contains(text, "Riverside Clinic") || !strings.Contains(text, "Sign in to the secure portal") {
			t.Fatalf("notification lacks the organization or its text:\n%s", notice)
		}
		m := linkPattern.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no portal link in the notification:\n%s", notice)
		}
		token := string(m[1])

		// A mail scanner's GETs change nothing: no code, no session.
		b := e.browser()
		for i := 0; i < 2; i++ {
			r := b.do("GET", "/portal/m/"+token, nil)
			if r.status != http.StatusOK || !strings.Contains(r.body, "Riverside Clinic") || strings.Contains(r.body, canary) {
				t.Fatalf("landing GET %d: %d %.300s", i, r.status, r.body)
			}
			checkHeaders(t, r)
		}
		if n := e.count(`SELECT count(*) FROM portal_codes`) + e.count(`SELECT count(*) FROM portal_sessions`); n != 0 {
			t.Fatalf("GET of the link created %d codes or sessions", n)
		}
		landing := b.do("GET", "/portal/m/"+token, nil)

		// Ask for a code: it arrives by email, without PHI.
		r := b.do("POST", "/portal/m/"+token+"/code", url.Values{"csrf": {landing.csrf(t)}, "method": {portal.ProofEmail}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("send code: %d %.300s", r.status, r.body)
		}
		code := e.waitCode(t, it.ID)

		// Without the CSRF token, nothing is checked.
		if r := b.do("POST", "/portal/m/"+token+"/verify", url.Values{"code": {code}}); r.status != http.StatusForbidden {
			t.Fatalf("verify without CSRF: %d", r.status)
		}
		// A wrong code is refused and counted.
		wrong := "00000000"
		if wrong == code {
			wrong = "11111111"
		}
		r = b.do("POST", "/portal/m/"+token+"/verify", url.Values{"csrf": {landing.csrf(t)}, "code": {wrong}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `role="alert"`) {
			t.Fatalf("wrong code: %d %.300s", r.status, r.body)
		}
		if it := e.item(rc.ID); it.FailedAttempts != 1 {
			t.Fatalf("failed attempts %d after a wrong code", it.FailedAttempts)
		}
		if got := e.audits("portal.verify"); len(got) != 1 || got[0] != "failure recipient:"+rc.ID {
			t.Fatalf("portal.verify entries %v", got)
		}
		if r := b.do("GET", "/portal/read", nil); r.status != http.StatusUnauthorized || strings.Contains(r.body, canary) {
			t.Fatalf("read before the proof: %d", r.status)
		}

		// The right code opens a portal session; the message shows, sanitized.
		r = b.do("POST", "/portal/m/"+token+"/verify", url.Values{"csrf": {landing.csrf(t)}, "code": {code}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/portal/read" {
			t.Fatalf("right code: %d %.300s", r.status, r.body)
		}
		read := b.do("GET", "/portal/read", nil)
		if read.status != http.StatusOK || !strings.Contains(read.body, canary) || !strings.Contains(read.body, attachName) {
			t.Fatalf("read: %d %.500s", read.status, read.body)
		}
		checkHeaders(t, read)
		for _, bad := range []string{"<script", "onclick", "tracker.example"} {
			if strings.Contains(read.body, bad) {
				t.Errorf("read page carries %q", bad)
			}
		}
		// The same code does not work twice.
		b2 := e.browser()
		l2 := b2.do("GET", "/portal/m/"+token, nil)
		if r := b2.do("POST", "/portal/m/"+token+"/verify", url.Values{"csrf": {l2.csrf(t)}, "code": {code}}); r.status != http.StatusBadRequest {
			t.Fatalf("a used code: %d", r.status)
		}

		// The attachment downloads as an attachment.
		dl := b.do("GET", "/portal/read/attachments/0", nil)
		if dl.status != http.StatusOK || dl.body != "%PDF-1.4 "+canary || dl.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") || dl.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("download: %d %v %q", dl.status, dl.header, dl.body)
		}

		// A reply reaches the sender through the outbox as a new message.
		r = b.do("POST", "/portal/read/reply", url.Values{"csrf": {read.csrf(t)}, "text": {"Thank you, doctor."}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("reply: %d %.300s", r.status, r.body)
		}
		var replyID, replySender string
		if err := store.Scan(e.app.DB.Reader().QueryRow(ctx, `SELECT id, sender_user_id FROM messages WHERE org_id = ? AND source = 'portal'`, e.org.ID),
			&replyID, &replySender); err != nil {
			t.Fatal(err)
		}
		reply := e.captured(replyID)
		if replySender != e.owner.ID || !bytes.Contains(reply, []byte("Thank you, doctor.")) || !bytes.Contains(reply, []byte("To: \"Dr. Ada Smith\" <clinic@clinic.example>")) {
			t.Fatalf("reply (sender %s):\n%s", replySender, reply)
		}

		// Revocation: the portal refuses at once, session and link alike.
		if _, err := e.app.Portal.Revoke(ctx, e.staff(access.MessagesSend), it.ID); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/portal/read", "/portal/m/" + token} {
			if r := b.do("GET", path, nil); strings.Contains(r.body, canary) || (r.status != http.StatusGone && r.status != http.StatusUnauthorized) {
				t.Fatalf("GET %s after revocation: %d", path, r.status)
			}
		}
		if r := b.do("GET", "/portal/m/"+token, nil); r.status != http.StatusGone {
			t.Fatalf("link after revocation: %d", r.status)
		}

		// Every step is an event (with webhooks) and an audit entry by the recipient.
		for _, typ := range []string{webhook.EventOpened, webhook.EventDownloaded, webhook.EventReplied, webhook.EventRevoked} {
			if n := e.count(`SELECT count(*) FROM events WHERE org_id = ? AND type = ? AND recipient_id = ?`, e.org.ID, typ, rc.ID); n != 1 {
				t.Errorf("%d %s events, want 1", n, typ)
			}
			if n := e.count(`SELECT count(*) FROM webhook_deliveries WHERE org_id = ? AND event_type = ?`, e.org.ID, typ); n != 1 {
				t.Errorf("%d %s webhook deliveries, want 1", n, typ)
			}
		}
		if n := e.count(`SELECT count(*) FROM events WHERE type = 'message.held' AND recipient_id = ? AND data LIKE '%"state":"portal"%'`, rc.ID); n != 1 {
			t.Errorf("%d portal handoff events", n)
		}
		want := map[string]string{"message.portal": "success system:portal", "portal.code.send": "success recipient:" + rc.ID,
			"portal.read": "success recipient:" + rc.ID, "portal.download": "success recipient:" + rc.ID,
			"portal.reply": "success recipient:" + rc.ID, "portal.revoke": "success user:" + e.owner.ID}
		for action, entry := range want {
			if got := e.audits(action); len(got) == 0 || got[0] != entry {
				t.Errorf("%s audit entries %v, want %q", action, got, entry)
			}
		}
		if got := e.audits("portal.verify"); len(got) != 3 || got[1] != "success recipient:"+rc.ID {
			t.Errorf("portal.verify entries %v", got)
		}
		rep, err := e.app.Audit.Verify(ctx, audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("audit chain: %v %v", err, rep.Problems())
		}
	})
}

// waitCode waits for the newest code email of an item and returns the
// code, checking the email carries no PHI.
func (e *env) waitCode(t *testing.T, itemID string) string {
	t.Helper()
	var codeMsg string
	deadline := time.Now().Add(10 * time.Second)
	for codeMsg == "" && time.Now().Before(deadline) {
		_ = store.Scan(e.app.DB.Reader().QueryRow(context.Background(), `SELECT id FROM messages WHERE org_id = ? AND tags LIKE '%portal-code%'
			AND metadata LIKE ? ORDER BY id DESC LIMIT 1`, e.org.ID, "%"+itemID+"%"), &codeMsg)
	}
	raw := e.captured(codeMsg)
	m := codePattern.FindStringSubmatch(noPHI(t, "code email", raw))
	if m == nil {
		t.Fatalf("no code in:\n%s", raw)
	}
	return string(m[1])
}

func checkHeaders(t *testing.T, r response) {
	t.Helper()
	if r.header.Get("Content-Security-Policy") != portalweb.CSP || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: CSP %q, Cache-Control %q", r.header.Get("Content-Security-Policy"), r.header.Get("Cache-Control"))
	}
	if strings.Contains(r.body, "http://") || strings.Contains(r.body, "https://") {
		t.Fatalf("page refers to another site: %.500s", r.body)
	}
}
