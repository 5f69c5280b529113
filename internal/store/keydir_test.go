package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestRecipientKeyRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		at := time.UnixMicro(1_700_000_000_000_000).UTC()
		k := store.RecipientKeyRow{ID: "rk_1", OrgID: "org_a", Kind: store.RecipientKeyPGP, FingerprintIndex: []byte("fp1"),
			Algorithm: "rsa3072", KeyCreatedAt: at.Add(-time.Hour), Content: []byte("sealed"), DEKVersion: 1,
			CreatedAt: at, UpdatedAt: at, AddressIndexes: [][]byte{[]byte("ix-jane"), []byte("ix-work")}}
		write := func(fn func(tx *store.Tx) error) error { return db.Tx(ctx, fn) }
		err := write(func(tx *store.Tx) error {
			for _, org := range []string{"org_a", "org_b"} {
				if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(at)); err != nil {
					return err
				}
			}
			if err := store.InsertRecipientKey(ctx, tx, k); err != nil {
				return err
			}
			// The same fingerprint index in another organization is another key.
			return store.InsertRecipientKey(ctx, tx, store.RecipientKeyRow{ID: "rk_2", OrgID: "org_b", Kind: store.RecipientKeySMIME,
				FingerprintIndex: []byte("fp1"), Algorithm: "rsa2048", KeyCreatedAt: at, ExpiresAt: at.Add(time.Hour),
				Content: []byte("s2"), DEKVersion: 1, CreatedAt: at, UpdatedAt: at, AddressIndexes: [][]byte{[]byte("ix-jane")}})
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.GetRecipientKey(ctx, db.Reader(), "org_a", "rk_1")
		if err != nil || got.Algorithm != "rsa3072" || !got.ExpiresAt.IsZero() || len(got.AddressIndexes) != 2 || string(got.Content) != "sealed" {
			t.Fatalf("read back %+v, %v", got, err)
		}
		if _, err := store.GetRecipientKey(ctx, db.Reader(), "org_b", "rk_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's key: %v", err)
		}
		dup := k
		dup.ID = "rk_3"
		if err := write(func(tx *store.Tx) error { return store.InsertRecipientKey(ctx, tx, dup) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same fingerprint twice: %v", err)
		}
		byAddr, err := store.RecipientKeysForAddress(ctx, db.Reader(), "org_a", []byte("ix-jane"))
		if err != nil || len(byAddr) != 1 || byAddr[0].ID != "rk_1" {
			t.Fatalf("by address: %+v, %v", byAddr, err)
		}
		fp, err := store.RecipientKeyByFingerprint(ctx, db.Reader(), "org_b", []byte("fp1"))
		if err != nil || fp.ID != "rk_2" {
			t.Fatalf("by fingerprint: %+v, %v", fp, err)
		}

		k.AddressIndexes, k.Content, k.UpdatedAt, k.ExpiresAt = [][]byte{[]byte("ix-new")}, []byte("resealed"), at.Add(time.Minute), at.Add(24*time.Hour)
		if err := write(func(tx *store.Tx) error { return store.ReplaceRecipientKey(ctx, tx, k) }); err != nil {
			t.Fatal(err)
		}
		if l, _ := store.RecipientKeysForAddress(ctx, db.Reader(), "org_a", []byte("ix-jane")); len(l) != 0 {
			t.Fatalf("old address still bound after replace: %+v", l)
		}
		if l, _ := store.ListRecipientKeys(ctx, db.Reader(), "org_a"); len(l) != 1 || string(l[0].Content) != "resealed" || !l[0].ExpiresAt.Equal(k.ExpiresAt) {
			t.Fatalf("list after replace %+v", l)
		}
		if err := write(func(tx *store.Tx) error { return store.DeleteRecipientKey(ctx, tx, "org_b", "rk_1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete through another organization: %v", err)
		}
		if err := write(func(tx *store.Tx) error { return store.DeleteRecipientKey(ctx, tx, "org_a", "rk_1") }); err != nil {
			t.Fatal(err)
		}
		if l, _ := store.RecipientKeysForAddress(ctx, db.Reader(), "org_a", []byte("ix-new")); len(l) != 0 {
			t.Fatalf("deleted key still found: %+v", l)
		}
	})
}
