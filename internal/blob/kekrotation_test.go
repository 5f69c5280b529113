package blob_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestKEKRotation re-wraps every data key under a new primary KEK, then
// proves a node holding only the new KEK opens everything while the
// ciphertext rows stay byte for byte the same.
func TestKEKRotation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		blobs := []struct{ scope, id, content string }{
			{"org_a", "b1", "discharge summary"},
			{"org_b", "b1", "referral letter"},
			{keyring.SystemScope, "dkim_key", "-----BEGIN PRIVATE KEY-----"},
		}
		for _, b := range blobs[:1] {
			e.put(t, b.scope, b.id, "attachment", []byte(b.content))
		}
		// A second version in org_a, so more than the current keys move.
		if err := e.db.Tx(ctx, func(tx *store.Tx) error { _, err := e.kr.Rotate(ctx, tx, "org_a"); return err }); err != nil {
			t.Fatal(err)
		}
		for _, b := range blobs[1:] {
			e.put(t, b.scope, b.id, "attachment", []byte(b.content))
		}
		before := map[string][]byte{}
		for _, b := range blobs {
			before[b.scope+"/"+b.id] = e.rawContent(t, b.scope, b.id)
		}

		rotated, err := e.ks.WithNewPrimary()
		if err != nil {
			t.Fatal(err)
		}
		kr := keyring.New(e.db, rotated, keyring.Options{})
		if n, err := kr.RewrapAll(ctx); err != nil || n != 4 {
			t.Fatalf("RewrapAll = %d, %v; want 4 data keys", n, err)
		}
		if n, err := kr.RewrapAll(ctx); err != nil || n != 0 {
			t.Fatalf("second RewrapAll = %d, %v; want 0", n, err)
		}
		status, err := kr.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range status {
			for _, v := range s.Versions {
				if v.KEKID != rotated.PrimaryID() {
					t.Fatalf("%s v%d still wrapped under %s", s.Scope, v.Version, v.KEKID)
				}
			}
		}

		onlyNew, err := rotated.Without(e.ks.PrimaryID())
		if err != nil {
			t.Fatal(err)
		}
		fresh := blob.New(e.db, keyring.New(e.db, onlyNew, keyring.Options{}))
		oldOnly := blob.New(e.db, keyring.New(e.db, e.ks, keyring.Options{}))
		for _, b := range blobs {
			got, err := fresh.Get(ctx, e.db.Reader(), b.scope, b.id)
			if err != nil || string(got.Content) != b.content {
				t.Fatalf("new KEK only: get %s/%s: %v", b.scope, b.id, err)
			}
			if !bytes.Equal(e.rawContent(t, b.scope, b.id), before[b.scope+"/"+b.id]) {
				t.Fatalf("%s/%s: ciphertext changed during KEK rotation", b.scope, b.id)
			}
			if _, err := oldOnly.Get(ctx, e.db.Reader(), b.scope, b.id); !errors.Is(err, keyring.ErrUnknownKEK) {
				t.Fatalf("old KEK only: %s/%s: %v, want ErrUnknownKEK", b.scope, b.id, err)
			}
		}
	})
}
