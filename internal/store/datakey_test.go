package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func dataKey(scope string, v int) store.DataKey {
	return store.DataKey{
		Scope: scope, Version: v, State: store.DataKeyActive, KEKID: "k1-000000000000",
		Wrapped: []byte{byte(v), 0xff}, CreatedAt: time.UnixMicro(int64(1000 * v)).UTC(),
	}
}

func TestDataKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		r := db.Reader()

		if _, err := store.CurrentDataKeyVersion(ctx, r, "org_a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("current of empty scope: %v, want ErrNotFound", err)
		}
		if v, err := store.MaxDataKeyVersion(ctx, r, "org_a"); err != nil || v != 0 {
			t.Fatalf("max of empty scope = %d, %v; want 0", v, err)
		}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, k := range []store.DataKey{dataKey("org_a", 1), dataKey("org_a", 2), dataKey("org_b", 1)} {
				if ok, err := store.InsertDataKey(ctx, tx, k); err != nil || !ok {
					t.Fatalf("insert %s v%d = %v, %v", k.Scope, k.Version, ok, err)
				}
			}
			dup := dataKey("org_a", 1)
			dup.Wrapped = []byte("other")
			if ok, err := store.InsertDataKey(ctx, tx, dup); err != nil || ok {
				t.Fatalf("duplicate insert = %v, %v; want false, nil", ok, err)
			}
			// The transaction is still usable after the conflict
			// (a unique violation would abort it on PostgreSQL).
			_, err := store.GetDataKey(ctx, tx, "org_a", 1)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.GetDataKey(ctx, r, "org_a", 1)
		if err != nil {
			t.Fatal(err)
		}
		want := dataKey("org_a", 1)
		if got.Scope != want.Scope || got.Version != 1 || got.State != store.DataKeyActive || got.KEKID != want.KEKID ||
			string(got.Wrapped) != string(want.Wrapped) || !got.CreatedAt.Equal(want.CreatedAt) || !got.RetiredAt.IsZero() {
			t.Fatalf("read back %+v, want %+v (the duplicate must not have replaced it)", got, want)
		}
		if _, err := store.GetDataKey(ctx, r, "org_a", 9); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing version: %v, want ErrNotFound", err)
		}
		if v, err := store.CurrentDataKeyVersion(ctx, r, "org_a"); err != nil || v != 2 {
			t.Fatalf("current = %d, %v; want 2", v, err)
		}

		retiredAt := time.UnixMicro(5_000_000).UTC()
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if ok, err := store.RetireDataKey(ctx, tx, "org_a", 2, retiredAt); err != nil || !ok {
				t.Fatalf("retire v2 = %v, %v", ok, err)
			}
			if ok, err := store.RetireDataKey(ctx, tx, "org_a", 2, retiredAt); err != nil || ok {
				t.Fatalf("retire v2 again = %v, %v; want false", ok, err)
			}
			if ok, err := store.RewrapDataKey(ctx, tx, "org_a", 1, "k1-ffffffffffff", "k1-111111111111", []byte("w")); err != nil || ok {
				t.Fatalf("rewrap from the wrong KEK = %v, %v; want false", ok, err)
			}
			if ok, err := store.RewrapDataKey(ctx, tx, "org_a", 1, "k1-000000000000", "k1-111111111111", []byte("w")); err != nil || !ok {
				t.Fatalf("rewrap = %v, %v; want true", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := store.CurrentDataKeyVersion(ctx, r, "org_a"); err != nil || v != 1 {
			t.Fatalf("current after retiring v2 = %d, %v; want 1 (retired keys do not seal)", v, err)
		}
		if v, err := store.MaxDataKeyVersion(ctx, r, "org_a"); err != nil || v != 2 {
			t.Fatalf("max = %d, %v; want 2 (retired versions still count)", v, err)
		}
		keys, err := store.ScopeDataKeys(ctx, r, "org_a")
		if err != nil || len(keys) != 2 {
			t.Fatalf("scope keys = %+v, %v", keys, err)
		}
		if keys[0].KEKID != "k1-111111111111" || string(keys[0].Wrapped) != "w" {
			t.Fatalf("v1 after rewrap = %+v", keys[0])
		}
		if keys[1].State != store.DataKeyRetired || !keys[1].RetiredAt.Equal(retiredAt) {
			t.Fatalf("v2 after retire = %+v", keys[1])
		}
		all, err := store.ListDataKeys(ctx, r)
		if err != nil || len(all) != 3 || all[2].Scope != "org_b" {
			t.Fatalf("all keys = %+v, %v", all, err)
		}
		scopes, err := store.DataKeyScopes(ctx, r)
		if err != nil || !slices.Equal(scopes, []string{"org_a", "org_b"}) {
			t.Fatalf("scopes = %v, %v", scopes, err)
		}
	})
}
