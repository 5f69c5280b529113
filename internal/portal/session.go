package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// Session is a portal session: one proof, one item. Token is set only
// when the session starts (it goes into the cookie, and only its hash is
// stored).
type Session struct {
	ID          string
	Token       string
	OrgID       string
	ItemID      string
	RecipientID string
	AccountID   string
	Proof       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// CSRF is the token forms must send back.
	CSRF string
}

// startSession opens a session for an item after a successful proof: the
// item's failure count is reset and the proof audited, in tx.
func (s *Service) startSession(ctx context.Context, tx *store.Tx, it store.PortalItemRow, proof, accountID string) (Session, error) {
	now := s.now()
	token, hash := newToken(SessionPrefix)
	row := store.PortalSessionRow{ID: id.NewAt("pss", now), TokenHash: hash, OrgID: it.OrgID, ItemID: it.ID, RecipientID: it.RecipientID,
		AccountID: accountID, Proof: proof, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opts.SessionLifetime)}
	if err := store.InsertPortalSession(ctx, tx, row); err != nil {
		return Session{}, err
	}
	if err := store.SetPortalAttempts(ctx, tx, it.ID, 0, time.Time{}); err != nil {
		return Session{}, err
	}
	if err := s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.verify", audit.Success,
		map[string]string{"method": proof, "session_id": row.ID}); err != nil {
		return Session{}, err
	}
	sess := sessionOf(row)
	sess.Token, sess.CSRF = token, csrfFor(token)
	return sess, nil
}

func sessionOf(r store.PortalSessionRow) Session {
	return Session{ID: r.ID, OrgID: r.OrgID, ItemID: r.ItemID, RecipientID: r.RecipientID, AccountID: r.AccountID, Proof: r.Proof,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// Authenticate resolves a portal session cookie. A session that ended,
// outlived its lifetime or sat idle longer than the idle timeout is
// ErrNoSession; a live one is touched (its idle clock restarts).
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	hash, err := ParseToken(SessionPrefix, token)
	if err != nil {
		return Session{}, ErrNoSession
	}
	row, err := store.PortalSessionByToken(ctx, s.deps.DB.Reader(), hash)
	if err != nil {
		return Session{}, ErrNoSession
	}
	now := s.now()
	if !row.EndedAt.IsZero() || !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) >= s.opts.SessionIdle {
		return Session{}, ErrNoSession
	}
	if err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error { return store.TouchPortalSession(ctx, tx, row.ID, now) }); err != nil {
		return Session{}, err
	}
	sess := sessionOf(row)
	sess.CSRF = csrfFor(token)
	return sess, nil
}

// EndSession ends a portal session (sign out).
func (s *Service) EndSession(ctx context.Context, sess Session) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error { return store.EndPortalSessions(ctx, tx, sess.ID, "", s.now()) })
}

// csrfFor derives a session's CSRF token from its secret token, which
// never reaches script (the cookie is HttpOnly).
func csrfFor(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("carepost portal csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a form's token with the session's.
func (sess Session) CheckCSRF(got string) bool {
	return sess.CSRF != "" && hmac.Equal([]byte(got), []byte(sess.CSRF))
}

// sessionItem loads the item a session grants and refuses one that is
// gone.
func (s *Service) sessionItem(ctx context.Context, q store.Querier, sess Session) (store.PortalItemRow, error) {
	it, err := store.GetPortalItem(ctx, q, sess.OrgID, sess.ItemID)
	if err != nil {
		return it, err
	}
	return it, s.live(it)
}

func (s *Service) orgName(ctx context.Context, q store.Querier, orgID string) (string, error) {
	o, err := store.GetOrganization(ctx, q, orgID)
	if err != nil {
		return "", err
	}
	return o.Name, nil
}

// recipientAddress opens the recipient's sealed address.
func (s *Service) recipientAddress(ctx context.Context, q store.Querier, it store.PortalItemRow) (string, error) {
	rc, err := store.PortalRecipient(ctx, q, it.OrgID, it.MessageID, it.RecipientID)
	if err != nil {
		return "", err
	}
	b, err := s.deps.Keys.Open(ctx, q, outbox.AddressAAD(it.OrgID, rc.ID), rc.Address)
	if err != nil {
		return "", fmt.Errorf("open recipient: %w", err)
	}
	return string(b), nil
}

// phoneAAD names the sealed phone number of an item.
func phoneAAD(orgID, itemID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "portal_items", Column: "phone", RowID: itemID}
}

// totpAAD names the sealed TOTP secret of a portal account.
func totpAAD(orgID, accountID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "portal_accounts", Column: "totp_secret", RowID: accountID}
}
