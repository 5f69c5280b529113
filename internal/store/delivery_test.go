package store_test

import (
	"context"
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
