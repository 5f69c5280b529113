package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

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
			if ok, err := store.LockDelivery(ctx, tx, "dest.example"); err != nil || !ok {
				return fmt.Errorf("lock: %v %v", ok, err)
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

// TestHeadLockIsOnlyTriedOnPostgres: a shared transaction that finds a
// domain's head row locked does not wait (it could close a deadlock
// cycle); it reports that a job must be inserted anyway.
func TestHeadLockIsOnlyTriedOnPostgres(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		if d != store.Postgres {
			t.Skip("SQLite has one writer: transactions never overlap")
		}
		ctx := context.Background()
		db := storetest.Open(t, d)
		holding, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- db.Tx(ctx, func(tx *store.Tx) error {
				if _, err := store.StartDelivery(ctx, tx, "dest.example", 1); err != nil {
					return err
				}
				close(holding)
				<-release
				return nil
			})
		}()
		<-holding
		start := time.Now()
		err := db.Tx(ctx, func(tx *store.Tx) error {
			insert, err := store.ArmDelivery(ctx, tx, "dest.example", q0, false)
			if err != nil || !insert {
				return fmt.Errorf("arm while locked: insert=%v, %v", insert, err)
			}
			ok, err := store.LockDelivery(ctx, tx, "dest.example")
			if err != nil || ok {
				return fmt.Errorf("lock while locked: ok=%v, %v", ok, err)
			}
			// The transaction is still usable.
			_, err = tx.Exec(ctx, `SELECT 1`)
			return err
		})
		close(release)
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited > 2*time.Second {
			t.Fatalf("waited %v for a locked head row", waited)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var insert bool
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			insert, err = store.ArmDelivery(ctx, tx, "dest.example", q0, false)
			return err
		}); err != nil || !insert {
			t.Fatalf("arm when free: %v %v", insert, err)
		}
	})
}
