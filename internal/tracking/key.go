package tracking

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/store"
)

// keyBlobID names each organization's token key among its sealed blobs.
// The key is 32 random bytes made on first use and kept sealed by the
// keyring (so key rotation re-encrypts it with everything else); it never
// changes, because tokens already in inboxes must keep verifying.
const keyBlobID = "tracking-key"

// keys loads and creates the per-organization token keys, caching
// committed ones in memory (as package blindindex does for its keys).
type keys struct {
	blobs *blob.Store
	mu    sync.RWMutex
	cache map[string]*tokenKey
}

func newKeys(b *blob.Store) *keys { return &keys{blobs: b, cache: map[string]*tokenKey{}} }

// ensure returns the organization's key, creating it in a transaction of
// its own if it has none.
func (k *keys) ensure(ctx context.Context, db *store.DB, orgID string) (*tokenKey, error) {
	key, err := k.load(ctx, db.Reader(), orgID)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return key, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("tracking key: %w", err)
	}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		return k.blobs.Put(ctx, tx, orgID, keyBlobID, "tracking-key", fresh)
	})
	if errors.Is(err, store.ErrConflict) {
		return k.load(ctx, db.Reader(), orgID) // another node made it first
	}
	if err != nil {
		return nil, fmt.Errorf("store tracking key: %w", err)
	}
	return k.remember(orgID, fresh), nil
}

// load returns the key without creating it: store.ErrNotFound when the
// organization has none (so it has issued no token).
func (k *keys) load(ctx context.Context, q store.Querier, orgID string) (*tokenKey, error) {
	k.mu.RLock()
	key, ok := k.cache[orgID]
	k.mu.RUnlock()
	if ok {
		return key, nil
	}
	b, err := k.blobs.Get(ctx, q, orgID, keyBlobID)
	if err != nil {
		return nil, err
	}
	if len(b.Content) != 32 {
		return nil, errors.New("tracking key has the wrong size")
	}
	return k.remember(orgID, b.Content), nil
}

func (k *keys) remember(orgID string, key []byte) *tokenKey {
	t := newTokenKey(key)
	k.mu.Lock()
	k.cache[orgID] = t
	k.mu.Unlock()
	return t
}
