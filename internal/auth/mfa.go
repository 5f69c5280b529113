package auth

import (
	"context"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Second factors in a sign-in (stages enroll_mfa and mfa) and, for a
// signed-in person, replacing the authenticator.

// flowFactor runs a second-factor step of the flow named by token: the
// throttle, check inside the transaction, and on success after (may be nil)
// then FinishFlow with amr. Wrong codes count against the flow too:
// after maxFlowAttempts the flow is gone and the person starts again.
func (s *Service) flowFactor(ctx context.Context, token string, stage Stage, method, amr string, c Client,
	check func(tx *store.Tx, u store.UserRow) (string, error), after func(tx *store.Tx, u store.UserRow) error) (Session, error) {
	f, u, err := s.loadStage(ctx, s.reader(), token, stage)
	if err != nil {
		return Session{}, err
	}
	a := loginAttempt("auth.login", u.EmailKey, u, c, method)
	a.details["step"] = "second_factor"
	var sess Session
	reason, err := s.guarded(ctx, a, nil,
		func(tx *store.Tx) (string, error) { return check(tx, u) },
		func(tx *store.Tx) error {
			n, err := store.CountLoginFlowAttempt(ctx, tx, f.ID)
			if isNotFound(err) {
				return nil
			}
			if err == nil && n >= maxFlowAttempts {
				_, err = store.DeleteLoginFlow(ctx, tx, f.ID)
			}
			return err
		},
		func(tx *store.Tx) error {
			if after != nil {
				if err := after(tx, u); err != nil {
					return err
				}
			}
			var err error
			sess, err = s.FinishFlow(ctx, tx, f.ID, []string{amr}, c)
			return err
		})
	if err != nil {
		return Session{}, err
	}
	if reason != "" {
		return Session{}, ErrInvalidCode
	}
	return sess, nil
}

// FlowBeginTOTP starts enrolling an authenticator app (stage enroll_mfa).
// The secret is sealed in users.totp_pending until confirmed.
func (s *Service) FlowBeginTOTP(ctx context.Context, token string) (TOTPEnrollment, error) {
	f, u, err := s.loadStage(ctx, s.reader(), token, StageEnrollMFA)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	enr, err := s.newEnrollment(u.Email)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.tx(ctx, func(tx *store.Tx) error {
		if _, err := store.GetLoginFlow(ctx, tx, f.ID); isNotFound(err) {
			return ErrFlowExpired
		} else if err != nil {
			return err
		}
		if _, err := s.stagePending(ctx, tx, u.OrgID, u.ID, enr.Secret); err != nil {
			return err
		}
		return s.record(ctx, tx, enrollEntry(audit.Actor{Type: audit.ActorUser, ID: u.ID}, u, "begin", "login_flow", f.ClientIP))
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return enr, nil
}

// FlowConfirmTOTP confirms the authenticator with a code from it (stage
// enroll_mfa) and finishes the sign-in: it returns the session and ten
// recovery codes, shown once.
func (s *Service) FlowConfirmTOTP(ctx context.Context, token, code string, c Client) (Session, []string, error) {
	var codes []string
	sess, err := s.flowFactor(ctx, token, StageEnrollMFA, MethodTOTP, AMROTP, c,
		func(tx *store.Tx, u store.UserRow) (string, error) {
			return s.confirmPending(ctx, tx, u.OrgID, u.ID, code)
		},
		func(tx *store.Tx, u store.UserRow) error {
			var err error
			if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
				return err
			}
			return s.record(ctx, tx, enrollEntry(audit.Actor{Type: audit.ActorUser, ID: u.ID}, u, "confirm", "login_flow", c.ip()))
		})
	if err != nil {
		return Session{}, nil, err
	}
	return sess, codes, nil
}

// FlowVerifyTOTP answers the second-factor step with an authenticator code
// (stage mfa). Each code works once.
func (s *Service) FlowVerifyTOTP(ctx context.Context, token, code string, c Client) (Session, error) {
	return s.flowFactor(ctx, token, StageMFA, MethodTOTP, AMROTP, c,
		func(tx *store.Tx, u store.UserRow) (string, error) { return s.useTOTP(ctx, tx, u.OrgID, u.ID, code) }, nil)
}

// BeginTOTP starts replacing (or adding) p's authenticator app; it needs a
// fresh re-authentication. The current authenticator keeps working until
// ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, p Principal) (TOTPEnrollment, error) {
	if err := requirePerson(p); err != nil {
		return TOTPEnrollment{}, err
	}
	if !p.FreshAuth(s.now(), s.opts.ReauthWindow) {
		return TOTPEnrollment{}, ErrReauthRequired
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	enr, err := s.newEnrollment(u.Email)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.tx(ctx, func(tx *store.Tx) error {
		if _, err := s.stagePending(ctx, tx, u.OrgID, u.ID, enr.Secret); err != nil {
			return err
		}
		return s.record(ctx, tx, enrollEntry(p.Actor(), u, "begin", "session", ""))
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return enr, nil
}

// ConfirmTOTP makes the authenticator begun with BeginTOTP p's TOTP factor
// (a fresh re-authentication). When p has no unused recovery codes it
// returns ten new ones, shown once; otherwise nil, and the existing codes
// stay valid.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	if err := requirePerson(p); err != nil {
		return nil, err
	}
	if !p.FreshAuth(s.now(), s.opts.ReauthWindow) {
		return nil, ErrReauthRequired
	}
	u, err := store.GetUser(ctx, s.reader(), p.OrgID, p.UserID)
	if err != nil {
		return nil, err
	}
	a := loginAttempt("auth.mfa.enroll", u.EmailKey, u, clientFrom(ctx), MethodTOTP)
	a.actor = p.Actor()
	a.details["step"], a.details["via"] = "confirm", "session"
	var codes []string
	reason, err := s.guarded(ctx, a, nil,
		func(tx *store.Tx) (string, error) { return s.confirmPending(ctx, tx, u.OrgID, u.ID, code) }, nil,
		func(tx *store.Tx) error {
			left, err := store.CountRecoveryCodes(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			if left == 0 {
				if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
					return err
				}
			}
			return s.record(ctx, tx, a.entry(audit.Success, ""))
		})
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return nil, ErrInvalidCode
	}
	return codes, nil
}

func enrollEntry(actor audit.Actor, u store.UserRow, step, via, ip string) audit.Entry {
	return audit.Entry{Chain: u.OrgID, Actor: actor, Action: "auth.mfa.enroll", TargetType: "user", TargetID: u.ID,
		Outcome: audit.Success, ClientIP: ip, Details: map[string]string{"method": MethodTOTP, "step": step, "via": via}}
}
