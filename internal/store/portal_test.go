package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// portalWorld is two organizations, each with one message and recipient.
func portalWorld(t *testing.T, d store.Driver) (*store.DB, time.Time) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, d)
	at := time.UnixMicro(1_700_000_000_000_000).UTC()
	err := db.Tx(ctx, func(tx *store.Tx) error {
		for _, org := range []string{"org_a", "org_b"} {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(at)); err != nil {
				return err
			}
			msg := "msg_" + org
			if err := store.InsertMessage(ctx, tx, store.MessageRow{ID: msg, OrgID: org, Source: "api", SubmitterType: "user", SubmitterID: "usr_1",
				SenderUserID: "usr_" + org, MailFrom: "a@clinic.example", FromDomain: "clinic.example", Security: "portal", PHI: true, Size: 1,
				Content: []byte("sealed"), DEKVersion: 1, Tags: "[]", Metadata: "{}", Recipients: 1, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
				return err
			}
			if err := store.InsertRecipients(ctx, tx, []store.RecipientRow{{ID: "rcp_" + org, OrgID: org, MessageID: msg, Kind: "to",
				Address: []byte("sealed"), AddressIndex: []byte("ix-jane"), Domain: "example.org", State: "held", Level: "portal",
				Rule: "security", NextAttemptAt: at, DEKVersion: 1, UpdatedAt: at}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, at
}

func TestPortalItems(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, at := portalWorld(t, d)
		it := store.PortalItemRow{ID: "ptl_1", OrgID: "org_a", MessageID: "msg_org_a", RecipientID: "rcp_org_a", TokenHash: []byte("h1"),
			AddressIndex: []byte("ix-jane"), State: store.PortalActive, ExpiresAt: at.Add(30 * 24 * time.Hour), CreatedAt: at}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := store.InsertPortalItem(ctx, tx, it); err != nil {
				return err
			}
			moved, err := store.MarkRecipientPortal(ctx, tx, "org_a", "rcp_org_a", "in the portal", at)
			if err != nil || !moved {
				t.Fatalf("mark portal: %v %v", moved, err)
			}
			if again, _ := store.MarkRecipientPortal(ctx, tx, "org_a", "rcp_org_a", "again", at); again {
				t.Fatal("a recipient already in the portal moved again")
			}
			return store.SetPortalNotice(ctx, tx, "org_a", "ptl_1", "msg_notice")
		})
		if err != nil {
			t.Fatal(err)
		}
		dup := it
		dup.ID, dup.TokenHash = "ptl_2", []byte("h2")
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertPortalItem(ctx, tx, dup) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second item for one recipient: %v", err)
		}
		got, err := store.PortalItemByToken(ctx, db.Reader(), []byte("h1"))
		if err != nil || got.ID != "ptl_1" || got.NoticeID != "msg_notice" || got.Phone != nil || !got.ExpiresAt.Equal(it.ExpiresAt) {
			t.Fatalf("by token: %+v %v", got, err)
		}
		if _, err := store.GetPortalItem(ctx, db.Reader(), "org_b", "ptl_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's item: %v", err)
		}
		rc, err := store.PortalRecipient(ctx, db.Reader(), "org_a", "msg_org_a", "rcp_org_a")
		if err != nil || rc.State != "portal" || rc.FinishedAt.IsZero() {
			t.Fatalf("recipient %+v %v", rc, err)
		}
		// Proofs, attempts, replies, opening.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if err := store.SetPortalProof(ctx, tx, "org_a", "ptl_1", "$argon2id$…", []byte("sealed-phone"), 3); err != nil {
				return err
			}
			if err := store.SetPortalAttempts(ctx, tx, "ptl_1", 4, at.Add(time.Minute)); err != nil {
				return err
			}
			for i := 0; i < 3; i++ {
				ok, err := store.CountPortalReply(ctx, tx, "ptl_1", 2)
				if err != nil || ok != (i < 2) {
					t.Fatalf("reply %d: %v %v", i, ok, err)
				}
			}
			first, err := store.SetPortalOpened(ctx, tx, "ptl_1", at)
			second, _ := store.SetPortalOpened(ctx, tx, "ptl_1", at.Add(time.Hour))
			if err != nil || !first || second {
				t.Fatalf("opened: %v %v %v", first, second, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { return store.SetPortalProof(ctx, tx, "org_b", "ptl_1", "", nil, 0) })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization set a proof: %v", err)
		}
		got, _ = store.GetPortalItem(ctx, db.Reader(), "org_a", "ptl_1")
		if got.PassphraseHash != "$argon2id$…" || string(got.Phone) != "sealed-phone" || got.DEKVersion != 3 || got.FailedAttempts != 4 ||
			!got.LockedUntil.Equal(at.Add(time.Minute)) || got.Replies != 2 || !got.OpenedAt.Equal(at) {
			t.Fatalf("after updates: %+v", got)
		}
		// Listing, expiry and the end of an item.
		list, err := store.ListPortalItems(ctx, db.Reader(), "org_a", store.PortalItemFilter{SenderUserID: "usr_org_a", Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		if list, _ := store.ListPortalItems(ctx, db.Reader(), "org_a", store.PortalItemFilter{SenderUserID: "usr_other", Limit: 10}); len(list) != 0 {
			t.Fatalf("another sender's list: %v", list)
		}
		if due, _ := store.DuePortalItems(ctx, db.Reader(), at.Add(29*24*time.Hour), 10); len(due) != 0 {
			t.Fatalf("due before expiry: %v", due)
		}
		due, err := store.DuePortalItems(ctx, db.Reader(), it.ExpiresAt, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("due: %v %v", due, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			ended, err := store.EndPortalItem(ctx, tx, "org_a", "ptl_1", store.PortalRevoked, "user:usr_1", at)
			if err != nil || !ended {
				t.Fatalf("revoke: %v %v", ended, err)
			}
			again, err := store.EndPortalItem(ctx, tx, "org_a", "ptl_1", store.PortalExpired, "", at)
			if err != nil || again {
				t.Fatalf("expire a revoked item: %v %v", again, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = store.GetPortalItem(ctx, db.Reader(), "org_a", "ptl_1")
		if got.State != store.PortalRevoked || got.RevokedBy != "user:usr_1" || !got.RevokedAt.Equal(at) || !got.ExpiredAt.IsZero() {
			t.Fatalf("revoked: %+v", got)
		}
		if due, _ := store.DuePortalItems(ctx, db.Reader(), it.ExpiresAt, 10); len(due) != 0 {
			t.Fatalf("a revoked item is due: %v", due)
		}
	})
}

func TestPortalProofsSessionsAndSettings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, at := portalWorld(t, d)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := store.InsertPortalItem(ctx, tx, store.PortalItemRow{ID: "ptl_1", OrgID: "org_a", MessageID: "msg_org_a",
				RecipientID: "rcp_org_a", TokenHash: []byte("h1"), AddressIndex: []byte("ix-jane"), State: store.PortalActive,
				ExpiresAt: at.Add(time.Hour), CreatedAt: at}); err != nil {
				return err
			}
			for i, id := range []string{"pcd_1", "pcd_2"} {
				if err := store.InsertPortalCode(ctx, tx, store.PortalCodeRow{ID: id, ItemID: "ptl_1", OrgID: "org_a", Channel: "email",
					CodeHash: []byte(id), ExpiresAt: at.Add(10 * time.Minute), CreatedAt: at.Add(time.Duration(i) * time.Second)}); err != nil {
					return err
				}
			}
			return store.SetPortalCodeAttempts(ctx, tx, "pcd_2", 1, at)
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := store.LatestPortalCode(ctx, db.Reader(), "ptl_1")
		if err != nil || c.ID != "pcd_2" || c.Attempts != 1 || !c.UsedAt.Equal(at) {
			t.Fatalf("latest code %+v %v", c, err)
		}
		if n, err := store.CountPortalCodesSince(ctx, db.Reader(), "ptl_1", at.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("codes since: %d %v", n, err)
		}
		if _, err := store.LatestPortalCode(ctx, db.Reader(), "ptl_none"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no codes: %v", err)
		}

		// Sessions: by token, touched, ended one by one or per item.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			for _, id := range []string{"pss_1", "pss_2"} {
				if err := store.InsertPortalSession(ctx, tx, store.PortalSessionRow{ID: id, TokenHash: []byte("t" + id), OrgID: "org_a",
					ItemID: "ptl_1", RecipientID: "rcp_org_a", Proof: "email-code", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
					return err
				}
			}
			if err := store.TouchPortalSession(ctx, tx, "pss_1", at.Add(time.Minute)); err != nil {
				return err
			}
			return store.EndPortalSessions(ctx, tx, "pss_2", "", at)
		})
		if err != nil {
			t.Fatal(err)
		}
		s1, err := store.PortalSessionByToken(ctx, db.Reader(), []byte("tpss_1"))
		if err != nil || !s1.LastSeenAt.Equal(at.Add(time.Minute)) || !s1.EndedAt.IsZero() || s1.Proof != "email-code" {
			t.Fatalf("session 1 %+v %v", s1, err)
		}
		if s2, _ := store.PortalSessionByToken(ctx, db.Reader(), []byte("tpss_2")); s2.EndedAt.IsZero() {
			t.Fatal("session 2 did not end")
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.EndPortalSessions(ctx, tx, "", "ptl_1", at) }); err != nil {
			t.Fatal(err)
		}
		if s1, _ := store.PortalSessionByToken(ctx, db.Reader(), []byte("tpss_1")); s1.EndedAt.IsZero() {
			t.Fatal("ending an item's sessions left one")
		}

		// Accounts: one per address and organization; a pending one is replaced.
		acct := store.PortalAccountRow{ID: "pac_1", OrgID: "org_a", AddressIndex: []byte("ix-jane"), State: "pending", PasswordHash: "h",
			TOTPSecret: []byte("sealed"), DEKVersion: 1, CreatedAt: at, UpdatedAt: at}
		put := func(a store.PortalAccountRow) error {
			return db.Tx(ctx, func(tx *store.Tx) error { return store.PutPortalAccount(ctx, tx, a) })
		}
		if err := put(acct); err != nil {
			t.Fatal(err)
		}
		acct.ID = "pac_2"
		if err := put(acct); err != nil {
			t.Fatalf("replace a pending account: %v", err)
		}
		got, err := store.PortalAccountByAddress(ctx, db.Reader(), "org_a", []byte("ix-jane"))
		if err != nil || got.ID != "pac_2" {
			t.Fatalf("account %+v %v", got, err)
		}
		got.State, got.TOTPLastStep, got.FailedAttempts, got.LockedUntil = "active", 42, 2, at
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.UpdatePortalAccount(ctx, tx, got) }); err != nil {
			t.Fatal(err)
		}
		acct.ID = "pac_3"
		if err := put(acct); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second account beside an active one: %v", err)
		}
		if got, _ := store.PortalAccountByAddress(ctx, db.Reader(), "org_a", []byte("ix-jane")); got.TOTPLastStep != 42 || got.State != "active" {
			t.Fatalf("updated account %+v", got)
		}
		if _, err := store.PortalAccountByAddress(ctx, db.Reader(), "org_b", []byte("ix-jane")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's account: %v", err)
		}

		// Settings.
		if _, err := store.GetPortalSettings(ctx, db.Reader(), "org_a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("settings before any: %v", err)
		}
		for _, show := range []bool{true, false} {
			s := store.PortalSettingsRow{OrgID: "org_a", Expiry: 7 * 24 * time.Hour, NotificationText: "Sign in.", ShowSubject: show, UpdatedAt: at}
			if err := db.Tx(ctx, func(tx *store.Tx) error { return store.PutPortalSettings(ctx, tx, s) }); err != nil {
				t.Fatal(err)
			}
			got, err := store.GetPortalSettings(ctx, db.Reader(), "org_a")
			if err != nil || got.Expiry != s.Expiry || got.ShowSubject != show || got.NotificationText != "Sign in." {
				t.Fatalf("settings %+v %v", got, err)
			}
		}
	})
}
