package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

var q0 = time.UnixMicro(1_700_000_000_000_000).UTC()

// queueFixture adds organization org with one message and n queued
// recipients at domain, due at q0.
func queueFixture(t *testing.T, db *store.DB, org, domain string, n int) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, org, org, store.Micros(q0)); err != nil {
			return err
		}
		msg := org + "_msg_" + domain
		if err := store.InsertMessage(ctx, tx, store.MessageRow{ID: msg, OrgID: org, Source: "api", SubmitterType: "apikey",
			MailFrom: "a@sender.example", FromDomain: "sender.example", Security: "auto", PHI: true, Size: 1, Content: []byte{1},
			DEKVersion: 1, Tags: "[]", Metadata: "{}", Recipients: n, CreatedAt: q0, ExpiresAt: q0.Add(time.Hour)}); err != nil {
			return err
		}
		rows := make([]store.RecipientRow, n)
		for i := range rows {
			rows[i] = store.RecipientRow{ID: fmt.Sprintf("%s_r%03d", msg, i), OrgID: org, MessageID: msg, Ord: i, Kind: "to",
				Address: []byte{1}, AddressIndex: []byte(fmt.Sprint(i)), Domain: domain, State: "queued", Level: "verified-tls",
				Rule: "test", NextAttemptAt: q0, DEKVersion: 1, UpdatedAt: q0}
		}
		return store.InsertRecipients(ctx, tx, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func claim(t *testing.T, db *store.DB, domain string, now, lease time.Time, n int) []store.RecipientRow {
	t.Helper()
	var got []store.RecipientRow
	err := db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		got, err = store.ClaimRecipients(context.Background(), tx, domain, now, lease, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestClaimLeaseAndOutcome(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		queueFixture(t, db, "org_a", "dest.example", 5)
		queueFixture(t, db, "org_b", "other.example", 2)

		lease := q0.Add(10 * time.Minute)
		first := claim(t, db, "dest.example", q0, lease, 3)
		if len(first) != 3 || first[0].State != "sending" || !first[0].LeaseUntil.Equal(lease) || first[0].Domain != "dest.example" {
			t.Fatalf("first claim: %d rows, %+v", len(first), first[0])
		}
		if rest := claim(t, db, "dest.example", q0, lease, 10); len(rest) != 2 {
			t.Fatalf("second claim took %d rows, want the 2 left", len(rest))
		}
		if none := claim(t, db, "dest.example", q0.Add(time.Minute), lease, 10); len(none) != 0 {
			t.Fatalf("claimed %d rows under a live lease", len(none))
		}
		// An expired lease makes the rows due again, under a new token.
		later := lease.Add(time.Second)
		again := claim(t, db, "dest.example", later, later.Add(10*time.Minute), 1)
		if len(again) != 1 {
			t.Fatalf("reclaim after the lease: %d rows", len(again))
		}
		var outs []store.RecipientOutcome
		for _, r := range first {
			outs = append(outs, store.RecipientOutcome{ID: r.ID, Lease: lease, State: "delivered", Attempts: 1,
				LastCode: 250, Receipt: `{"mx":"mx"}`, UpdatedAt: later, FinishedAt: later})
		}
		var applied []bool
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			applied, err = store.RecordOutcomes(ctx, tx, outs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		lost := 0
		for i, ok := range applied {
			if !ok {
				lost++
				if first[i].ID != again[0].ID {
					t.Errorf("outcome of %s refused; only the reclaimed %s should be", first[i].ID, again[0].ID)
				}
			}
		}
		if lost > 1 {
			t.Fatalf("%d outcomes refused, want at most the one row claimed again", lost)
		}
		rows, err := store.RecipientsOfMessage(ctx, db.Reader(), "org_a", "org_a_msg_dest.example")
		if err != nil {
			t.Fatal(err)
		}
		delivered := 0
		for _, r := range rows {
			if r.State == "delivered" {
				delivered++
				if r.Receipt == "" || r.LastCode != 250 || !r.LeaseUntil.IsZero() {
					t.Errorf("delivered row %+v", r)
				}
			}
		}
		if delivered != 3-lost {
			t.Fatalf("%d delivered rows, want %d", delivered, 3-lost)
		}
		due, err := store.DueRetryDomains(ctx, db.Reader(), later.Add(time.Hour), 10)
		if err != nil || len(due) != 1 || due[0] != "dest.example" {
			t.Fatalf("due retry domains %v, %v; want the domain with sending rows past their lease", due, err)
		}
		depth, err := store.QueueDepth(ctx, db.Reader())
		if err != nil || depth["queued"] != 2 || depth["sending"] != int64(2+lost) {
			t.Fatalf("queue depth %v, %v", depth, err)
		}
	})
}

// TestConcurrentClaimsAreDisjoint is the property several nodes rely on:
// claims racing on one domain never take the same row.
func TestConcurrentClaimsAreDisjoint(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		db := storetest.Open(t, d)
		queueFixture(t, db, "org_a", "dest.example", 200)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lease := q0.Add(time.Duration(w+1) * time.Minute)
				for {
					var got []store.RecipientRow
					err := db.Tx(context.Background(), func(tx *store.Tx) error {
						var err error
						got, err = store.ClaimRecipients(context.Background(), tx, "dest.example", q0, lease, 7)
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, r := range got {
						seen[r.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 200 {
			t.Fatalf("%d rows claimed, want 200", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s claimed %d times", id, n)
			}
		}
	})
}

func TestDeliverySlots(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		tx := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		arm := func(force bool) (armed bool) {
			tx(func(tx *store.Tx) error {
				var err error
				armed, err = store.ArmDelivery(ctx, tx, "dest.example", q0, force)
				return err
			})
			return armed
		}
		if !arm(false) || arm(false) || arm(false) {
			t.Fatal("an unarmed domain arms once; an armed one does not arm again")
		}
		if !arm(true) {
			t.Fatal("force re-arms")
		}
		stale, err := store.StaleDeliveries(ctx, db.Reader(), q0, 10)
		if err != nil || len(stale) != 1 || stale[0] != "dest.example" {
			t.Fatalf("stale %v, %v", stale, err)
		}
		lease := q0.Add(time.Minute)
		tx(func(tx *store.Tx) error {
			head, err := store.StartDelivery(ctx, tx, "dest.example", 3)
			if err != nil || len(head.Busy) != 3 || !head.Busy[0].IsZero() {
				return fmt.Errorf("start: %+v, %v", head, err)
			}
			return store.HoldDeliverySlot(ctx, tx, "dest.example", 1, lease)
		})
		if !arm(false) {
			t.Fatal("a started domain arms again for the next submission")
		}
		if stale, _ := store.StaleDeliveries(ctx, db.Reader(), q0.Add(-time.Second), 10); len(stale) != 0 {
			t.Fatal("a freshly armed domain counts as stale")
		}
		tx(func(tx *store.Tx) error {
			head, err := store.StartDelivery(ctx, tx, "dest.example", 3)
			if err != nil || !head.Busy[1].Equal(lease) || !head.Busy[0].IsZero() {
				return fmt.Errorf("second start: %+v, %v; want slot 1 held", head, err)
			}
			if err := store.ReleaseDeliverySlot(ctx, tx, "dest.example", 1, lease.Add(time.Second)); err != nil {
				return err
			}
			if head, _ := store.StartDelivery(ctx, tx, "dest.example", 3); !head.Busy[1].Equal(lease) {
				return errors.New("a release with another lease freed the slot")
			}
			if err := store.LockDelivery(ctx, tx, "dest.example"); err != nil {
				return err
			}
			if err := store.ReleaseDeliverySlot(ctx, tx, "dest.example", 1, lease); err != nil {
				return err
			}
			if head, _ := store.StartDelivery(ctx, tx, "dest.example", 3); !head.Busy[1].IsZero() {
				return errors.New("the holder's release did not free the slot")
			}
			if err := store.SetDeliveryWindow(ctx, tx, "dest.example", q0, 7); err != nil {
				return err
			}
			if head, _ := store.StartDelivery(ctx, tx, "dest.example", 3); !head.WindowStart.Equal(q0) || head.WindowCount != 7 {
				return fmt.Errorf("window after set %+v", head)
			}
			return nil
		})
	})
}

func TestPinsPoliciesAndDemoCaptures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		queueFixture(t, db, "org_a", "dest.example", 1)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := store.PutTransportPin(ctx, tx, store.TransportPin{OrgID: "org_a", Domain: "partner.example", MXPattern: "*.partner.example", CreatedAt: q0}); err != nil {
				return err
			}
			if err := store.PutTransportPin(ctx, tx, store.TransportPin{OrgID: "org_a", Domain: "partner.example", CertSHA256: "ab", CreatedAt: q0}); err != nil {
				return err
			}
			for _, p := range []string{"version: STSv1\r\nmode: testing\r\n", "version: STSv1\r\nmode: enforce\r\n"} {
				if err := store.PutMTASTSPolicy(ctx, tx, store.MTASTSPolicyRow{Domain: "dest.example", Policy: p, TXTID: "1", FetchedAt: q0, ExpiresAt: q0.Add(time.Hour)}); err != nil {
					return err
				}
			}
			return store.InsertDemoMessage(ctx, tx, store.DemoMessageRow{ID: "dm1", OrgID: "org_a", MessageID: "org_a_msg_dest.example",
				RecipientID: "org_a_msg_dest.example_r000", Content: []byte("sealed"), DEKVersion: 1, ReceivedAt: q0})
		})
		if err != nil {
			t.Fatal(err)
		}
		pin, err := store.GetTransportPin(ctx, db.Reader(), "org_a", "partner.example")
		if err != nil || pin.CertSHA256 != "ab" || pin.MXPattern != "" {
			t.Fatalf("pin %+v, %v; want the replacement", pin, err)
		}
		if _, err := store.GetTransportPin(ctx, db.Reader(), "org_b", "partner.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other organization's pin: %v", err)
		}
		pol, err := store.GetMTASTSPolicy(ctx, db.Reader(), "dest.example")
		if err != nil || pol.Policy != "version: STSv1\r\nmode: enforce\r\n" || !pol.ExpiresAt.Equal(q0.Add(time.Hour)) {
			t.Fatalf("policy %+v, %v", pol, err)
		}
		list, err := store.ListDemoMessages(ctx, db.Reader(), "org_a", 10)
		if err != nil || len(list) != 1 || string(list[0].Content) != "sealed" {
			t.Fatalf("demo list %+v, %v", list, err)
		}
		if other, _ := store.ListDemoMessages(ctx, db.Reader(), "org_b", 10); len(other) != 0 {
			t.Fatal("another organization sees the capture")
		}
		if _, err := store.GetDemoMessage(ctx, db.Reader(), "org_b", "dm1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other organization's capture: %v", err)
		}
		if err := store.DemoMessagesTable().Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRecordOutcomesInChunks writes more outcomes than one statement
// carries.
func TestRecordOutcomesInChunks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		queueFixture(t, db, "org_a", "dest.example", 250)
		lease := q0.Add(time.Minute)
		rows := claim(t, db, "dest.example", q0, lease, 250)
		outs := make([]store.RecipientOutcome, len(rows))
		for i, r := range rows {
			outs[i] = store.RecipientOutcome{ID: r.ID, Lease: lease, State: "deferred", Attempts: 1, NextAttemptAt: q0.Add(time.Hour),
				LastCode: 451, LastEnhanced: "4.3.0", LastReason: "later", UpdatedAt: q0}
		}
		outs[7].Lease = lease.Add(time.Second) // a lost lease
		var applied []bool
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			applied, err = store.RecordOutcomes(ctx, tx, outs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i, ok := range applied {
			if ok == (i == 7) {
				t.Fatalf("outcome %d applied=%v", i, ok)
			}
		}
		depth, err := store.QueueDepth(ctx, db.Reader())
		if err != nil || depth["deferred"] != 249 || depth["sending"] != 1 {
			t.Fatalf("depth %v %v", depth, err)
		}
	})
}

// TestQueuedSkew: a queued recipient stamped by a node whose clock is
// ahead is due; a retry is not due before its time.
func TestQueuedSkew(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		queueFixture(t, db, "org_a", "dest.example", 2)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE recipients SET state = 'deferred', attempts = 1 WHERE id = ?`, "org_a_msg_dest.example_r001")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		behind := q0.Add(-30 * time.Second) // this node's clock lags the submitter's
		if due, err := store.DeliveryDue(ctx, db.Reader(), "dest.example", behind); err != nil || !due {
			t.Fatalf("due %v %v", due, err)
		}
		got := claim(t, db, "dest.example", behind, behind.Add(time.Minute), 10)
		if len(got) != 1 || got[0].ID != "org_a_msg_dest.example_r000" {
			t.Fatalf("claimed %d rows; want only the queued one", len(got))
		}
		if due, _ := store.DeliveryDue(ctx, db.Reader(), "dest.example", behind); due {
			t.Fatal("a retry counted as due before its time")
		}
	})
}
