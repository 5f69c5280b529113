package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// webhookFixture adds organization org with one endpoint "ep1" and one
// event "evt1" with deliveries d1 and d2 to it.
func webhookFixture(t *testing.T, db *store.DB, org string) {
	t.Helper()
	ctx := context.Background()
	at := time.UnixMicro(1_700_000_000_000_000).UTC()
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(at)); err != nil {
			return err
		}
		if err := store.InsertWebhookEndpoint(ctx, tx, store.WebhookEndpoint{
			OrgID: org, ID: org + "_ep1", URL: "https://hooks.example.com/", EventTypes: "message.bounced",
			Secret: []byte{1, 2, 3}, DEKVersion: 1, Enabled: true, CreatedAt: at, UpdatedAt: at,
		}); err != nil {
			return err
		}
		if _, err := store.InsertWebhookEvent(ctx, tx, store.WebhookEvent{OrgID: org, ID: "evt1", Type: "message.bounced", Payload: []byte(`{}`), CreatedAt: at}); err != nil {
			return err
		}
		for _, id := range []string{"d1", "d2"} {
			if err := store.InsertWebhookDelivery(ctx, tx, store.WebhookDelivery{
				ID: org + "_" + id, OrgID: org, EndpointID: org + "_ep1", EventID: "evt1", EventType: "message.bounced",
				State: store.WebhookPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWebhookRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		webhookFixture(t, db, "org_a")
		webhookFixture(t, db, "org_b")

		ep, err := store.GetWebhookEndpoint(ctx, db.Reader(), "org_a", "org_a_ep1")
		if err != nil || !ep.Enabled || ep.PreviousSecret != nil || string(ep.Secret) != "\x01\x02\x03" || ep.EventTypes != "message.bounced" {
			t.Fatalf("endpoint %+v, %v", ep, err)
		}
		if _, err := store.GetWebhookEndpoint(ctx, db.Reader(), "org_b", "org_a_ep1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other org's endpoint: %v, want ErrNotFound", err)
		}
		fresh := true
		err = db.Tx(ctx, func(tx *store.Tx) error {
			fresh, err = store.InsertWebhookEvent(ctx, tx, store.WebhookEvent{OrgID: "org_a", ID: "evt1", Type: "message.bounced", Payload: []byte(`{}`)})
			return err
		})
		if err != nil || fresh {
			t.Fatalf("second insert of an event: %v, %v; want ignored", fresh, err)
		}

		// An attempt is recorded once: a second run of the same job
		// changes nothing.
		now := time.UnixMicro(1_700_000_001_000_000).UTC()
		next := now.Add(time.Minute)
		a := store.WebhookAttempt{DeliveryID: "org_a_d1", Attempt: 1, At: now, StatusCode: 500, Error: "http status 500", Duration: 1500 * time.Microsecond}
		for i, want := range []bool{true, false} {
			var ok bool
			err := db.Tx(ctx, func(tx *store.Tx) error {
				ok, err = store.RecordWebhookAttempt(ctx, tx, a, store.WebhookPending, next)
				return err
			})
			if err != nil || ok != want {
				t.Fatalf("record run %d = %v, %v; want %v", i+1, ok, err, want)
			}
		}
		dl, err := store.GetWebhookDelivery(ctx, db.Reader(), "org_a", "org_a_d1")
		if err != nil || dl.Attempts != 1 || dl.State != store.WebhookPending || !dl.NextAttemptAt.Equal(next) ||
			dl.LastStatusCode != 500 || dl.LastDuration != 1500*time.Microsecond || !dl.UpdatedAt.Equal(now) {
			t.Fatalf("delivery after attempt %+v, %v", dl, err)
		}
		attempts, err := store.ListWebhookAttempts(ctx, db.Reader(), "org_a", "org_a_d1")
		if err != nil || len(attempts) != 1 || attempts[0] != a {
			t.Fatalf("attempts %+v, %v; want [%+v]", attempts, err, a)
		}
		if _, err := store.ListWebhookAttempts(ctx, db.Reader(), "org_b", "org_a_d1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other org's attempts: %v, want ErrNotFound", err)
		}

		disp, err := store.GetWebhookDispatch(ctx, db.Reader(), "org_a_d2")
		if err != nil || disp.Endpoint.ID != "org_a_ep1" || string(disp.Payload) != "{}" || disp.Delivery.Attempts != 0 {
			t.Fatalf("dispatch %+v, %v", disp, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if err := store.DisableWebhookEndpoint(ctx, tx, "org_a", "org_a_ep1", "gone", now); err != nil {
				return err
			}
			ok, err := store.FailWebhookDelivery(ctx, tx, "org_a_d2", 0, "endpoint disabled", now)
			if err == nil && !ok {
				err = errors.New("pending delivery not failed")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		page, err := store.ListWebhookDeliveries(ctx, db.Reader(), "org_a", "org_a_ep1", "", 1)
		if err != nil || len(page) != 1 || page[0].ID != "org_a_d2" || page[0].State != store.WebhookFailed {
			t.Fatalf("first page %+v, %v", page, err)
		}
		page, err = store.ListWebhookDeliveries(ctx, db.Reader(), "org_a", "org_a_ep1", "org_a_d2", 10)
		if err != nil || len(page) != 1 || page[0].ID != "org_a_d1" {
			t.Fatalf("second page %+v, %v", page, err)
		}
		if page, _ := store.ListWebhookDeliveries(ctx, db.Reader(), "org_b", "org_a_ep1", "", 10); len(page) != 0 {
			t.Fatalf("org_b sees %d of org_a's deliveries", len(page))
		}

		// Deleting an endpoint takes its log with it, in its org only.
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteWebhookEndpoint(ctx, tx, "org_b", "org_a_ep1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete from the other org: %v, want ErrNotFound", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteWebhookEndpoint(ctx, tx, "org_a", "org_a_ep1") }); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetWebhookDispatch(ctx, db.Reader(), "org_a_d1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delivery of a deleted endpoint: %v, want ErrNotFound", err)
		}
		var n int
		if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT count(*) FROM webhook_attempts`), &n); err != nil || n != 0 {
			t.Fatalf("%d attempts left after the delete, %v", n, err)
		}
		if _, err := store.GetWebhookDispatch(ctx, db.Reader(), "org_b_d1"); err != nil {
			t.Fatalf("org_b's delivery after org_a's delete: %v", err)
		}
	})
}
