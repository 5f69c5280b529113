package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestInsertContactsIsAllOrNothing: a batch of contacts that fails part way
// — a repeated address in its third statement, an organization that does
// not exist — leaves no contact and no key behind, on SQLite (where the
// inserts say OR FAIL and contacts' organization key is checked at commit)
// as on PostgreSQL.
func TestInsertContactsIsAllOrNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		db, _ := accountsFixture(t, d)
		ctx := context.Background()
		batch := func(org string, n int) []store.ContactRow {
			rows := make([]store.ContactRow, n)
			for i := range rows {
				rows[i] = store.ContactRow{OrgID: org, ID: fmt.Sprintf("con_%04d", i), EmailIndex: []byte(fmt.Sprintf("index-%04d", i)),
					Status: "subscribed", Attrs: "{}", PHI: []byte{1}, CreatedAt: t0, UpdatedAt: t0, KeyVersion: 1, WrappedKey: []byte{2}}
			}
			return rows
		}
		count := func() (n int) {
			t.Helper()
			if err := db.Reader().QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts) + (SELECT count(*) FROM contact_keys)`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		repeated := batch("org_1", 900)
		repeated[850].EmailIndex = repeated[10].EmailIndex // in the third 400-row statement
		err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertContacts(ctx, tx, repeated) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a repeated address: %v, want ErrConflict", err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d contact and key rows after the failed batch, want none", n)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertContacts(ctx, tx, batch("org_none", 3)) }); err == nil {
			t.Fatal("contacts of an organization that does not exist were committed")
		}
		if n := count(); n != 0 {
			t.Fatalf("%d contact and key rows after the unknown organization, want none", n)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertContacts(ctx, tx, batch("org_1", 900)) }); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1800 {
			t.Fatalf("%d contact and key rows, want 1800", n)
		}
	})
}
