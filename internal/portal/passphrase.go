package portal

import (
	"context"
	"errors"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
)

// VerifyPassphrase checks the passphrase the sender set for the item a
// link names and opens a session when it matches. The argon2id check runs
// outside the write transaction (it takes tens of milliseconds); the
// outcome is recorded in one, where the item's state is checked again.
func (s *Service) VerifyPassphrase(ctx context.Context, token, passphrase string) (Session, error) {
	it, err := s.itemByToken(ctx, s.deps.DB.Reader(), token)
	if err != nil {
		return Session{}, err
	}
	if err := s.usable(it); err != nil {
		return Session{}, err
	}
	if it.PassphraseHash == "" {
		return Session{}, ErrUnavailable
	}
	err = s.deps.Hasher.Verify(ctx, it.PassphraseHash, passphrase)
	if err != nil && !errors.Is(err, password.ErrMismatch) {
		return Session{}, err
	}
	return s.recordProof(ctx, token, ProofPassphrase, "", err == nil)
}

// recordProof records the outcome of a proof checked outside the
// transaction: on success a session, on failure the count (committed
// before ErrProof is returned).
func (s *Service) recordProof(ctx context.Context, token, method, accountID string, ok bool) (Session, error) {
	var sess Session
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, err := s.itemByToken(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := s.usable(it); err != nil {
			return err
		}
		if ok {
			sess, err = s.startSession(ctx, tx, it, method, accountID)
			return err
		}
		if err := s.failed(ctx, tx, &it); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.verify", audit.Failure,
			map[string]string{"method": method, "reason": "did not match"})
	})
	if err == nil && !ok {
		err = ErrProof
	}
	return sess, err
}
