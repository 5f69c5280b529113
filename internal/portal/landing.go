package portal

import (
	"context"
	"errors"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// Proof methods, as sessions and audit entries name them.
const (
	ProofEmail      = "email-code"
	ProofSMS        = "sms-code"
	ProofPassphrase = "passphrase"
	ProofAccount    = "account"
)

// Landing is what the landing page of a link shows: who sent it, until
// when it can be opened, and how the recipient can prove who they are.
// It carries nothing from the message.
type Landing struct {
	Org       string
	ExpiresAt time.Time
	// Methods offered, among the Proof* constants (email code always).
	Methods []string
	// LockedUntil is set while failed proofs lock the item.
	LockedUntil time.Time
}

// Offers reports whether the landing offers a proof method.
func (l Landing) Offers(method string) bool {
	for _, m := range l.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// Open reads the item a link token names, for its landing page. It only
// reads — a GET of the link, which mail scanners make, changes nothing —
// and answers ErrNotFound for an unknown or malformed token and ErrGone
// (with the organization's name) for a revoked or expired item.
func (s *Service) Open(ctx context.Context, token string) (Landing, error) {
	q := s.deps.DB.Reader()
	it, err := s.itemByToken(ctx, q, token)
	if err != nil {
		return Landing{}, err
	}
	org, err := store.GetOrganization(ctx, q, it.OrgID)
	if err != nil {
		return Landing{}, err
	}
	l := Landing{Org: org.Name, ExpiresAt: it.ExpiresAt, Methods: []string{ProofEmail}}
	if err := s.live(it); err != nil {
		return l, err
	}
	if it.Phone != nil && s.deps.SMS != nil {
		l.Methods = append(l.Methods, ProofSMS)
	}
	if it.PassphraseHash != "" {
		l.Methods = append(l.Methods, ProofPassphrase)
	}
	acct, err := store.PortalAccountByAddress(ctx, q, it.OrgID, it.AddressIndex)
	switch {
	case err == nil && acct.State == "active":
		l.Methods = append(l.Methods, ProofAccount)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Landing{}, err
	}
	if it.LockedUntil.After(s.now()) {
		l.LockedUntil = it.LockedUntil
	}
	return l, nil
}

// itemByToken finds the item of a link token; a malformed token is
// ErrNotFound, like an unknown one.
func (s *Service) itemByToken(ctx context.Context, q store.Querier, token string) (store.PortalItemRow, error) {
	hash, err := ParseToken(LinkPrefix, token)
	if err != nil {
		return store.PortalItemRow{}, ErrNotFound
	}
	return store.PortalItemByToken(ctx, q, hash)
}

// usable refuses an item that is gone or locked.
func (s *Service) usable(it store.PortalItemRow) error {
	if err := s.live(it); err != nil {
		return err
	}
	if it.LockedUntil.After(s.now()) {
		return ErrLocked
	}
	return nil
}

// failed counts a failed proof against an item, locking it after
// MaxFailures in a row, in tx.
func (s *Service) failed(ctx context.Context, tx *store.Tx, it *store.PortalItemRow) error {
	it.FailedAttempts++
	if it.FailedAttempts >= s.opts.MaxFailures {
		it.FailedAttempts, it.LockedUntil = 0, s.now().Add(s.opts.Lockout)
	}
	return store.SetPortalAttempts(ctx, tx, it.ID, it.FailedAttempts, it.LockedUntil)
}
