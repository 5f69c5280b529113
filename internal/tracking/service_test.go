package tracking_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/tracking"
)

var person = tracking.Client{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko)"}

func TestOpensAreRecordedAndMachinesFlagged(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		r := e.recipient(t, e.orgA)
		tok := tokenOf(t, r.OpenURL(), "/t/o/")
		e.now = e.now.Add(5 * time.Second)
		// Apple Mail Privacy Protection prefetches on delivery.
		if err := e.svc.Open(ctx, tok, tracking.Client{IP: "17.58.1.1", UserAgent: "Mozilla/5.0"}); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(time.Hour)
		for i := 0; i < 2; i++ {
			e.now = e.now.Add(time.Second) // event ids order by time
			if err := e.svc.Open(ctx, tok, person); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := e.svc.Report(ctx, e.orgA, r.CampaignID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Opens != (tracking.Count{Total: 2, Unique: 1, Machine: 1}) {
			t.Errorf("opens %+v, want 2 by the person (1 unique) and 1 machine", rep.Opens)
		}
		evs := e.events(t, e.orgA)
		if len(evs) != 3 || evs[0].Type != "message.opened" || !strings.Contains(evs[0].Data, `"machine":true`) ||
			!strings.Contains(evs[0].Data, `"machine_rule":"apple-mpp"`) || !strings.Contains(evs[1].Data, `"machine":false`) ||
			!strings.Contains(evs[1].Data, `"first":true`) || !strings.Contains(evs[2].Data, `"first":false`) {
			t.Fatalf("events %+v", evs)
		}
		if !strings.Contains(evs[1].Data, r.ContactID) || !strings.Contains(evs[1].Data, r.CampaignID) {
			t.Errorf("the event does not name the contact: %s", evs[1].Data)
		}
	})
}

func TestTamperedTokensRecordNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	r := e.recipient(t, e.orgA)
	lt := tracking.NewLinkTable(r.CampaignID)
	lt.Add("https://clinic.example/book")
	e.save(t, e.orgA, lt)
	open := tokenOf(t, r.OpenURL(), "/t/o/")
	click := tokenOf(t, r.ClickURL(0), "/t/c/")
	flip := func(tok string, at int) string {
		b, _ := base64.RawURLEncoding.DecodeString(tok)
		b[at] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsub := tokenOf(t, r.UnsubscribeURL(), "/u/")
	refuse := func(name, tok string, open, clk, uns bool) {
		if err := e.svc.Open(ctx, tok, person); open && !errors.Is(err, tracking.ErrInvalid) {
			t.Errorf("%s: open %v, want ErrInvalid", name, err)
		}
		if _, err := e.svc.Click(ctx, tok, person); clk && !errors.Is(err, tracking.ErrInvalid) {
			t.Errorf("%s: click %v, want ErrInvalid", name, err)
		}
		if _, err := e.svc.Unsubscribe(ctx, tok, tracking.SourceOneClick); uns && !errors.Is(err, tracking.ErrInvalid) {
			t.Errorf("%s: unsubscribe %v, want ErrInvalid", name, err)
		}
	}
	refuse("flipped payload", flip(open, 5), true, true, true)
	refuse("flipped mac", flip(open, len(open)*3/4-1), true, true, true)
	refuse("garbage", "not-a-token", true, true, true)
	refuse("empty", "", true, true, true)
	// A valid token is refused where another kind is expected.
	e.now = e.now.Add(time.Hour)
	if err := e.svc.Open(ctx, click, person); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("click token as open: %v", err)
	}
	if _, err := e.svc.Unsubscribe(ctx, open, tracking.SourceOneClick); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("open token as unsubscribe: %v", err)
	}
	if _, err := e.svc.Click(ctx, unsub, person); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("unsubscribe token as click: %v", err)
	}
	if _, err := e.svc.Click(ctx, flip(click, 40), person); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("tampered click: %v", err)
	}
	if evs := e.events(t, e.orgA); len(evs) != 0 {
		t.Fatalf("refused tokens recorded %d events", len(evs))
	}
	rep, _ := e.svc.Report(ctx, e.orgA, r.CampaignID)
	if rep.Opens != (tracking.Count{}) || rep.Clicks != (tracking.Count{}) || rep.Unsubscribes != 0 {
		t.Fatalf("refused tokens were counted: %+v", rep)
	}
}

func TestClickGoesOnlyToTheStoredURL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		r := e.recipient(t, e.orgA)
		lt := tracking.NewLinkTable(r.CampaignID)
		book := lt.Add("https://clinic.example/book?ref=checkup")
		guide := lt.Add("https://clinic.example/resources/gold")
		e.save(t, e.orgA, lt)
		urls := []string{r.ClickURL(book), r.ClickURL(guide), r.ClickURL(7)}
		e.now = e.now.Add(time.Minute) // the message was sent a minute ago
		for _, tt := range []struct {
			url  string
			want string
		}{{urls[0], "https://clinic.example/book?ref=checkup"}, {urls[1], "https://clinic.example/resources/gold"}, {urls[1], "https://clinic.example/resources/gold"}} {
			got, err := e.svc.Click(ctx, tokenOf(t, tt.url, "/t/c/"), person)
			if err != nil || got != tt.want {
				t.Fatalf("%s: %q %v, want %q", tt.url, got, err, tt.want)
			}
		}
		// A validly signed token for an index the table does not have.
		if _, err := e.svc.Click(ctx, tokenOf(t, urls[2], "/t/c/"), person); !errors.Is(err, tracking.ErrInvalid) {
			t.Fatalf("unknown link index: %v", err)
		}
		// The URL is sealed at rest.
		var raw []byte
		if err := store.Scan(e.app.DB.Reader().QueryRow(ctx, `SELECT url FROM tracking_links WHERE campaign_id = ? AND idx = 1`, r.CampaignID), &raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "clinic.example") {
			t.Fatal("link URL stored in clear")
		}
		rep, _ := e.svc.Report(ctx, e.orgA, r.CampaignID)
		if rep.Clicks != (tracking.Count{Total: 3, Unique: 1}) || len(rep.Links) != 2 ||
			rep.Links[1] != (tracking.LinkCount{Index: 1, Count: tracking.Count{Total: 2, Unique: 1}}) {
			t.Fatalf("clicks %+v per link %+v", rep.Clicks, rep.Links)
		}
		// A scanner's click redirects but counts as a machine's.
		if got, err := e.svc.Click(ctx, tokenOf(t, urls[0], "/t/c/"), tracking.Client{IP: "198.51.100.1", UserAgent: "Barracuda Sentinel"}); err != nil || got == "" {
			t.Fatal(err)
		}
		rep, _ = e.svc.Report(ctx, e.orgA, r.CampaignID)
		if rep.Clicks.Machine != 1 || rep.Clicks.Total != 3 {
			t.Fatalf("scanner click counted as a person's: %+v", rep.Clicks)
		}
		evs := e.events(t, e.orgA)
		links := map[string]int{}
		for _, ev := range evs {
			if ev.Type != "message.clicked" || strings.Contains(ev.Data, "clinic.example") {
				t.Fatalf("click event %+v: a click names its link by index, never by URL", ev)
			}
			links[ev.Data[strings.Index(ev.Data, `"link":`):][:8]]++
		}
		if len(evs) != 4 || links[`"link":0`] != 2 || links[`"link":1`] != 2 {
			t.Fatalf("click events %+v", evs)
		}
	})
}

func TestUnsubscribeIsIdempotent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		r := e.recipient(t, e.orgA)
		tok := tokenOf(t, r.UnsubscribeURL(), "/u/")
		for i := 0; i < 2; i++ {
			got, err := e.svc.Unsubscribe(ctx, tok, tracking.SourceOneClick)
			if err != nil || got.ContactID != r.ContactID || got.ListID != r.ListID {
				t.Fatalf("unsubscribe %d: %+v %v", i, got, err)
			}
		}
		if ok, err := e.local.Subscribed(ctx, e.orgA, r.ContactID, r.ListID); err != nil || ok {
			t.Fatalf("still subscribed to the list: %v %v", ok, err)
		}
		if ok, _ := e.local.Subscribed(ctx, e.orgA, r.ContactID, "lst_other"); !ok {
			t.Fatal("an unsubscribe from one list left every list")
		}
		evs := e.events(t, e.orgA)
		if len(evs) != 1 || evs[0].Type != "message.unsubscribed" || !strings.Contains(evs[0].Data, `"source":"one-click"`) {
			t.Fatalf("events %+v, want one message.unsubscribed", evs)
		}
		if rep, _ := e.svc.Report(ctx, e.orgA, r.CampaignID); rep.Unsubscribes != 1 {
			t.Fatalf("unsubscribes counted %d times", rep.Unsubscribes)
		}
		// The preference page shows the list and all mail; choosing the
		// list again works, leaving all mail is recorded.
		p, err := e.svc.Preferences(ctx, tok)
		if err != nil || len(p.Lists) != 2 || p.Lists[0].ID != "" || !p.Lists[0].Subscribed || p.Lists[1].Subscribed {
			t.Fatalf("preferences %+v %v", p, err)
		}
		p, err = e.svc.SetPreferences(ctx, tok, map[string]bool{r.ListID: true, "": false, "lst_not_shown": false})
		if err != nil || p.Lists[0].Subscribed || !p.Lists[1].Subscribed || len(p.Lists) != 2 {
			t.Fatalf("after changes %+v %v", p, err)
		}
		if ok, _ := e.local.Subscribed(ctx, e.orgA, r.ContactID, "lst_other"); ok {
			t.Fatal("leaving all marketing mail left the contact on other lists")
		}
		if err := e.svc.Complained(ctx, e.orgA, r.CampaignID, r.ContactID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Complained(ctx, e.orgA, r.CampaignID, r.ContactID); err != nil {
			t.Fatal(err)
		}
		if rep, _ := e.svc.Report(ctx, e.orgA, r.CampaignID); rep.Complaints != 1 {
			t.Fatalf("complaints %d", rep.Complaints)
		}
	})
}
