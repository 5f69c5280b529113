package auth

import (
	"context"
	"encoding/json"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Re-authentication with a passkey: the password and a passkey assertion
// instead of the password and a code, so a person whose only second factor
// is a passkey does not spend recovery codes to make sensitive changes.
// The ceremony lives in the session's row; the check is throttled like
// Reauthenticate.

// BeginPasskeyReauth starts a re-authentication of p with a passkey and
// returns the options for navigator.credentials.get(); ErrNoPasskey when
// p has none.
func (s *Service) BeginPasskeyReauth(ctx context.Context, p Principal) (json.RawMessage, error) {
	if err := requirePerson(p); err != nil {
		return nil, err
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return nil, err
	}
	options, cer, err := s.beginAssertion(ctx, s.reader(), u)
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

// ReauthenticatePasskey checks p's password and the assertion begun with
// BeginPasskeyReauth and marks p's session freshly authenticated. A wrong
// password or a refused assertion is ErrInvalidCredentials; both spend the
// challenge and count against the throttle.
func (s *Service) ReauthenticatePasskey(ctx context.Context, p Principal, pw string, response []byte) error {
	if err := requirePerson(p); err != nil {
		return err
	}
	if _, err := s.relyingParty(); err != nil {
		return err
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return err
	}
	a := loginAttempt("auth.reauth", u.EmailKey, u, clientFrom(ctx), MethodWebAuthn)
	a.actor, a.target = p.Actor(), [2]string{"session", p.SessionID}
	take := func(tx *store.Tx) (string, error) {
		raw, err := store.TakeSessionCeremony(ctx, tx, p.OrgID, p.SessionID)
		if isNotFound(err) {
			return "", ErrSessionExpired
		}
		return raw, err
	}
	reason, err := s.guarded(ctx, a,
		func() (string, error) { return s.checkPassword(ctx, u, pw) },
		func(tx *store.Tx) (string, error) {
			raw, err := take(tx)
			if err != nil {
				return "", err
			}
			return s.verifyAssertion(ctx, tx, raw, u, response)
		},
		func(tx *store.Tx) error { _, err := take(tx); return err }, // a wrong password spends the challenge too
		func(tx *store.Tx) error {
			if err := store.SetSessionReauth(ctx, tx, p.OrgID, p.SessionID, s.now()); err != nil {
				if isNotFound(err) {
					return ErrSessionExpired
				}
				return err
			}
			return s.record(ctx, tx, a.entry(audit.Success, ""))
		})
	if err != nil {
		return err
	}
	if reason != "" {
		return ErrInvalidCredentials
	}
	return nil
}
