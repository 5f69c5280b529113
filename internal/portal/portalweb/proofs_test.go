package portalweb_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/portal"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webhook"
)

// opened sends the PHI message to to and returns the recipient, its item
// and the link token from the notification.
func (e *env) opened(to string, security outbox.Security) (outbox.RecipientResult, store.PortalItemRow, string) {
	e.t.Helper()
	_, rc := e.send(to, security)
	if rc.State != outbox.StatePortal {
		e.t.Fatalf("recipient %s: state %s (%s)", to, rc.State, rc.Reason)
	}
	it := e.item(rc.ID)
	m := linkPattern.FindStringSubmatch(noPHI(e.t, "notification", e.captured(it.NoticeID)))
	if m == nil {
		e.t.Fatal("no link in the notification")
	}
	return rc, it, m[1]
}

// proveByEmail takes a browser through the emailed code; it returns the
// read page.
func (b *browser) proveByEmail(it store.PortalItemRow, token string) response {
	b.t.Helper()
	l := b.do("GET", "/portal/m/"+token, nil)
	if r := b.do("POST", "/portal/m/"+token+"/code", url.Values{"csrf": {l.csrf(b.t)}, "method": {portal.ProofEmail}}); r.status != http.StatusSeeOther {
		b.t.Fatalf("send code: %d", r.status)
	}
	code := b.e.waitCode(b.t, it.ID)
	if r := b.do("POST", "/portal/m/"+token+"/verify", url.Values{"csrf": {l.csrf(b.t)}, "code": {code}}); r.status != http.StatusSeeOther {
		b.t.Fatalf("verify: %d %.300s", r.status, r.body)
	}
	return b.do("GET", "/portal/read", nil)
}

// TestExpiry: a message to an always-portal domain (PHI to gmail.com goes
// by portal whatever its TLS) expires after the default 30 days; the
// portal refuses it at once, and the sweep records message.expired.
func TestExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		rc, it, token := e.opened("patient@gmail.com", outbox.SecurityAuto)
		if !it.ExpiresAt.Equal(it.CreatedAt.Add(30 * 24 * time.Hour)) {
			t.Fatalf("expires %v, created %v", it.ExpiresAt, it.CreatedAt)
		}
		b := e.browser()
		if r := b.proveByEmail(it, token); r.status != http.StatusOK || !strings.Contains(r.body, canary) {
			t.Fatalf("read before expiry: %d", r.status)
		}
		e.clock.Advance(30*24*time.Hour + time.Second)
		for _, path := range []string{"/portal/m/" + token} {
			if r := e.browser().do("GET", path, nil); r.status != http.StatusGone || strings.Contains(r.body, canary) {
				t.Fatalf("GET %s after expiry: %d", path, r.status)
			}
		}
		if r := b.do("GET", "/portal/read", nil); strings.Contains(r.body, canary) || r.status == http.StatusOK {
			t.Fatalf("session read after expiry: %d", r.status)
		}
		n, err := e.app.Portal.ExpireDue(ctx)
		if err != nil || n != 1 {
			t.Fatalf("ExpireDue = %d, %v", n, err)
		}
		if n, _ := e.app.Portal.ExpireDue(ctx); n != 0 {
			t.Fatalf("second sweep expired %d", n)
		}
		if n := e.count(`SELECT count(*) FROM events WHERE type = ? AND recipient_id = ?`, webhook.EventExpired, rc.ID); n != 1 {
			t.Fatalf("%d expired events", n)
		}
		if got := e.audits("portal.expire"); len(got) != 1 || got[0] != "success system:portal" {
			t.Fatalf("portal.expire entries %v", got)
		}
		if it := e.item(rc.ID); it.State != store.PortalExpired || it.ExpiredAt.IsZero() {
			t.Fatalf("item after the sweep: %+v", it)
		}
		// Revoking an expired delivery changes nothing.
		del, err := e.app.Portal.Revoke(ctx, e.staff(access.MessagesRevoke), it.ID)
		if err != nil || del.State != store.PortalExpired {
			t.Fatalf("revoke after expiry: %+v %v", del, err)
		}
	})
}

var secretPattern = regexp.MustCompile(`<code id="secret" class="secret">([A-Z2-7]+)</code>`)

// TestPassphraseAccountAndLockout: the sender's passphrase, a portal
// account (password and TOTP) created after an emailed code, and the lock
// after repeated failures.
func TestPassphraseAccountAndLockout(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	_, it, token := e.opened("patient@example.org", outbox.SecurityPortal)

	// Only the sender (or messages:revoke) sets a passphrase.
	pass := "correct horse battery staple"
	if _, err := e.app.Portal.SetProof(ctx, e.staff(access.MessagesReadAll), it.ID, portal.Proof{Passphrase: &pass}); !errors.Is(err, portal.ErrForbidden) {
		t.Fatalf("SetProof without messages:revoke by another: %v", err)
	}
	short := "short"
	if _, err := e.app.Portal.SetProof(ctx, e.staff(access.MessagesSend), it.ID, portal.Proof{Passphrase: &short}); err == nil {
		t.Fatal("a 5-character passphrase was accepted")
	}
	if _, err := e.app.Portal.SetProof(ctx, e.staff(access.MessagesSend), it.ID, portal.Proof{Passphrase: &pass}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	l := b.do("GET", "/portal/m/"+token, nil)
	if !strings.Contains(l.body, `action="/portal/m/`+token+`/passphrase"`) {
		t.Fatal("the landing page does not offer the passphrase")
	}
	if r := b.do("POST", "/portal/m/"+token+"/passphrase", url.Values{"csrf": {l.csrf(t)}, "passphrase": {"wrong horse"}}); r.status != http.StatusBadRequest {
		t.Fatalf("wrong passphrase: %d", r.status)
	}
	if r := b.do("POST", "/portal/m/"+token+"/passphrase", url.Values{"csrf": {l.csrf(t)}, "passphrase": {pass}}); r.status != http.StatusSeeOther {
		t.Fatalf("passphrase: %d %.300s", r.status, r.body)
	}
	read := b.do("GET", "/portal/read", nil)
	if read.status != http.StatusOK || !strings.Contains(read.body, canary) {
		t.Fatalf("read after the passphrase: %d", read.status)
	}
	if strings.Contains(read.body, `action="/portal/account"`) {
		t.Fatal("a passphrase session may create an account (it does not prove the address)")
	}

	// An emailed code proves the address: the recipient creates an account.
	b = e.browser()
	read = b.proveByEmail(it, token)
	if !strings.Contains(read.body, `action="/portal/account"`) {
		t.Fatal("no account offer after an emailed code")
	}
	pw := "lantern orchard velvet quarry 1961x"
	r := b.do("POST", "/portal/account", url.Values{"csrf": {read.csrf(t)}, "password": {pw}, "password2": {pw}})
	m := secretPattern.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil || !strings.Contains(r.body, `src="data:image/png;base64,`) {
		t.Fatalf("create account: %d %.500s", r.status, r.body)
	}
	code, _ := totp.GenerateCode(m[1], e.clock.Now())
	if r := b.do("POST", "/portal/account/confirm", url.Values{"csrf": {read.csrf(t)}, "code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("confirm account: %d %.300s", r.status, r.body)
	}
	if got := e.audits("portal.account.create"); len(got) != 1 {
		t.Fatalf("portal.account.create entries %v", got)
	}

	// A returning recipient signs in with it; a TOTP code works once.
	e.clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(m[1], e.clock.Now())
	b = e.browser()
	l = b.do("GET", "/portal/m/"+token, nil)
	if !strings.Contains(l.body, `/signin"`) {
		t.Fatal("the landing page does not offer the account")
	}
	if r := b.do("POST", "/portal/m/"+token+"/signin", url.Values{"csrf": {l.csrf(t)}, "password": {pw}, "totp": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("account sign-in: %d %.300s", r.status, r.body)
	}
	b2 := e.browser()
	l2 := b2.do("GET", "/portal/m/"+token, nil)
	if r := b2.do("POST", "/portal/m/"+token+"/signin", url.Values{"csrf": {l2.csrf(t)}, "password": {pw}, "totp": {code}}); r.status != http.StatusBadRequest {
		t.Fatalf("a TOTP code used twice: %d", r.status)
	}

	// max_failures wrong proofs lock the message, even for the right proof.
	for i := 0; i < 10; i++ {
		if r := b2.do("POST", "/portal/m/"+token+"/passphrase", url.Values{"csrf": {l2.csrf(t)}, "passphrase": {"nope nope nope"}}); r.status != http.StatusBadRequest && r.status != http.StatusTooManyRequests {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	if r := b2.do("POST", "/portal/m/"+token+"/passphrase", url.Values{"csrf": {l2.csrf(t)}, "passphrase": {pass}}); r.status != http.StatusTooManyRequests {
		t.Fatalf("the right passphrase while locked: %d", r.status)
	}
	e.clock.Advance(16 * time.Minute)
	if r := b2.do("POST", "/portal/m/"+token+"/passphrase", url.Values{"csrf": {l2.csrf(t)}, "passphrase": {pass}}); r.status != http.StatusSeeOther {
		t.Fatalf("the right passphrase after the lockout: %d", r.status)
	}
}

// TestSessionsAndThrottles: codes are throttled; a portal session times
// out when idle; a staff session is no portal session and the other way
// round.
func TestSessionsAndThrottles(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	_, it, token := e.opened("patient@example.org", outbox.SecurityPortal)
	b := e.browser()
	read := b.proveByEmail(it, token)
	if read.status != http.StatusOK {
		t.Fatalf("read: %d", read.status)
	}
	l := b.do("GET", "/portal/m/"+token, nil)
	if r := b.do("POST", "/portal/m/"+token+"/code", url.Values{"csrf": {l.csrf(t)}, "method": {portal.ProofEmail}}); r.status != http.StatusTooManyRequests {
		t.Fatalf("a second code within the cooldown: %d", r.status)
	}
	if r := b.do("POST", "/portal/m/"+token+"/code", url.Values{"csrf": {l.csrf(t)}, "method": {portal.ProofSMS}}); r.status != http.StatusBadRequest {
		t.Fatalf("an SMS code without an SMS provider: %d", r.status)
	}
	// A portal cookie is not a staff credential.
	var portalCookie string
	for _, c := range b.client.Jar.Cookies(mustURL(t, e.url)) {
		if c.Name == "__Host-carepost-portal" {
			portalCookie = c.Value
		}
	}
	if portalCookie == "" {
		t.Fatal("no portal session cookie")
	}
	staff := e.browser()
	staff.client.Jar.SetCookies(mustURL(t, e.url), []*http.Cookie{{Name: "__Host-carepost-session", Value: portalCookie}})
	if r := staff.do("GET", "/api/v1/me", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("a portal session token as a staff session: %d", r.status)
	}
	if r := staff.do("GET", "/portal/read", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("portal read with only a staff cookie: %d", r.status)
	}
	// Idle timeout.
	e.clock.Advance(11 * time.Minute)
	if r := b.do("GET", "/portal/read", nil); r.status != http.StatusUnauthorized || strings.Contains(r.body, canary) {
		t.Fatalf("read after 11 idle minutes: %d", r.status)
	}
}

// TestNotificationSubject: the subject appears in the notification only
// when the organization shows subjects and policy found no PHI in it.
func TestNotificationSubject(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	owner := e.staff(access.SettingsWrite)
	if _, err := e.app.Portal.PutSettings(ctx, owner, portal.Settings{Expiry: 7 * 24 * time.Hour,
		NotificationText: "Patient SSN 078-05-1121 inside", ShowSubject: true}); err == nil {
		t.Fatal("a notification text with an SSN was accepted")
	}
	if _, err := e.app.Portal.PutSettings(ctx, owner, portal.Settings{Expiry: 7 * 24 * time.Hour,
		NotificationText: "Please sign in to read it.", ShowSubject: true}); err != nil {
		t.Fatal(err)
	}
	send := func(subject string) (string, store.PortalItemRow) {
		res, err := e.app.Outbox.Submit(ctx, outbox.Submission{OrgID: e.org.ID, Actor: audit.Actor{Type: audit.ActorUser, ID: e.owner.ID},
			SenderUserID: e.owner.ID, Source: outbox.SourceAPI, Security: outbox.SecurityPortal, Draft: &message.Draft{
				From: message.Address{Email: "clinic@clinic.example"}, To: []message.Address{{Email: "p@example.org"}}, Subject: subject, Text: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		it := e.item(res.Recipients[0].ID)
		parsed, err := message.Inspect(e.captured(it.NoticeID), message.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return parsed.Subject, it
	}
	if got, it := send("Your appointment next week"); got != "Secure message from Riverside Clinic: Your appointment next week" ||
		!it.ExpiresAt.Equal(it.CreatedAt.Add(7*24*time.Hour)) {
		t.Fatalf("subject %q, expiry %v", got, it.ExpiresAt.Sub(it.CreatedAt))
	}
	if got, _ := send("Results, SSN 078-05-1121"); got != "Secure message from Riverside Clinic" {
		t.Fatalf("a subject with PHI reached the notification: %q", got)
	}
}

// TestHandoffDeclines: the portal refuses a recipient whose methods do
// not include it (a no-PHI message queued at opportunistic TLS), and
// leaves it as it was.
func TestHandoffDeclines(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	res, err := e.app.Outbox.Submit(ctx, outbox.Submission{OrgID: e.org.ID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"},
		Source: outbox.SourceSystem, NonPHI: true, Draft: &message.Draft{From: message.Address{Email: "clinic@clinic.example"},
			To: []message.Address{{Email: "p@example.org"}}, Subject: "Office hours", Text: "We open at 9."}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.app.DB.Tx(ctx, func(tx *store.Tx) error {
		return e.app.Portal.Handoff(ctx, tx, e.org.ID, res.MessageID, res.Recipients[0].ID)
	})
	if !errors.Is(err, portal.ErrDeclined) || !errors.Is(err, outbox.ErrPortalDeclined) {
		t.Fatalf("Handoff of an opportunistic recipient: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM portal_items`); n != 0 {
		t.Fatalf("%d portal items", n)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
