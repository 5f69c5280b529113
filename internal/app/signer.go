package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// auditSigningKeyID names the blob holding the audit checkpoint signing key.
const auditSigningKeyID = "audit-signing-key"

// auditSigner loads the Ed25519 key that signs audit checkpoints, creating
// it on first start. The private key is a sealed blob in the system scope,
// so it is protected by the keyring like any other secret and never lies in
// the database in the clear. When two nodes start together, one creation
// wins and both load the winner's key.
func (a *App) auditSigner(ctx context.Context) (audit.Signer, error) {
	seed, err := a.signingSeed(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if err = a.createSigningSeed(ctx); err == nil || errors.Is(err, store.ErrConflict) {
			seed, err = a.signingSeed(ctx)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	return audit.NewEd25519Signer(ed25519.NewKeyFromSeed(seed))
}

func (a *App) signingSeed(ctx context.Context) ([]byte, error) {
	b, err := a.Blobs.Get(ctx, a.DB.Reader(), keyring.SystemScope, auditSigningKeyID)
	if err != nil {
		return nil, err
	}
	if len(b.Content) != ed25519.SeedSize {
		return nil, errors.New("stored key has the wrong size")
	}
	return b.Content, nil
}

func (a *App) createSigningSeed(ctx context.Context) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	err = a.DB.Tx(ctx, func(tx *store.Tx) error {
		return a.Blobs.Put(ctx, tx, keyring.SystemScope, auditSigningKeyID, "audit-signing-key", priv.Seed())
	})
	if err == nil {
		a.Log.Info("created the audit checkpoint signing key")
	}
	return err
}
