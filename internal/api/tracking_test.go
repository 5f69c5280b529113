package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/tracking"
)

// The tracking endpoints on a real node: tokens minted as the campaign
// engine mints them, requests as a mail client or a person makes them.

// pathOf is a tracking URL's path (the node listens elsewhere than the
// public URL says).
func pathOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// form posts a form as a browser or mail client would: no credential.
func form(t *testing.T, e *apitest.Env, path string, values url.Values) apitest.Response {
	t.Helper()
	return e.DoWith(t, "POST", path, []byte(values.Encode()), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
}

// tamper changes one character in the middle of a token.
func tamper(tok string) string {
	i := len(tok) / 2
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func counters(t *testing.T, e *apitest.Env, campaign string) map[string]int64 {
	t.Helper()
	cs, err := store.TrackingCountersOf(context.Background(), e.App.DB.Reader(), e.A.Org.ID, campaign)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range cs {
		if c.Index == -1 {
			out[c.Kind] = c.Total
		}
	}
	return out
}

func contactStatus(t *testing.T, e *apitest.Env, contactID string) (string, map[string]string) {
	t.Helper()
	var c struct {
		Status string
		Lists  map[string]string
	}
	e.Do(t, e.A.Key, "GET", v1+"/contacts/"+contactID, nil).JSON(t, &c)
	return c.Status, c.Lists
}

func TestTrackingEndpoints(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		ctx := context.Background()
		con := newContact(t, e, e.A)
		var lst struct{ ID string }
		e.Do(t, e.A.Key, "POST", v1+"/lists", map[string]any{"name": "Diabetes programme"}).JSON(t, &lst)
		if r := e.Do(t, e.A.Key, "POST", v1+"/lists/"+lst.ID+"/members", map[string]any{"contact_ids": []string{con}}); r.Status != 200 {
			t.Fatalf("members: %d %s", r.Status, r.Body)
		}
		is, err := e.App.Tracking.Issuer(ctx, e.A.Org.ID)
		if err != nil {
			t.Fatal(err)
		}
		campaign := id.New("cmp")
		rc := tracking.Recipient{Issuer: is, CampaignID: campaign, ContactID: con, ListID: lst.ID, Method: policy.VerifiedTLS}
		links := tracking.NewLinkTable(campaign)
		html, err := tracking.Rewrite(`<p><a href="https://clinic.example/book?slot=9">Book</a></p>`, rc, links)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.App.DB.Tx(ctx, func(tx *store.Tx) error { return e.App.Tracking.SaveLinks(ctx, tx, e.A.Org.ID, links) }); err != nil {
			t.Fatal(err)
		}
		click, open, unsubURL, prefsURL := rc.ClickURL(0), rc.OpenURL(), rc.UnsubscribeURL(), rc.PreferencesURL()
		if !strings.Contains(html, click[strings.Index(click, "/t/c/"):]) {
			t.Fatalf("rewritten html %s lacks %s", html, click)
		}

		// A click redirects to the link table's URL and is counted (a
		// minute after sending: sooner is a machine's).
		e.Clock.Advance(time.Minute)
		r := e.DoWith(t, "GET", pathOf(t, click), nil, func(r *http.Request) { r.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh) Safari") })
		if r.Status != http.StatusFound || r.Header.Get("Location") != "https://clinic.example/book?slot=9" {
			t.Fatalf("click: %d %v", r.Status, r.Header)
		}
		if c := counters(t, e, campaign); c["click"] != 1 {
			t.Fatalf("counters after a click: %v", c)
		}
		// A tampered click token is refused and nothing is recorded.
		tok := strings.TrimPrefix(pathOf(t, click), "/t/c/")
		for _, bad := range []string{tamper(tok), tok[:len(tok)-2], "not-a-token", strings.TrimPrefix(pathOf(t, open), "/t/o/")} {
			r := e.Do(t, "", "GET", "/t/c/"+bad, nil)
			if r.Status != http.StatusNotFound || r.Header.Get("Location") != "" || strings.Contains(string(r.Body), "clinic.example") {
				t.Fatalf("tampered click %q: %d %v", bad, r.Status, r.Header)
			}
		}
		if c := counters(t, e, campaign); c["click"] != 1 {
			t.Fatalf("a refused click was counted: %v", c)
		}

		// The open pixel.
		r = e.DoWith(t, "GET", pathOf(t, open), nil, func(r *http.Request) { r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0) Thunderbird/128") })
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/gif" || len(r.Body) == 0 || !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("pixel: %d %v", r.Status, r.Header)
		}
		if r := e.Do(t, "", "GET", "/t/o/"+tamper(strings.TrimSuffix(strings.TrimPrefix(pathOf(t, open), "/t/o/"), ".gif"))+".gif", nil); r.Status != http.StatusNotFound {
			t.Fatalf("tampered pixel: %d", r.Status)
		}
		if c := counters(t, e, campaign); c["open"] != 1 {
			t.Fatalf("counters after an open: %v", c)
		}

		// Unsubscribe: a GET (a scanner following the link) changes nothing.
		unsub := pathOf(t, unsubURL)
		for range 3 {
			r = e.Do(t, "", "GET", unsub, nil)
			if r.Status != 200 || !strings.Contains(string(r.Body), `<form method="post" action="`+unsub+`"`) {
				t.Fatalf("unsubscribe page: %d %s", r.Status, r.Body)
			}
		}
		if _, lists := contactStatus(t, e, con); lists[lst.ID] != "subscribed" || counters(t, e, campaign)["unsubscribe"] != 0 {
			t.Fatalf("a GET unsubscribed: %v %v", lists, counters(t, e, campaign))
		}
		// A POST without the one-click body changes nothing either.
		if r := form(t, e, unsub, url.Values{"x": {"y"}}); r.Status != http.StatusBadRequest {
			t.Fatalf("POST without a body: %d", r.Status)
		}
		if r := form(t, e, "/u/"+tamper(strings.TrimPrefix(unsub, "/u/")), url.Values{"List-Unsubscribe": {"One-Click"}}); r.Status != http.StatusNotFound {
			t.Fatalf("tampered unsubscribe: %d", r.Status)
		}
		if _, lists := contactStatus(t, e, con); lists[lst.ID] != "subscribed" {
			t.Fatalf("unsubscribed without a valid one-click POST: %v", lists)
		}
		// RFC 8058 one-click POST: unsubscribes from the list, idempotently.
		for range 2 {
			if r := form(t, e, unsub, url.Values{"List-Unsubscribe": {"One-Click"}}); r.Status != 200 {
				t.Fatalf("one-click: %d %s", r.Status, r.Body)
			}
		}
		status, lists := contactStatus(t, e, con)
		if status != "subscribed" || lists[lst.ID] != "unsubscribed" || counters(t, e, campaign)["unsubscribe"] != 1 {
			t.Fatalf("after one-click: %s %v %v", status, lists, counters(t, e, campaign))
		}
		if n := countAudit(t, e, "contact.unsubscribe"); n != 1 {
			t.Fatalf("%d contact.unsubscribe entries, want 1", n)
		}

		// The preference page: leave all marketing mail, keeping nothing.
		prefs := pathOf(t, prefsURL)
		r = e.Do(t, "", "GET", prefs, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), "Diabetes programme") || !strings.Contains(string(r.Body), "All marketing emails") {
			t.Fatalf("preferences: %d %s", r.Status, r.Body)
		}
		r = form(t, e, prefs, url.Values{"shown": {"*", lst.ID}})
		if r.Status != 200 || !strings.Contains(string(r.Body), "saved") {
			t.Fatalf("save preferences: %d %s", r.Status, r.Body)
		}
		if status, _ := contactStatus(t, e, con); status != "unsubscribed" {
			t.Fatalf("after preferences: %s", status)
		}
		// And back: the page's tick resubscribes.
		form(t, e, prefs, url.Values{"shown": {"*", lst.ID}, "subscribed": {"*", lst.ID}})
		if status, lists := contactStatus(t, e, con); status != "subscribed" || lists[lst.ID] != "subscribed" {
			t.Fatalf("after resubscribing: %s %v", status, lists)
		}
		// The page's button (a person) unsubscribes too.
		all := tracking.Recipient{Issuer: is, CampaignID: campaign, ContactID: con, Method: policy.VerifiedTLS}
		if r := form(t, e, pathOf(t, all.UnsubscribeURL()), url.Values{"unsubscribe": {"page"}}); r.Status != 200 || !strings.Contains(string(r.Body), "You are unsubscribed") {
			t.Fatalf("page button: %d %s", r.Status, r.Body)
		}
		if status, _ := contactStatus(t, e, con); status != "unsubscribed" {
			t.Fatalf("after the page button: %s", status)
		}
		// A token of organization B naming A's contact reaches nothing of A.
		form(t, e, prefs, url.Values{"shown": {"*"}, "subscribed": {"*"}})
		before := countAudit(t, e, "contact.unsubscribe")
		isB, _ := e.App.Tracking.Issuer(ctx, e.B.Org.ID)
		rb := tracking.Recipient{Issuer: isB, CampaignID: campaign, ContactID: con, Method: policy.VerifiedTLS}
		if r := form(t, e, pathOf(t, rb.UnsubscribeURL()), url.Values{"List-Unsubscribe": {"One-Click"}}); r.Status != 200 {
			t.Fatalf("org B token for a contact it does not have: %d", r.Status)
		}
		if status, _ := contactStatus(t, e, con); status != "subscribed" || countAudit(t, e, "contact.unsubscribe") != before {
			t.Fatalf("org B's token changed org A's contact: %s", status)
		}
	})
}
