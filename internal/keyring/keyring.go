package keyring

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// SystemScope is the scope of install-wide secrets that belong to no
// organization.
const SystemScope = "system"

// DefaultCurrentTTL is how long a node trusts its cached current version of
// a scope before asking the database again.
const DefaultCurrentTTL = 30 * time.Second

// Options tune a Keyring. The zero value is ready to use.
type Options struct {
	// CurrentTTL bounds how long after a rotation on another node this node
	// keeps sealing with the previous version. Default DefaultCurrentTTL
	// (30s); negative disables the cache (every Seal reads the database).
	CurrentTTL time.Duration
	// Clock is the time source for the cache and for created_at/retired_at.
	// Default time.Now.
	Clock func() time.Time
}

func (o Options) withDefaults() Options {
	if o.CurrentTTL == 0 {
		o.CurrentTTL = DefaultCurrentTTL
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

// Keyring seals and opens records with per-scope, versioned data keys kept
// in data_keys and wrapped by a KeyEncrypter. It is safe for concurrent use;
// several Keyrings (one per node) may share a database.
type Keyring struct {
	db   *store.DB
	kek  KeyEncrypter
	opts Options

	mu      sync.RWMutex
	keys    map[keyRef]*dataKey // unwrapped data keys; they never change
	current map[string]currentVersion
	tables  []store.SealedTable
}

type keyRef struct {
	scope   string
	version int
}

type currentVersion struct {
	version int
	at      time.Time
}

// New returns a Keyring over db whose data keys are wrapped by kek.
func New(db *store.DB, kek KeyEncrypter, opts Options) *Keyring {
	return &Keyring{
		db:      db,
		kek:     kek,
		opts:    opts.withDefaults(),
		keys:    map[keyRef]*dataKey{},
		current: map[string]currentVersion{},
	}
}

// Seal encrypts plaintext for the record named by aad, with the scope's
// current data key. If the scope has no data key yet, Seal creates version 1
// inside tx (INSERT … ON CONFLICT DO NOTHING then SELECT, so two nodes racing
// both succeed). It returns the key version used; callers store it in the
// row's dek_version column.
func (k *Keyring) Seal(ctx context.Context, tx *store.Tx, aad AAD, plaintext []byte) ([]byte, int, error) {
	if tx == nil {
		// Even with a warm cache: a call that works only sometimes is worse.
		return nil, 0, fmt.Errorf("seal %s.%s: no transaction", aad.Table, aad.Column)
	}
	if err := aad.validate(); err != nil {
		return nil, 0, fmt.Errorf("seal %s.%s: %w", aad.Table, aad.Column, err)
	}
	v, ok := k.cachedCurrent(aad.Scope)
	if !ok {
		var err error
		if v, err = k.ensureCurrent(ctx, tx, aad.Scope); err != nil {
			return nil, 0, fmt.Errorf("seal %s.%s: %w", aad.Table, aad.Column, err)
		}
		tx.AfterCommit(func() { k.setCurrent(aad.Scope, v) })
	}
	dk, err := k.dataKey(ctx, tx, aad.Scope, v)
	if err != nil {
		return nil, 0, fmt.Errorf("seal %s.%s: %w", aad.Table, aad.Column, err)
	}
	ct, err := seal(dk.aead, v, aad, plaintext)
	if err != nil {
		return nil, 0, fmt.Errorf("seal %s.%s: %w", aad.Table, aad.Column, err)
	}
	return ct, v, nil
}

// Open decrypts a ciphertext sealed for the record named by aad; q may be a
// transaction or db.Reader(). Any ciphertext that does not open, including a
// malformed one or one naming a key version the scope does not have, is
// ErrDecrypt.
func (k *Keyring) Open(ctx context.Context, q store.Querier, aad AAD, ciphertext []byte) ([]byte, error) {
	if q == nil {
		return nil, fmt.Errorf("open %s.%s: no querier", aad.Table, aad.Column)
	}
	if err := aad.validate(); err != nil {
		return nil, fmt.Errorf("open %s.%s: %w", aad.Table, aad.Column, err)
	}
	h, err := parseHeader(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", aad, err)
	}
	dk, err := k.dataKey(ctx, q, aad.Scope, h.version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("open %s: no data key v%d: %w", aad, h.version, ErrDecrypt)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", aad, err)
	}
	pt, err := openWith(dk.aead, h, aad)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", aad, err)
	}
	return pt, nil
}

// EnsureScope creates version 1 of scope's data key inside tx if the scope
// has none, so an organization has its key from the moment it exists.
func (k *Keyring) EnsureScope(ctx context.Context, tx *store.Tx, scope string) error {
	if tx == nil {
		return fmt.Errorf("ensure key scope %s: no transaction", scope)
	}
	if err := validScope(scope); err != nil {
		return err
	}
	v, err := k.ensureCurrent(ctx, tx, scope)
	if err != nil {
		return fmt.Errorf("ensure key scope %s: %w", scope, err)
	}
	tx.AfterCommit(func() { k.setCurrent(scope, v) })
	return nil
}

// cachedCurrent returns the scope's current version if this node learnt it
// less than CurrentTTL ago.
func (k *Keyring) cachedCurrent(scope string) (int, bool) {
	if k.opts.CurrentTTL < 0 {
		return 0, false
	}
	k.mu.RLock()
	c, ok := k.current[scope]
	k.mu.RUnlock()
	if !ok || k.opts.Clock().Sub(c.at) >= k.opts.CurrentTTL {
		return 0, false
	}
	return c.version, true
}

// setCurrent records a committed current version. Versions only grow, so an
// older answer arriving late (a transaction that read before a rotation and
// committed after it) never replaces a newer one.
func (k *Keyring) setCurrent(scope string, v int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.current[scope]; ok && c.version > v {
		return
	}
	k.current[scope] = currentVersion{version: v, at: k.opts.Clock()}
}

// remember caches an unwrapped data key. A key read inside a transaction is
// cached only once it commits: a key the transaction created and then rolled
// back must never seal anything.
func (k *Keyring) remember(q store.Querier, ref keyRef, dk *dataKey) {
	put := func() {
		k.mu.Lock()
		k.keys[ref] = dk
		k.mu.Unlock()
	}
	if tx, ok := q.(*store.Tx); ok {
		tx.AfterCommit(put)
		return
	}
	put()
}

func (k *Keyring) cachedKey(ref keyRef) (*dataKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	dk, ok := k.keys[ref]
	return dk, ok
}
