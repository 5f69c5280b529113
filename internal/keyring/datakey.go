package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/store"
)

// dataKey is an unwrapped data-encryption key, held only as its AES-GCM
// instance so the raw bytes are not kept around.
type dataKey struct {
	aead cipher.AEAD
}

func newDataKey(raw []byte) (*dataKey, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(raw), keySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &dataKey{aead: aead}, nil
}

// dataKey returns the unwrapped key (scope, version), from the cache or by
// reading data_keys through q and unwrapping with the KEK. A version the
// scope does not have is store.ErrNotFound.
func (k *Keyring) dataKey(ctx context.Context, q store.Querier, scope string, version int) (*dataKey, error) {
	ref := keyRef{scope, version}
	if dk, ok := k.cachedKey(ref); ok {
		return dk, nil
	}
	row, err := store.GetDataKey(ctx, q, scope, version)
	if err != nil {
		return nil, err
	}
	raw, err := k.kek.Unwrap(ctx, row.KEKID, row.Wrapped, dekAAD(scope, version))
	if err != nil {
		return nil, fmt.Errorf("data key %s v%d: %w", scope, version, err)
	}
	dk, err := newDataKey(raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("data key %s v%d: %w", scope, version, err)
	}
	k.remember(q, ref, dk)
	return dk, nil
}

// insertDataKey generates a random data key, wraps it under the KEK's
// primary, and inserts it as (scope, version) unless that exists already.
func (k *Keyring) insertDataKey(ctx context.Context, tx *store.Tx, scope string, version int) (bool, error) {
	raw := make([]byte, keySize)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return false, fmt.Errorf("generate data key: %w", err)
	}
	kekID, wrapped, err := k.kek.Wrap(ctx, raw, dekAAD(scope, version))
	if err != nil {
		return false, fmt.Errorf("wrap data key %s v%d: %w", scope, version, err)
	}
	return store.InsertDataKey(ctx, tx, store.DataKey{
		Scope:     scope,
		Version:   version,
		State:     store.DataKeyActive,
		KEKID:     kekID,
		Wrapped:   wrapped,
		CreatedAt: k.opts.Clock(),
	})
}

// ensureCurrent reads the scope's current version inside tx, creating
// version 1 if the scope has no key. Two nodes racing both end up with the
// one version 1 that committed first: on PostgreSQL the second INSERT waits
// for the first transaction, then does nothing, and the SELECT that follows
// sees the winner's row.
func (k *Keyring) ensureCurrent(ctx context.Context, tx *store.Tx, scope string) (int, error) {
	v, err := store.CurrentDataKeyVersion(ctx, tx, scope)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	if highest, err := store.MaxDataKeyVersion(ctx, tx, scope); err != nil {
		return 0, err
	} else if highest != 0 {
		// Every version retired: only RetireUnused retires, and never
		// the current one, so the table was edited by hand.
		return 0, fmt.Errorf("key scope %s has no active data key (all %d versions retired)", scope, highest)
	}
	if _, err := k.insertDataKey(ctx, tx, scope, 1); err != nil {
		return 0, err
	}
	return store.CurrentDataKeyVersion(ctx, tx, scope)
}

// Rotate adds a new data-key version for scope and makes it current: new
// writes on this node use it once tx commits, other nodes within
// CurrentTTL. Older versions stay active for reading until Reencrypt has
// moved their rows and RetireUnused retires them. A scope without keys gets
// version 1.
func (k *Keyring) Rotate(ctx context.Context, tx *store.Tx, scope string) (int, error) {
	if tx == nil {
		return 0, fmt.Errorf("rotate %s: no transaction", scope)
	}
	if err := validScope(scope); err != nil {
		return 0, err
	}
	// A concurrent rotation on another node may take the version we chose;
	// ON CONFLICT DO NOTHING keeps the transaction alive, so try the next.
	for attempt := 0; attempt < 5; attempt++ {
		highest, err := store.MaxDataKeyVersion(ctx, tx, scope)
		if err != nil {
			return 0, fmt.Errorf("rotate %s: %w", scope, err)
		}
		v := highest + 1
		ok, err := k.insertDataKey(ctx, tx, scope, v)
		if err != nil {
			return 0, fmt.Errorf("rotate %s: %w", scope, err)
		}
		if ok {
			tx.AfterCommit(func() { k.setCurrent(scope, v) })
			return v, nil
		}
	}
	return 0, fmt.Errorf("rotate %s: concurrent rotations kept taking the next version; try again", scope)
}
