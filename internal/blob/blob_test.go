package blob_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

type env struct {
	db *store.DB
	ks *keyring.Keyset
	kr *keyring.Keyring
	bs *blob.Store
}

func setup(t *testing.T, d store.Driver) env {
	t.Helper()
	db := storetest.Open(t, d)
	ks, err := keyring.GenerateKeyset()
	if err != nil {
		t.Fatal(err)
	}
	kr := keyring.New(db, ks, keyring.Options{})
	return env{db: db, ks: ks, kr: kr, bs: blob.New(db, kr)}
}

func (e env) put(t *testing.T, scope, id, kind string, content []byte) {
	t.Helper()
	ctx := context.Background()
	if err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.bs.Put(ctx, tx, scope, id, kind, content) }); err != nil {
		t.Fatalf("put %s/%s: %v", scope, id, err)
	}
}

// rawContent reads a blob's stored ciphertext.
func (e env) rawContent(t *testing.T, scope, id string) []byte {
	t.Helper()
	row, err := store.GetBlob(context.Background(), e.db.Reader(), scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return row.Content
}

func TestPutGetDelete(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		content := []byte("Lab results: potassium 3.1 mmol/L")
		e.put(t, "org_a", "b1", "message_body", content)

		got, err := e.bs.Get(ctx, e.db.Reader(), "org_a", "b1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Scope != "org_a" || got.ID != "b1" || got.Kind != "message_body" || got.Size != int64(len(content)) ||
			got.CreatedAt.IsZero() || !bytes.Equal(got.Content, content) {
			t.Fatalf("got %+v", got)
		}
		if raw := e.rawContent(t, "org_a", "b1"); bytes.Contains(raw, content[:12]) {
			t.Fatal("stored content is not sealed")
		}
		if _, err := e.bs.Get(ctx, e.db.Reader(), "org_b", "b1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another scope's blob: %v, want ErrNotFound", err)
		}
		err = e.db.Tx(ctx, func(tx *store.Tx) error { return e.bs.Put(ctx, tx, "org_a", "b1", "message_body", []byte("x")) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second put of b1: %v, want ErrConflict", err)
		}
		if err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.bs.Delete(ctx, tx, "org_a", "b1") }); err != nil {
			t.Fatal(err)
		}
		if _, err := e.bs.Get(ctx, e.db.Reader(), "org_a", "b1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		if err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.bs.Delete(ctx, tx, "org_a", "b1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
	})
}

func TestPutRefusesBadNames(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	cases := []struct{ name, scope, id, kind string }{
		{"file name as kind", "org_a", "b1", "Jane Doe HIV results.pdf"},
		{"empty kind", "org_a", "b1", ""},
		{"empty id", "org_a", "", "attachment"},
		{"long id", "org_a", strings.Repeat("x", 256), "attachment"},
		{"bad scope", "org a", "b1", "attachment"},
	}
	for _, c := range cases {
		err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.bs.Put(ctx, tx, c.scope, c.id, c.kind, []byte("x")) })
		if err == nil {
			t.Fatalf("%s: accepted", c.name)
		}
		if c.kind != "" && strings.Contains(err.Error(), "Jane") {
			t.Fatalf("%s: error %q echoes the kind", c.name, err)
		}
	}
	var n int
	if err := store.Scan(e.db.Reader().QueryRow(ctx, `SELECT count(*) FROM blobs`), &n); err != nil || n != 0 {
		t.Fatalf("%d blobs stored, %v", n, err)
	}
}

func TestContentMovedToAnotherBlobDoesNotOpen(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		e.put(t, "org_a", "secret", "attachment", []byte("psychiatric evaluation"))
		e.put(t, "org_a", "mine", "attachment", []byte("appointment card"))
		e.put(t, "org_b", "secret", "attachment", []byte("org b's"))
		// An attacker with write access to the database copies one
		// blob's ciphertext over another's it may read.
		for _, target := range []struct{ scope, id string }{{"org_a", "mine"}, {"org_b", "secret"}} {
			if err := e.db.Tx(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE blobs SET content = ? WHERE scope = ? AND id = ?`, e.rawContent(t, "org_a", "secret"), target.scope, target.id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.bs.Get(ctx, e.db.Reader(), target.scope, target.id); !errors.Is(err, keyring.ErrDecrypt) {
				t.Fatalf("moved to %s/%s: %v, want ErrDecrypt", target.scope, target.id, err)
			}
		}
	})
}

func TestBlobsFollowDataKeyRotation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		e.put(t, "org_a", "b1", "attachment", []byte("x-ray report"))
		before := e.rawContent(t, "org_a", "b1")
		if err := e.db.Tx(ctx, func(tx *store.Tx) error { _, err := e.kr.Rotate(ctx, tx, "org_a"); return err }); err != nil {
			t.Fatal(err)
		}
		if moved, err := e.kr.Reencrypt(ctx, "org_a", 10); err != nil || moved != 1 {
			t.Fatalf("reencrypt moved %d, %v; want 1 (blobs registered by blob.New)", moved, err)
		}
		row, err := store.GetBlob(ctx, e.db.Reader(), "org_a", "b1")
		if err != nil {
			t.Fatal(err)
		}
		if row.DEKVersion != 2 || bytes.Equal(row.Content, before) {
			t.Fatalf("after reencrypt: v%d, content changed %v", row.DEKVersion, !bytes.Equal(row.Content, before))
		}
		if got, err := e.bs.Get(ctx, e.db.Reader(), "org_a", "b1"); err != nil || string(got.Content) != "x-ray report" {
			t.Fatalf("get after reencrypt: %v", err)
		}
	})
}
