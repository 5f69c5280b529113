package auth

import (
	"context"
	"encoding/json"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Passkeys of a signed-in person: add one (a fresh re-authentication; the
// ceremony lives in the session's row), list them, remove one (a fresh
// re-authentication, and never the only second factor). Each person
// manages their own passkeys; an administrator removes someone else's
// second factors with ResetMFA. Adding and removing are decisions for a
// person, so API keys cannot make them.

// BeginPasskey starts registering a passkey for p and returns the options
// for navigator.credentials.create().
func (s *Service) BeginPasskey(ctx context.Context, p Principal) (json.RawMessage, error) {
	if err := s.freshPerson(p); err != nil {
		return nil, err
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return nil, err
	}
	options, cer, err := s.beginRegistration(ctx, s.reader(), u)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *store.Tx) error {
		err := store.SetSessionCeremony(ctx, tx, p.OrgID, p.SessionID, cer)
		if isNotFound(err) {
			return ErrSessionExpired
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return options, nil
}

// ConfirmPasskey finishes registering the passkey begun with BeginPasskey
// and names it. When p has no unused recovery codes it returns ten new
// ones, shown once. A response that fails verification is
// ErrPasskeyRejected, audited, and spends the challenge.
func (s *Service) ConfirmPasskey(ctx context.Context, p Principal, name string, response []byte) (Passkey, []string, error) {
	if err := s.freshPerson(p); err != nil {
		return Passkey{}, nil, err
	}
	name, err := passkeyName(name)
	if err != nil {
		return Passkey{}, nil, err
	}
	var codes []string
	var reason string
	err = s.tx(ctx, func(tx *store.Tx) error {
		u, err := store.GetUser(ctx, tx, p.OrgID, p.UserID)
		if err != nil {
			return err
		}
		raw, err := store.TakeSessionCeremony(ctx, tx, p.OrgID, p.SessionID)
		if isNotFound(err) {
			return ErrSessionExpired
		}
		if err != nil {
			return err
		}
		if reason, err = s.verifyRegistration(ctx, tx, raw, u, name, response); err != nil {
			return err
		}
		entry := passkeyEnrollEntry(p.Actor(), u, "session", clientFrom(ctx).ip())
		if reason != "" {
			entry.Outcome, entry.Details["reason"] = audit.Failure, reason
			return s.record(ctx, tx, entry) // the spent challenge and the refusal are kept
		}
		left, err := store.CountRecoveryCodes(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if left == 0 {
			if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, entry)
	})
	if err != nil {
		return Passkey{}, nil, err
	}
	if reason != "" {
		return Passkey{}, nil, ErrPasskeyRejected
	}
	list, err := s.ListPasskeys(ctx, p)
	if err != nil || len(list) == 0 {
		return Passkey{}, codes, err
	}
	return list[len(list)-1], codes, nil // the newest
}

// ListPasskeys lists p's own passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, p Principal) ([]Passkey, error) {
	if p.OrgID == "" || p.UserID == "" {
		return nil, ErrForbidden
	}
	rows, err := store.ListWebAuthnCredentials(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]Passkey, 0, len(rows))
	for _, r := range rows {
		out = append(out, passkeyView(r))
	}
	return out, nil
}

// RemovePasskey removes one of p's passkeys (a fresh re-authentication).
// A passkey of anyone else, in any organization, is store.ErrNotFound; the
// only second factor left is refused, so an account never loses its last
// way to sign in.
func (s *Service) RemovePasskey(ctx context.Context, p Principal, passkeyID string) error {
	if p.OrgID == "" || p.UserID == "" {
		return ErrForbidden
	}
	row, err := store.GetWebAuthnCredential(ctx, s.reader(), p.OrgID, passkeyID)
	if err != nil {
		return err
	}
	if row.UserID != p.UserID {
		return store.ErrNotFound
	}
	if err := s.freshPerson(p); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		u, err := store.GetUser(ctx, tx, p.OrgID, p.UserID)
		if err != nil {
			return err
		}
		mfa, err := s.mfaStatus(ctx, tx, u)
		if err != nil {
			return err
		}
		if !mfa.TOTP && mfa.Passkeys <= 1 {
			return inputErr("id", "this is your only second factor: add an authenticator app or another passkey first")
		}
		removed, err := store.DeleteWebAuthnCredential(ctx, tx, p.OrgID, p.UserID, passkeyID)
		if err != nil {
			return err
		}
		if !removed {
			return store.ErrNotFound
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "auth.passkey.remove",
			TargetType: "passkey", TargetID: passkeyID, Outcome: audit.Success, ClientIP: clientFrom(ctx).ip(),
			Details: map[string]string{"user_id": p.UserID}})
	})
}

// freshPerson requires a person in a session who re-authenticated within
// the window.
func (s *Service) freshPerson(p Principal) error {
	if err := requirePerson(p); err != nil {
		return err
	}
	if !p.FreshAuth(s.now(), s.opts.ReauthWindow) {
		return ErrReauthRequired
	}
	return nil
}
