package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestPolicyVersionsAndPins(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		at := time.UnixMicro(1_700_000_000_000_000).UTC()
		if _, err := store.CurrentPolicy(ctx, db.Reader(), "org_a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no policy yet: %v", err)
		}
		v2 := store.PolicyVersionRow{ID: "pol_2", OrgID: "org_a", Version: 2, Document: []byte("sealed-2"), DEKVersion: 1, ActorType: "user", ActorID: "usr_1", CreatedAt: at.Add(time.Minute)}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, org := range []string{"org_a", "org_b"} {
				if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(at)); err != nil {
					return err
				}
			}
			for _, r := range []store.PolicyVersionRow{
				{ID: "pol_1", OrgID: "org_a", Version: 1, Document: []byte("sealed-1"), DEKVersion: 1, ActorType: "user", ActorID: "usr_1", CreatedAt: at},
				v2,
				{ID: "pol_3", OrgID: "org_b", Version: 1, Document: []byte("other"), DEKVersion: 1, ActorType: "apikey", CreatedAt: at},
			} {
				if err := store.InsertPolicyVersion(ctx, tx, r); err != nil {
					return err
				}
			}
			for _, p := range []store.TransportPin{{OrgID: "org_a", Domain: "partner.example", MXPattern: "*.partner.example", CreatedAt: at},
				{OrgID: "org_a", Domain: "lab.example", CertSHA256: "ab", CreatedAt: at}, {OrgID: "org_b", Domain: "zz.example", CreatedAt: at}} {
				if err := store.PutTransportPin(ctx, tx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		cur, err := store.CurrentPolicy(ctx, db.Reader(), "org_a")
		if err != nil || !reflect.DeepEqual(cur, v2) {
			t.Fatalf("current %+v, %v; want %+v", cur, err, v2)
		}
		// A version number is taken once per organization.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			return store.InsertPolicyVersion(ctx, tx, store.PolicyVersionRow{ID: "pol_4", OrgID: "org_a", Version: 2, Document: []byte("x"), ActorType: "user", CreatedAt: at})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate version: %v, want ErrConflict", err)
		}
		pins, err := store.TransportPinsOf(ctx, db.Reader(), "org_a")
		if err != nil || len(pins) != 2 || pins[0].Domain != "lab.example" || pins[1].MXPattern != "*.partner.example" || !pins[1].CreatedAt.Equal(at) {
			t.Fatalf("pins %+v, %v", pins, err)
		}
	})
}

func TestRecipientPoliciesRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		at := time.UnixMicro(1_700_000_000_000_000).UTC()
		want := map[string]store.RecipientPolicy{
			"rcp_1": {ID: "rcp_1", Methods: "verified-tls,e2e,portal", Reasons: `[{"rule":"default"}]`, SubjectFlagged: true},
			"rcp_2": {ID: "rcp_2", Methods: "", Drop: true, Reasons: `[{"rule":"tls-only"}]`},
		}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'A', 0)`); err != nil {
				return err
			}
			if err := store.InsertMessage(ctx, tx, store.MessageRow{ID: "msg_1", OrgID: "org_a", Source: "api", SubmitterType: "user", SubmitterID: "usr_1",
				MailFrom: "a@a.example", FromDomain: "a.example", Security: "auto", Content: []byte("x"), Tags: "[]", Metadata: "{}", Recipients: 3,
				CreatedAt: at, ExpiresAt: at}); err != nil {
				return err
			}
			var rows []store.RecipientRow
			for i, id := range []string{"rcp_1", "rcp_2", "rcp_3"} {
				rows = append(rows, store.RecipientRow{ID: id, OrgID: "org_a", MessageID: "msg_1", Ord: i, Kind: "to", Address: []byte("x"),
					AddressIndex: []byte(id), Domain: "b.example", State: "queued", Level: "verified-tls", Rule: "r", NextAttemptAt: at, UpdatedAt: at})
			}
			if err := store.InsertRecipientsWithPolicies(ctx, tx, rows[:2], []store.RecipientPolicy{want["rcp_1"], want["rcp_2"]}); err != nil {
				return err
			}
			if err := store.InsertRecipientsWithPolicies(ctx, tx, rows[2:], []store.RecipientPolicy{want["rcp_1"]}); err == nil {
				return errors.New("a policy given for another recipient was accepted")
			}
			return store.InsertRecipients(ctx, tx, rows[2:])
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.RecipientPolicies(ctx, db.Reader(), "org_a", "msg_1")
		if err != nil {
			t.Fatal(err)
		}
		want["rcp_3"] = store.RecipientPolicy{ID: "rcp_3", Reasons: "[]"} // the migration's defaults
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
		if got, _ := store.RecipientPolicies(ctx, db.Reader(), "org_b", "msg_1"); len(got) != 0 {
			t.Fatalf("another organization reads the recipients' policies: %+v", got)
		}
	})
}

// A message with more recipients than one statement's parameters hold
// (1,500 at 25 a row) is written whole, each with its own policy.
func TestManyRecipientsWithPolicies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		at := time.UnixMicro(1_700_000_000_000_000).UTC()
		const n = 1500
		var rows []store.RecipientRow
		var pols []store.RecipientPolicy
		for i := range n {
			id := fmt.Sprintf("rcp_%04d", i)
			rows = append(rows, store.RecipientRow{ID: id, OrgID: "org_a", MessageID: "msg_1", Ord: i, Kind: "bcc", Address: []byte("x"),
				AddressIndex: []byte(id), Domain: "b.example", State: "queued", Level: "verified-tls", Rule: "r", NextAttemptAt: at, UpdatedAt: at})
			pols = append(pols, store.RecipientPolicy{ID: id, Methods: "verified-tls", Reasons: fmt.Sprintf(`[{"rule":"r%d"}]`, i)})
		}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'A', 0)`); err != nil {
				return err
			}
			if err := store.InsertMessage(ctx, tx, store.MessageRow{ID: "msg_1", OrgID: "org_a", Source: "api", SubmitterType: "user", SubmitterID: "usr_1",
				MailFrom: "a@a.example", FromDomain: "a.example", Security: "auto", Content: []byte("x"), Tags: "[]", Metadata: "{}", Recipients: n,
				CreatedAt: at, ExpiresAt: at}); err != nil {
				return err
			}
			return store.InsertRecipientsWithPolicies(ctx, tx, rows, pols)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.RecipientPolicies(ctx, db.Reader(), "org_a", "msg_1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || got["rcp_1499"] != pols[1499] || got["rcp_0000"] != pols[0] {
			t.Fatalf("%d policies read back (want %d); last %+v", len(got), n, got["rcp_1499"])
		}
	})
}
