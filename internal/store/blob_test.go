package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestBlobRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		b := store.BlobRow{Scope: "org_a", ID: "b1", Kind: "attachment", DEKVersion: 3,
			Content: []byte{0, 1, 2, 0xff}, Size: 2, CreatedAt: time.UnixMicro(1_700_000_000_000_001).UTC()}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertBlob(ctx, tx, b) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertBlob(ctx, tx, b) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second insert: %v, want ErrConflict", err)
		}
		got, err := store.GetBlob(ctx, db.Reader(), "org_a", "b1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != b.Kind || got.DEKVersion != 3 || string(got.Content) != string(b.Content) || got.Size != 2 || !got.CreatedAt.Equal(b.CreatedAt) {
			t.Fatalf("read back %+v, want %+v", got, b)
		}
		if _, err := store.GetBlob(ctx, db.Reader(), "org_b", "b1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other scope: %v, want ErrNotFound", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteBlob(ctx, tx, "org_b", "b1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete from other scope: %v, want ErrNotFound", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteBlob(ctx, tx, "org_a", "b1") }); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetBlob(ctx, db.Reader(), "org_a", "b1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
	})
}
