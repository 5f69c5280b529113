package auth

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Passkeys in a sign-in. Stage enroll_mfa offers a passkey beside the
// authenticator app (FlowBeginPasskey, FlowConfirmPasskey); stage mfa
// answers the challenge with one (FlowChallengePasskey, FlowVerifyPasskey).
// The ceremony lives in the flow's row, and the finishing step runs through
// flowFactor like a TOTP code: throttled, counted against the flow's
// attempts, audited, and a session only through FinishFlow.

// FlowBeginPasskey starts registering a passkey in stage enroll_mfa and
// returns the options for navigator.credentials.create().
func (s *Service) FlowBeginPasskey(ctx context.Context, token string) (json.RawMessage, error) {
	return s.flowCeremony(ctx, token, StageEnrollMFA, s.beginRegistration)
}

// FlowChallengePasskey starts answering stage mfa with a passkey and
// returns the options for navigator.credentials.get().
func (s *Service) FlowChallengePasskey(ctx context.Context, token string) (json.RawMessage, error) {
	return s.flowCeremony(ctx, token, StageMFA, s.beginAssertion)
}

func (s *Service) flowCeremony(ctx context.Context, token string, stage Stage,
	begin func(context.Context, store.Querier, store.UserRow) (json.RawMessage, string, error)) (json.RawMessage, error) {
	f, u, err := s.loadStage(ctx, s.reader(), token, stage)
	if err != nil {
		return nil, err
	}
	options, cer, err := begin(ctx, s.reader(), u)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *store.Tx) error {
		err := store.SetLoginFlowCeremony(ctx, tx, f.ID, cer)
		if isNotFound(err) {
			return ErrFlowExpired
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return options, nil
}

// FlowConfirmPasskey finishes registering the passkey begun with
// FlowBeginPasskey, names it, and ends the sign-in: it returns the session
// and ten recovery codes, shown once. A response that fails verification
// is ErrPasskeyRejected and spends the challenge; begin again.
func (s *Service) FlowConfirmPasskey(ctx context.Context, token, name string, response []byte, c Client) (Session, []string, error) {
	name, err := passkeyName(name)
	if err != nil {
		return Session{}, nil, err
	}
	var codes []string
	sess, err := s.flowPasskey(ctx, token, StageEnrollMFA, c,
		func(tx *store.Tx, u store.UserRow, raw string) (string, error) {
			return s.verifyRegistration(ctx, tx, raw, u, name, response)
		},
		func(tx *store.Tx, u store.UserRow) error {
			var err error
			if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
				return err
			}
			return s.record(ctx, tx, passkeyEnrollEntry(audit.Actor{Type: audit.ActorUser, ID: u.ID}, u, "login_flow", c.ip()))
		})
	if err != nil {
		return Session{}, nil, err
	}
	return sess, codes, nil
}

// FlowVerifyPasskey answers stage mfa with the assertion begun with
// FlowChallengePasskey and ends the sign-in with a session.
func (s *Service) FlowVerifyPasskey(ctx context.Context, token string, response []byte, c Client) (Session, error) {
	return s.flowPasskey(ctx, token, StageMFA, c,
		func(tx *store.Tx, u store.UserRow, raw string) (string, error) {
			return s.verifyAssertion(ctx, tx, raw, u, response)
		}, nil)
}

// flowPasskey is flowFactor for a passkey: the check first takes the
// flow's ceremony, so the challenge is spent whatever the outcome.
func (s *Service) flowPasskey(ctx context.Context, token string, stage Stage, c Client,
	verify func(tx *store.Tx, u store.UserRow, raw string) (string, error), after func(tx *store.Tx, u store.UserRow) error) (Session, error) {
	if _, err := s.relyingParty(); err != nil {
		return Session{}, err
	}
	f, _, err := s.loadStage(ctx, s.reader(), token, stage)
	if err != nil {
		return Session{}, err
	}
	sess, err := s.flowFactor(ctx, token, stage, MethodWebAuthn, AMRWebAuthn, c,
		func(tx *store.Tx, u store.UserRow) (string, error) {
			raw, err := store.TakeLoginFlowCeremony(ctx, tx, f.ID)
			if isNotFound(err) {
				return "", ErrFlowExpired
			}
			if err != nil {
				return "", err
			}
			return verify(tx, u, raw)
		}, after)
	if errors.Is(err, ErrInvalidCode) {
		return Session{}, ErrPasskeyRejected
	}
	return sess, err
}

func passkeyEnrollEntry(actor audit.Actor, u store.UserRow, via, ip string) audit.Entry {
	return audit.Entry{Chain: u.OrgID, Actor: actor, Action: "auth.mfa.enroll", TargetType: "user", TargetID: u.ID,
		Outcome: audit.Success, ClientIP: ip, Details: map[string]string{"method": MethodWebAuthn, "step": "confirm", "via": via}}
}
