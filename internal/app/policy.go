package app

import (
	"context"

	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// openPolicy builds the encryption policy engine the outbox and the API
// share. Its policy documents are sealed, so their table joins key
// rotation.
func (a *App) openPolicy() {
	a.Keys.Register(store.PolicyVersionsTable())
	a.Policy = policy.New(policy.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Directory: keydirLookup{a}},
		policy.Options{Clock: a.Clock})
}

// keydirLookup hands the engine's key questions to the key directory,
// which is opened after the outbox (openKeydir) and may be absent.
type keydirLookup struct{ a *App }

var _ policy.KeyDirectory = (*keydir.Service)(nil)

func (k keydirLookup) HasValidKey(ctx context.Context, orgID, email string) (string, bool, error) {
	if k.a.Keydir == nil {
		return "", false, nil
	}
	return k.a.Keydir.HasValidKey(ctx, orgID, email)
}

// Prefetch is the campaign batches' read of their recipients' keys
// (keydir.Service.Prefetch); without a key directory nobody has a key.
func (k keydirLookup) Prefetch(ctx context.Context, orgID string, emails []string) (policy.KeyDirectory, error) {
	if k.a.Keydir == nil {
		return k, nil
	}
	return k.a.Keydir.Prefetch(ctx, orgID, emails)
}
