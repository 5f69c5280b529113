package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func senderDomainOrg(t *testing.T, db *store.DB, org string, domains ...string) {
	t.Helper()
	ctx := context.Background()
	at := time.UnixMicro(1_700_000_000_000_000).UTC()
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(at)); err != nil {
			return err
		}
		for _, d := range domains {
			if err := store.InsertSenderDomain(ctx, tx, store.SenderDomainRow{
				ID: org + "_" + d, OrgID: org, Domain: d, Status: store.SenderDomainPending,
				RSASelector: "cp202501r", EdSelector: "cp202501e", DKIMKeys: []byte{9, 9}, DEKVersion: 1, CreatedAt: at,
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

func TestSenderDomainRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		senderDomainOrg(t, db, "org_a", "b.example", "a.example")
		senderDomainOrg(t, db, "org_b", "c.example")

		r, err := store.GetSenderDomain(ctx, db.Reader(), "org_a", "org_a_a.example")
		if err != nil || r.Domain != "a.example" || r.Status != store.SenderDomainPending || string(r.DKIMKeys) != "\x09\x09" ||
			r.RSASelector != "cp202501r" || r.EdSelector != "cp202501e" || r.LastCheck != "" || !r.VerifiedAt.IsZero() {
			t.Fatalf("row %+v, %v", r, err)
		}
		if _, err := store.GetSenderDomain(ctx, db.Reader(), "org_b", "org_a_a.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other org's domain by id: %v, want ErrNotFound", err)
		}
		if _, err := store.SenderDomainByName(ctx, db.Reader(), "org_b", "a.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other org's domain by name: %v, want ErrNotFound", err)
		}
		if c, err := store.SenderDomainClaim(ctx, db.Reader(), "a.example"); err != nil || c.OrgID != "org_a" {
			t.Fatalf("claim: %+v, %v", c, err)
		}
		list, err := store.ListSenderDomains(ctx, db.Reader(), "org_a")
		if err != nil || len(list) != 2 || list[0].Domain != "a.example" || list[1].Domain != "b.example" {
			t.Fatalf("list: %+v, %v", list, err)
		}

		// The name is unique across organizations.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			return store.InsertSenderDomain(ctx, tx, store.SenderDomainRow{ID: "x", OrgID: "org_b", Domain: "a.example",
				Status: store.SenderDomainPending, DKIMKeys: []byte{1}, DEKVersion: 1, CreatedAt: time.Now()})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second registration of a.example: %v, want ErrConflict", err)
		}

		at := time.UnixMicro(1_700_000_100_000_000).UTC()
		r.Status, r.LastCheck, r.LastCheckAt, r.VerifiedAt = store.SenderDomainVerified, `{"checks":[]}`, at, at
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.UpdateSenderDomainCheck(ctx, tx, r) }); err != nil {
			t.Fatal(err)
		}
		got, err := store.SenderDomainByName(ctx, db.Reader(), "org_a", "a.example")
		if err != nil || got.Status != store.SenderDomainVerified || got.LastCheck != `{"checks":[]}` || !got.VerifiedAt.Equal(at) || !got.LastCheckAt.Equal(at) {
			t.Fatalf("after check: %+v, %v", got, err)
		}
		foreign := r
		foreign.OrgID = "org_b"
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.UpdateSenderDomainCheck(ctx, tx, foreign) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update through another org: %v", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteSenderDomain(ctx, tx, "org_b", r.ID) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete through another org: %v", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteSenderDomain(ctx, tx, "org_a", r.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SenderDomainClaim(ctx, db.Reader(), "a.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted domain still claimed: %v", err)
		}
	})
}

func TestCountUndeliveredFrom(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		senderDomainOrg(t, db, "org_a", "a.example")
		senderDomainOrg(t, db, "org_b")
		now := time.UnixMicro(1_700_000_000_000_000).UTC()
		add := func(org, msg, from string, states ...string) {
			t.Helper()
			err := db.Tx(ctx, func(tx *store.Tx) error {
				if err := store.InsertMessage(ctx, tx, store.MessageRow{ID: msg, OrgID: org, Source: "api", SubmitterType: "apikey",
					SubmitterID: "k", MailFrom: "x@" + from, FromDomain: from, Security: "auto", Content: []byte{1}, DEKVersion: 1,
					Tags: "[]", Metadata: "{}", Recipients: len(states), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					return err
				}
				var rows []store.RecipientRow
				for i, s := range states {
					rows = append(rows, store.RecipientRow{ID: msg + "_" + s, OrgID: org, MessageID: msg, Ord: i, Kind: "to",
						Address: []byte{1}, AddressIndex: []byte{byte(i)}, Domain: "r.example", State: s, Level: "tls", Rule: "default",
						NextAttemptAt: now, DEKVersion: 1, UpdatedAt: now})
				}
				return store.InsertRecipients(ctx, tx, rows)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		add("org_a", "m1", "a.example", "queued", "deferred", "delivered")
		add("org_a", "m2", "a.example", "sending", "bounced")
		add("org_a", "m3", "other.example", "queued")
		add("org_b", "m4", "a.example", "queued")
		if n, err := store.CountUndeliveredFrom(ctx, db.Reader(), "org_a", "a.example"); err != nil || n != 3 {
			t.Fatalf("undelivered from a.example: %d, %v; want 3", n, err)
		}
		if n, err := store.CountUndeliveredFrom(ctx, db.Reader(), "org_a", "none.example"); err != nil || n != 0 {
			t.Fatalf("undelivered from none.example: %d, %v", n, err)
		}
	})
}
