package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
)

// BeginLogin checks an e-mail address and password and starts a flow at its
// first stage. It never returns a session. An unknown address, a wrong
// password and a disabled account are the same ErrInvalidCredentials after
// the same work (Hasher.Dummy stands in for the missing hash). A blocked
// account or address gets *ThrottledError without the password being
// checked.
func (s *Service) BeginLogin(ctx context.Context, email, pw string, c Client) (Flow, error) {
	key := emailKey(email)
	u, err := store.GetUserByEmailKey(ctx, s.reader(), key)
	if err != nil && !isNotFound(err) {
		return Flow{}, err
	}
	a := loginAttempt("auth.login", key, u, c, "password")
	a.details["step"] = "password"
	if err := s.reserve(ctx, a); err != nil {
		return Flow{}, err
	}
	reason, err := s.checkPassword(ctx, u, pw)
	if err != nil {
		return Flow{}, err
	}
	if reason == "" && u.Status != store.UserActive {
		reason = "disabled"
	}
	if reason == "" {
		org, err := store.GetOrganization(ctx, s.reader(), u.OrgID)
		if err != nil {
			return Flow{}, err
		}
		if org.Status != store.OrgActive {
			reason = "org_disabled"
		}
	}
	if reason != "" {
		if err := s.tx(ctx, func(tx *store.Tx) error { return s.failed(ctx, tx, a, reason, true) }); err != nil {
			return Flow{}, err
		}
		return Flow{}, ErrInvalidCredentials
	}
	rehash := ""
	if s.opts.Hasher.NeedsRehash(u.PasswordHash) {
		if rehash, err = s.opts.Hasher.Hash(ctx, pw); err != nil {
			return Flow{}, err
		}
	}
	var flow Flow
	err = s.tx(ctx, func(tx *store.Tx) error {
		if err := s.succeeded(ctx, tx, a); err != nil {
			return err
		}
		if rehash != "" {
			if err := store.UpdateUserPassword(ctx, tx, u.OrgID, u.ID, rehash, u.MustChangePassword, u.PasswordChangedAt); err != nil {
				return err
			}
		}
		var err error
		if flow, err = s.startFlow(ctx, tx, u, a.client); err != nil {
			return err
		}
		a.details["next"] = string(flow.Stage)
		return s.record(ctx, tx, a.entry(audit.Success, ""))
	})
	return flow, err
}

// checkPassword returns "" when pw is u's password, else the audit reason.
// Exactly one hash is computed either way.
func (s *Service) checkPassword(ctx context.Context, u store.UserRow, pw string) (string, error) {
	if u.ID == "" || u.PasswordHash == "" {
		s.opts.Hasher.Dummy(ctx, pw)
		if u.ID == "" {
			return "unknown_account", ctx.Err()
		}
		return "no_password", ctx.Err()
	}
	err := s.opts.Hasher.Verify(ctx, u.PasswordHash, pw)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, password.ErrMismatch):
		return "bad_password", nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	default:
		return "bad_hash", nil // a damaged row must not let anyone in
	}
}

// FlowChangePassword replaces the one-time password (stage change_password)
// and moves the flow on to enrol_mfa or mfa. The new password must pass
// password.Check with the user's address, name and organization as context.
func (s *Service) FlowChangePassword(ctx context.Context, token, newPassword string) (Flow, error) {
	f, u, err := s.loadStage(ctx, s.reader(), token, StageChangePassword)
	if err != nil {
		return Flow{}, err
	}
	hash, err := s.newPasswordHash(ctx, u, newPassword)
	if err != nil {
		return Flow{}, err
	}
	var out Flow
	err = s.tx(ctx, func(tx *store.Tx) error {
		// Read again under the write lock: the flow may have moved on.
		f2, err := store.GetLoginFlow(ctx, tx, f.ID)
		if isNotFound(err) {
			return ErrFlowExpired
		}
		if err != nil {
			return err
		}
		if Stage(f2.Stage) != StageChangePassword {
			return ErrWrongStage
		}
		now := s.now()
		if err := store.UpdateUserPassword(ctx, tx, u.OrgID, u.ID, hash, false, now); err != nil {
			return err
		}
		u.MustChangePassword = false
		mfa, err := s.mfaStatus(ctx, tx, u)
		if err != nil {
			return err
		}
		f2.Stage = string(firstStage(u, mfa))
		if err := store.SetLoginFlowStage(ctx, tx, f2.ID, f2.Stage, f2.AMR); err != nil {
			return err
		}
		out = flowView(f2, mfa)
		return s.record(ctx, tx, audit.Entry{Chain: u.OrgID, Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID},
			Action: "auth.password.change", TargetType: "user", TargetID: u.ID, Outcome: audit.Success,
			ClientIP: f2.ClientIP, Details: map[string]string{"via": "login_flow"}})
	})
	return out, err
}

// newPasswordHash checks the password that replaces a one-time password:
// the policy, and not the one-time password itself (whoever holds the flow
// has just proven it, so comparing with the hash reveals nothing).
func (s *Service) newPasswordHash(ctx context.Context, u store.UserRow, pw string) (string, error) {
	if u.PasswordHash != "" && s.opts.Hasher.Verify(ctx, u.PasswordHash, pw) == nil {
		return "", inputErr("password", "choose a password different from the current one")
	}
	return s.checkNewPassword(ctx, u, pw)
}

// FinishFlow ends a flow with a session, inside the caller's transaction:
// it deletes the flow, creates the session, records the sign-in and audits
// "auth.login" success. It is exported for the second factors implemented
// elsewhere (WebAuthn, OIDC), which verify their factor in tx first. amr
// must name a method besides the password: a password alone never yields a
// session.
func (s *Service) FinishFlow(ctx context.Context, tx *store.Tx, flowID string, amr []string, c Client) (Session, error) {
	if !slices.ContainsFunc(amr, func(m string) bool { return m != AMRPassword && m != "" }) {
		return Session{}, ErrMFARequired
	}
	f, err := store.GetLoginFlow(ctx, tx, flowID)
	if isNotFound(err) || err == nil && !s.now().Before(f.ExpiresAt) {
		return Session{}, ErrFlowExpired
	}
	if err != nil {
		return Session{}, err
	}
	if Stage(f.Stage) == StageChangePassword {
		return Session{}, ErrWrongStage
	}
	if _, err := store.DeleteLoginFlow(ctx, tx, f.ID); err != nil {
		return Session{}, err
	}
	u, err := store.GetUser(ctx, tx, f.OrgID, f.UserID)
	if err != nil {
		return Session{}, err
	}
	if u.Status != store.UserActive {
		return Session{}, ErrInvalidCredentials
	}
	amr = append(strings.Fields(f.AMR), amr...)
	slices.Sort(amr)
	amr = slices.Compact(amr)
	sess, err := s.createSession(ctx, tx, u, amr, Client{IP: c.ip(), UserAgent: c.UserAgent})
	if err != nil {
		return Session{}, err
	}
	if err := store.SetUserLastLogin(ctx, tx, u.ID, sess.CreatedAt); err != nil {
		return Session{}, err
	}
	err = s.record(ctx, tx, audit.Entry{Chain: u.OrgID, Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID},
		Action: "auth.login", TargetType: "session", TargetID: sess.ID, Outcome: audit.Success,
		ClientIP: sess.ClientIP, UserAgent: sess.UserAgent,
		Details: map[string]string{"step": "complete", "amr": strings.Join(amr, " "), "user_id": u.ID}})
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}
