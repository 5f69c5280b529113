package blindindex_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
)

func TestIndexesAreStablePerScopeAndDifferAcrossScopes(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.Resolve()
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	x := blindindex.New(a.Blobs)
	if _, err := x.Lookup(ctx, a.DB.Reader(), "org_a", "email", "p@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup before any key: %v", err)
	}
	var a1, a2, b1 []byte
	if err := a.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if a1, err = x.Email(ctx, tx, "org_a", "Patient@Example.org "); err != nil {
			return err
		}
		b1, err = x.Email(ctx, tx, "org_b", "patient@example.org")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A fresh Indexer (another node) computes the same index from the
	// stored key.
	y := blindindex.New(a.Blobs)
	a2, err = y.Lookup(ctx, a.DB.Reader(), "org_a", "email", "patient@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a1, a2) {
		t.Fatal("the same address indexes differently on two nodes or with other case")
	}
	if bytes.Equal(a1, b1) {
		t.Fatal("two organizations share an index key")
	}
}
