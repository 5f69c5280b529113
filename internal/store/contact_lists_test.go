package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestContactListExists: the existence check answers for the
// organization's own lists only, and does not depend on the membership
// count GetContactList computes.
func TestContactListExists(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		db, _ := accountsFixture(t, d)
		ctx := context.Background()
		err := db.Tx(ctx, func(tx *store.Tx) error {
			o := store.OrgRow{ID: "org_2", Name: "Two", Status: store.OrgActive, IdleTimeoutS: 900, SessionLifetimeS: 43200, CreatedAt: t0, UpdatedAt: t0}
			if err := store.InsertOrganization(ctx, tx, o); err != nil {
				return err
			}
			if err := store.InsertContactList(ctx, tx, store.ContactListRow{OrgID: "org_1", ID: "lst_1", Name: "Diabetes", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
			return store.SetListMembers(ctx, tx, "org_1", "lst_1", []string{"con_1", "con_2"}, "subscribed", t0)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.ContactListExists(ctx, db.Reader(), "org_1", "lst_1"); err != nil {
			t.Fatalf("own list: %v", err)
		}
		for _, c := range []struct{ org, id string }{{"org_2", "lst_1"}, {"org_1", "lst_none"}} {
			if err := store.ContactListExists(ctx, db.Reader(), c.org, c.id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s/%s: %v, want ErrNotFound", c.org, c.id, err)
			}
		}
		if r, err := store.GetContactList(ctx, db.Reader(), "org_1", "lst_1"); err != nil || r.Subscribed != 2 {
			t.Fatalf("GetContactList = %+v, %v; want its two members counted", r, err)
		}
	})
}
