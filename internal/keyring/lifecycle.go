package keyring

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/carepost/carepost/internal/store"
)

// The operations in this file run their own transactions: never call them
// while holding a store.Tx (on SQLite that would wait forever for the one
// writer connection).

// Reencrypt moves up to batch rows of the registered sealed tables in scope
// from older data-key versions to the current one, returning how many moved;
// callers loop until it returns 0. Each call is one transaction. A row that
// does not open stops the batch with an error naming it: rotation cannot
// finish around a corrupted record without someone looking at it.
func (k *Keyring) Reencrypt(ctx context.Context, scope string, batch int) (int, error) {
	if err := validScope(scope); err != nil {
		return 0, err
	}
	if batch <= 0 {
		return 0, fmt.Errorf("reencrypt %s: batch must be positive, got %d", scope, batch)
	}
	tables := k.registered()
	var moved int
	err := k.db.Tx(ctx, func(tx *store.Tx) error {
		moved = 0
		// Ask the database, not the cache: this node may not yet have
		// seen a rotation made elsewhere.
		cur, err := store.CurrentDataKeyVersion(ctx, tx, scope)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		to, err := k.dataKey(ctx, tx, scope, cur)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if moved == batch {
				break
			}
			rows, err := store.SealedRowsBelow(ctx, tx, t, scope, cur, batch-moved)
			if err != nil {
				return err
			}
			for _, r := range rows {
				values, err := k.reseal(ctx, tx, t, scope, r, to, cur)
				if err != nil {
					return err
				}
				ok, err := store.UpdateSealedRow(ctx, tx, t, scope, r.ID, r.Version, cur, values)
				if err != nil {
					return err
				}
				if ok {
					moved++
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reencrypt %s: %w", scope, err)
	}
	return moved, nil
}

// reseal opens each sealed column of r and seals it again under version to.
func (k *Keyring) reseal(ctx context.Context, tx *store.Tx, t store.SealedTable, scope string, r store.SealedRow, to *dataKey, toVersion int) ([][]byte, error) {
	out := make([][]byte, len(r.Values))
	for i, ct := range r.Values {
		if ct == nil {
			continue // SQL NULL stays NULL
		}
		aad := AAD{Scope: scope, Table: t.Table, Column: t.Columns[i], RowID: r.ID}
		pt, err := k.Open(ctx, tx, aad, ct)
		if err != nil {
			return nil, err
		}
		out[i], err = seal(to.aead, toVersion, aad, pt)
		clear(pt)
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", aad, err)
		}
	}
	return out, nil
}

// RetireUnused marks retired every active version of scope older than the
// current one that no registered table references, and returns those
// versions. Retired keys still open (a node with a stale cache may have
// written with one moments ago; Reencrypt moves such rows too); they are
// only no longer used for writes. It never deletes a key.
func (k *Keyring) RetireUnused(ctx context.Context, scope string) ([]int, error) {
	if err := validScope(scope); err != nil {
		return nil, err
	}
	tables := k.registered()
	var retired []int
	err := k.db.Tx(ctx, func(tx *store.Tx) error {
		retired = nil
		cur, err := store.CurrentDataKeyVersion(ctx, tx, scope)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		used := map[int]bool{}
		for _, t := range tables {
			counts, err := store.CountSealedByVersion(ctx, tx, t, scope)
			if err != nil {
				return err
			}
			for v, n := range counts {
				used[v] = used[v] || n > 0
			}
		}
		keys, err := store.ScopeDataKeys(ctx, tx, scope)
		if err != nil {
			return err
		}
		for _, dk := range keys {
			if dk.Version >= cur || dk.State != store.DataKeyActive || used[dk.Version] {
				continue
			}
			ok, err := store.RetireDataKey(ctx, tx, scope, dk.Version, k.opts.Clock())
			if err != nil {
				return err
			}
			if ok {
				retired = append(retired, dk.Version)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("retire unused keys of %s: %w", scope, err)
	}
	return retired, nil
}

// RewrapAll re-wraps every data key not already under the KEK's primary
// (KEK rotation) and returns how many it re-wrapped; ciphertext rows are
// untouched. Each key is checked to unwrap under its new wrapping before it
// replaces the old one, and is written in its own short transaction, so a
// slow KMS never holds the database. Running it again is cheap and safe.
func (k *Keyring) RewrapAll(ctx context.Context) (int, error) {
	keys, err := store.ListDataKeys(ctx, k.db.Reader())
	if err != nil {
		return 0, fmt.Errorf("rewrap data keys: %w", err)
	}
	primary := k.kek.PrimaryID()
	n := 0
	for _, dk := range keys {
		if dk.KEKID == primary {
			continue
		}
		kekID, wrapped, err := k.rewrap(ctx, dk)
		if err != nil {
			return n, fmt.Errorf("rewrap data key %s v%d: %w", dk.Scope, dk.Version, err)
		}
		err = k.db.Tx(ctx, func(tx *store.Tx) error {
			ok, err := store.RewrapDataKey(ctx, tx, dk.Scope, dk.Version, dk.KEKID, kekID, wrapped)
			if ok {
				n++
			}
			return err
		})
		if err != nil {
			return n, fmt.Errorf("rewrap data key %s v%d: %w", dk.Scope, dk.Version, err)
		}
	}
	return n, nil
}

func (k *Keyring) rewrap(ctx context.Context, dk store.DataKey) (string, []byte, error) {
	aad := dekAAD(dk.Scope, dk.Version)
	raw, err := k.kek.Unwrap(ctx, dk.KEKID, dk.Wrapped, aad)
	if err != nil {
		return "", nil, err
	}
	defer clear(raw)
	kekID, wrapped, err := k.kek.Wrap(ctx, raw, aad)
	if err != nil {
		return "", nil, err
	}
	check, err := k.kek.Unwrap(ctx, kekID, wrapped, aad)
	if err != nil {
		return "", nil, fmt.Errorf("new wrapping does not unwrap: %w", err)
	}
	defer clear(check)
	if subtle.ConstantTimeCompare(check, raw) != 1 {
		return "", nil, errors.New("new wrapping unwraps to a different key")
	}
	return kekID, wrapped, nil
}

// registered returns a copy of the registered tables.
func (k *Keyring) registered() []store.SealedTable {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Clone(k.tables)
}
