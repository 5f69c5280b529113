package auth

import (
	"context"
	"errors"
	"strconv"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
)

// Reauthenticate checks p's password AND a second factor (a TOTP code or a
// recovery code) and marks p's session freshly authenticated, which
// sensitive changes require for ReauthWindow. It is throttled like sign-in:
// failures count against the account and the client address.
func (s *Service) Reauthenticate(ctx context.Context, p Principal, pw, code string) error {
	if err := requirePerson(p); err != nil {
		return err
	}
	if code == "" {
		return ErrMFARequired
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return err
	}
	method := MethodRecovery
	if isTOTPCode(code) {
		method = MethodTOTP
	}
	a := loginAttempt("auth.reauth", u.EmailKey, u, clientFrom(ctx), method)
	a.actor, a.target = p.Actor(), [2]string{"session", p.SessionID}
	reason, err := s.guarded(ctx, a,
		func() (string, error) { return s.checkPassword(ctx, u, pw) },
		func(tx *store.Tx) (string, error) {
			if method == MethodTOTP {
				return s.useTOTP(ctx, tx, u.OrgID, u.ID, code)
			}
			return s.consumeRecovery(ctx, tx, u.ID, code)
		}, nil,
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

// ChangePassword replaces p's password, given the current one, and ends
// every other session of p. The new password must pass password.Check.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	if err := requirePerson(p); err != nil {
		return err
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return err
	}
	// Compared as given, not against the stored hash: that would let a
	// session test guesses of the current password without the throttle.
	if next == current {
		return inputErr("password", "choose a password different from the current one")
	}
	hash, err := s.checkNewPassword(ctx, u, next)
	if err != nil {
		return err
	}
	a := loginAttempt("auth.password.change", u.EmailKey, u, clientFrom(ctx), "password")
	a.actor = p.Actor()
	a.details["via"] = "session"
	reason, err := s.guarded(ctx, a,
		func() (string, error) { return s.checkPassword(ctx, u, current) }, nil, nil,
		func(tx *store.Tx) error {
			now := s.now()
			if err := store.UpdateUserPassword(ctx, tx, u.OrgID, u.ID, hash, false, now); err != nil {
				return err
			}
			ended, err := store.EndUserSessions(ctx, tx, u.OrgID, u.ID, p.SessionID, now, "password_change")
			if err != nil {
				return err
			}
			e := a.entry(audit.Success, "")
			e.Details["sessions_ended"] = strconv.Itoa(ended)
			return s.record(ctx, tx, e)
		})
	if err != nil {
		return err
	}
	if reason != "" {
		return ErrInvalidCredentials
	}
	return nil
}

// checkNewPassword applies the password policy (NIST SP 800-63B 5.1.1.2)
// with the account's own words as context, and hashes the password.
func (s *Service) checkNewPassword(ctx context.Context, u store.UserRow, pw string) (string, error) {
	org, err := store.GetOrganization(ctx, s.reader(), u.OrgID)
	if err != nil {
		return "", err
	}
	var pe *password.PolicyError
	if err := password.Check(pw, u.Email, u.Name, org.Name); errors.As(err, &pe) {
		return "", inputErr("password", pe.Reason)
	} else if err != nil {
		return "", err
	}
	return s.opts.Hasher.Hash(ctx, pw)
}
