// Package blindindex makes keyed blind indexes: an HMAC-SHA256 of a
// normalized value under a per-organization key, so sealed values (a
// patient's e-mail address) can be looked up by equality — suppression
// lists, deduplication, "find this recipient" — without storing them in the
// clear or sealing them deterministically.
//
// The key is 32 random bytes per scope, stored as a sealed blob (so it is
// protected by the keyring and re-encrypted on rotation) and cached in
// memory. It never changes: rotating it would orphan every index made with
// it. An attacker with the database but not the key-encryption key cannot
// compute indexes, so cannot test guesses against them.
package blindindex

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/store"
)

const keyBlobID = "blind-index-key"

// Indexer computes blind indexes.
type Indexer struct {
	blobs *blob.Store
	mu    sync.RWMutex
	keys  map[string][]byte
}

// New returns an Indexer keeping its keys in blobs.
func New(blobs *blob.Store) *Indexer {
	return &Indexer{blobs: blobs, keys: map[string][]byte{}}
}

// Email returns the index of an e-mail address: lower-cased and trimmed, so
// that Patient@Example.org and patient@example.org match (local parts are
// case-sensitive in theory, RFC 5321 section 2.4, but not in practice, and
// a suppression must not be evaded by changing case).
func (x *Indexer) Email(ctx context.Context, tx *store.Tx, scope, address string) ([]byte, error) {
	return x.Index(ctx, tx, scope, "email", strings.ToLower(strings.TrimSpace(address)))
}

// Index returns HMAC(key(scope), purpose || 0 || value). tx creates the
// scope's key on first use; pass a transaction whenever one is open.
func (x *Indexer) Index(ctx context.Context, tx *store.Tx, scope, purpose, value string) ([]byte, error) {
	key, err := x.key(ctx, tx, scope)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil), nil
}

// Lookup is Index for reads: it never creates a key, and reports
// store.ErrNotFound when the scope has none yet (so nothing is indexed).
func (x *Indexer) Lookup(ctx context.Context, q store.Querier, scope, purpose, value string) ([]byte, error) {
	key, err := x.load(ctx, q, scope)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil), nil
}

// Ensure makes sure scope has a key, creating it in a transaction of its
// own. Callers that index inside a transaction shared with concurrent work
// (group commit) call it first: two transactions creating the same key at
// once would make one of them fail, and on PostgreSQL a failed statement
// spoils the rest of its transaction.
func (x *Indexer) Ensure(ctx context.Context, db *store.DB, scope string) error {
	_, err := x.load(ctx, db.Reader(), scope)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		_, err := x.key(ctx, tx, scope)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		_, err = x.load(ctx, db.Reader(), scope) // another node made it first
	}
	return err
}

func (x *Indexer) key(ctx context.Context, tx *store.Tx, scope string) ([]byte, error) {
	k, err := x.load(ctx, tx, scope)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return k, err
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("blind index key: %w", err)
	}
	if err := x.blobs.Put(ctx, tx, scope, keyBlobID, "blind-index-key", k); err != nil {
		return nil, fmt.Errorf("store blind index key: %w", err)
	}
	tx.AfterCommit(func() { x.remember(scope, k) })
	return k, nil
}

func (x *Indexer) load(ctx context.Context, q store.Querier, scope string) ([]byte, error) {
	x.mu.RLock()
	k, ok := x.keys[scope]
	x.mu.RUnlock()
	if ok {
		return k, nil
	}
	b, err := x.blobs.Get(ctx, q, scope, keyBlobID)
	if err != nil {
		return nil, err
	}
	if len(b.Content) != 32 {
		return nil, errors.New("blind index key has the wrong size")
	}
	// Cache only committed keys: a key read inside a transaction that
	// rolls back may never have existed.
	if tx, ok := q.(*store.Tx); ok {
		tx.AfterCommit(func() { x.remember(scope, b.Content) })
	} else {
		x.remember(scope, b.Content)
	}
	return b.Content, nil
}

func (x *Indexer) remember(scope string, k []byte) {
	x.mu.Lock()
	x.keys[scope] = k
	x.mu.Unlock()
}
