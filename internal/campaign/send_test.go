package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/tracking"
)

// TestCampaignSkipsWhoMustNotGetIt sends a campaign that uses PHI to a list
// holding every kind of contact that must be skipped, and checks each is
// skipped with its reason, the others get exactly one message, and the
// report says the same.
func TestCampaignSkipsWhoMustNotGetIt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ctx := context.Background()
		other := e.newList("Newsletter")
		ids := e.contacts(
			person{local: "ada", consent: true},
			person{local: "ben", consent: true, lists: []string{e.list, other}}, // in both lists: one message
			person{local: "cara"},                                               // no authorization
			person{local: "dev", consent: true, status: contact.Unsubscribed},
			person{local: "eli", consent: true, status: contact.Bounced}, // also suppressed by the status
			person{local: "fay", consent: true, status: contact.Complained},
			person{local: "gus", consent: true}, // leaves the list after it was prepared
			person{local: "hana", consent: true},
			person{local: "ivo", consent: true}, // unsubscribes through a link
		)
		// Hana's consent is revoked before the send.
		auths, err := e.a.Contacts.Authorizations(ctx, e.actor(), ids["hana"])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.Contacts.Revoke(ctx, e.actor(), auths[0].ID, time.Time{}, "letter"); err != nil {
			t.Fatal(err)
		}
		c := e.create(func(in *campaign.Input) { in.Audience.Lists = append(in.Audience.Lists, other) })
		c, err = e.svc.Send(ctx, e.admin(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
			t.Fatal(err)
		}
		// After preparing: Gus leaves the list, Ivo unsubscribes by link.
		if err := e.a.Contacts.SetMembers(ctx, e.actor(), e.list, []string{ids["gus"]}, contact.MemberUnsubscribed); err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.Tracking.Unsubscribe(ctx, e.unsubscribeToken("cmp_other", ids["ivo"], ""), tracking.SourceOneClick); err != nil {
			t.Fatal(err)
		}
		e.batches(c.ID)
		c = e.get(c.ID)
		if c.State != campaign.Completed || c.Targeted != 9 {
			t.Fatalf("campaign %s, %d targeted; want completed, 9", c.State, c.Targeted)
		}
		want := map[string]string{"ada": "", "ben": "", "cara": campaign.SkipNoConsent, "dev": campaign.SkipUnsubscribed,
			"eli": campaign.SkipSuppressed, "fay": campaign.SkipSuppressed, "gus": campaign.SkipLeftList,
			"hana": campaign.SkipNoConsent, "ivo": campaign.SkipUnsubscribed}
		got := e.recipients(c.ID)
		for who, reason := range want {
			r := got[ids[who]]
			switch {
			case reason == "" && (r.State != "sent" || r.MessageID == ""):
				t.Errorf("%s: %s %q, want sent", who, r.State, r.Reason)
			case reason != "" && (r.State != "skipped" || r.Reason != reason || r.MessageID != ""):
				t.Errorf("%s: %s %q, want skipped %q", who, r.State, r.Reason, reason)
			}
		}
		if n := e.count(`SELECT count(*) FROM messages WHERE org_id = ? AND source = 'campaign'`, e.org); n != 2 {
			t.Fatalf("%d campaign messages, want 2", n)
		}
		rep := e.report(c.ID, e.admin())
		if rep.Targeted.N != 9 || rep.Sent.N != 2 || rep.Pending.N != 0 || rep.Skipped[campaign.SkipNoConsent].N != 2 ||
			rep.Skipped[campaign.SkipSuppressed].N != 2 || rep.Skipped[campaign.SkipUnsubscribed].N != 2 || rep.Skipped[campaign.SkipLeftList].N != 1 {
			t.Fatalf("report: %+v", rep)
		}
		if rep.Delivery["queued"].N+rep.Delivery["delivered"].N+rep.Delivery["sending"].N != 2 || rep.Methods["tls"].N != 2 {
			t.Fatalf("report delivery %+v methods %+v", rep.Delivery, rep.Methods)
		}
	})
}
