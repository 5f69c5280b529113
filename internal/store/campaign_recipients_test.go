package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestSettleCampaignRecipients holds both drivers' forms to the same
// rules: pending recipients of a sending campaign move to their new
// states and are returned; one settled before is neither moved nor
// returned; and nothing moves once the campaign is paused or in another
// epoch.
func TestSettleCampaignRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		db, _ := accountsFixture(t, d)
		ctx := context.Background()
		contacts := []string{"con_a", "con_b", "con_c", "con_d"}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			c := store.CampaignRow{OrgID: "org_1", ID: "cmp_1", Name: "Check-up", State: "sending", FromEmail: "news@clinic.example",
				TemplateID: "tpl_1", TemplateVersion: 1, Audience: "{}", Security: "auto", Epoch: 2, CreatedByType: "system",
				CreatedByID: "test", CreatedAt: t0, UpdatedAt: t0}
			if err := store.InsertCampaign(ctx, tx, c); err != nil {
				return err
			}
			_, err := store.WriteCampaignPage(ctx, tx, store.CampaignPage{OrgID: "org_1", CampaignID: "cmp_1", ContactIDs: contacts,
				At: t0, DueAt: t0}, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		settle := func(epoch int, rs ...store.CampaignRecipient) map[string]bool {
			t.Helper()
			var got map[string]bool
			if err := db.Tx(ctx, func(tx *store.Tx) error {
				var err error
				got, err = store.SettleCampaignRecipients(ctx, tx, "org_1", "cmp_1", epoch, rs, t0)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return got
		}
		sent := func(id string) store.CampaignRecipient {
			return store.CampaignRecipient{ContactID: id, State: "sent", MessageID: "msg_" + id}
		}
		skipped := store.CampaignRecipient{ContactID: "con_b", State: "skipped", Reason: "no_consent"}
		if got := settle(2, sent("con_a"), skipped); len(got) != 2 || !got["con_a"] || !got["con_b"] {
			t.Fatalf("first settle: %v", got)
		}
		// A batch run again after a crash: con_a is settled already.
		if got := settle(2, store.CampaignRecipient{ContactID: "con_a", State: "skipped", Reason: "x"}, sent("con_c")); len(got) != 1 || !got["con_c"] {
			t.Fatalf("settle again: %v", got)
		}
		// Another epoch (the campaign was paused and resumed), then paused.
		if got := settle(1, sent("con_d")); len(got) != 0 {
			t.Fatalf("an old epoch settled %v", got)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE campaigns SET state = 'paused' WHERE org_id = 'org_1' AND id = 'cmp_1'`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := settle(2, sent("con_d")); len(got) != 0 {
			t.Fatalf("a paused campaign settled %v", got)
		}
		want := map[string]store.CampaignRecipient{"con_a": sent("con_a"), "con_b": skipped, "con_c": sent("con_c"),
			"con_d": {ContactID: "con_d", State: "pending"}}
		rows, err := db.Reader().Query(ctx, `SELECT contact_id, state, reason, message_id FROM campaign_recipients
			WHERE org_id = 'org_1' AND campaign_id = 'cmp_1' ORDER BY contact_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var r store.CampaignRecipient
			if err := rows.Scan(&r.ContactID, &r.State, &r.Reason, &r.MessageID); err != nil {
				t.Fatal(err)
			}
			if w := want[r.ContactID]; r != w {
				t.Errorf("%s: %+v, want %+v", r.ContactID, r, w)
			}
			n++
		}
		if n != len(contacts) {
			t.Fatalf("%d rows", n)
		}
	})
}

// BenchmarkSettleCampaignRecipients settles a campaign's recipients a
// chunk of 200 at a time (an op), contact ids in order as a batch's are,
// on the default driver.
func BenchmarkSettleCampaignRecipients(b *testing.B) {
	db := storetest.Open(b, storetest.Default())
	ctx := context.Background()
	const n, chunk = 20000, 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("con_%08d", i)
	}
	err := db.Tx(ctx, func(tx *store.Tx) error {
		o := store.OrgRow{ID: "org_1", Name: "One", Status: store.OrgActive, IdleTimeoutS: 900, SessionLifetimeS: 43200, CreatedAt: t0, UpdatedAt: t0}
		if err := store.InsertOrganization(ctx, tx, o); err != nil {
			return err
		}
		c := store.CampaignRow{OrgID: "org_1", ID: "cmp_1", Name: "Check-up", State: "sending", FromEmail: "news@clinic.example",
			TemplateID: "tpl_1", TemplateVersion: 1, Audience: "{}", Security: "auto", Epoch: 1, CreatedByType: "system",
			CreatedByID: "test", CreatedAt: t0, UpdatedAt: t0}
		if err := store.InsertCampaign(ctx, tx, c); err != nil {
			return err
		}
		for s := 0; s < n; s += chunk {
			page := store.CampaignPage{OrgID: "org_1", CampaignID: "cmp_1", ContactIDs: ids[s : s+chunk], At: t0, DueAt: t0}
			if _, err := store.WriteCampaignPage(ctx, tx, page, s/chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	next := 0
	for b.Loop() {
		if next == n {
			b.StopTimer()
			if _, err := db.SQL().ExecContext(ctx, `UPDATE campaign_recipients SET state = 'pending', message_id = ''`); err != nil {
				b.Fatal(err)
			}
			next = 0
			b.StartTimer()
		}
		rs := make([]store.CampaignRecipient, chunk)
		for k, id := range ids[next : next+chunk] {
			rs[k] = store.CampaignRecipient{ContactID: id, State: "sent", MessageID: "msg_" + id}
		}
		next += chunk
		err := db.Tx(ctx, func(tx *store.Tx) error {
			got, err := store.SettleCampaignRecipients(ctx, tx, "org_1", "cmp_1", 1, rs, t0)
			if err == nil && len(got) != chunk {
				err = fmt.Errorf("settled %d of %d", len(got), chunk)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
