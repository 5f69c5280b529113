package auth

import (
	"context"
	"time"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// Stage is the step a sign-in waits for.
type Stage string

// The stages of a sign-in, in order. A flow enters at the first that
// applies and FinishFlow ends it with a session.
const (
	StageChangePassword Stage = "change_password" // the one-time password must be replaced
	StageEnrollMFA      Stage = "enroll_mfa"      // no second factor yet: enrol one
	StageMFA            Stage = "mfa"             // answer with a second factor
)

// Second-factor methods a flow offers.
const (
	MethodTOTP     = "totp"
	MethodWebAuthn = "webauthn"
	MethodRecovery = "recovery"
)

// Authentication method references (RFC 8176) recorded on sessions.
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	// QUIRK: RFC 8176 has no value for a recovery code; "rec" keeps it
	// distinguishable from an authenticator's code.
	AMRRecovery = "rec"
)

// maxFlowAttempts wrong codes end a flow; the user signs in again.
const maxFlowAttempts = 5

// Flow is a sign-in between the password and the session. Token is set
// only when the flow is created.
type Flow struct {
	Token         string
	Stage         Stage
	Methods       []string
	ExpiresAt     time.Time
	UserID, OrgID string
}

// startFlow creates a flow for u at its first stage.
func (s *Service) startFlow(ctx context.Context, tx *store.Tx, u store.UserRow, c Client) (Flow, error) {
	now := s.now()
	if _, err := store.DeleteExpiredLoginFlows(ctx, tx, now); err != nil {
		return Flow{}, err
	}
	mfa, err := s.mfaStatus(ctx, tx, u)
	if err != nil {
		return Flow{}, err
	}
	token, hash := newToken()
	row := store.LoginFlowRow{ID: id.New("lgf"), TokenHash: hash, OrgID: u.OrgID, UserID: u.ID,
		Stage: string(firstStage(u, mfa)), AMR: AMRPassword, ClientIP: c.IP,
		CreatedAt: now, ExpiresAt: now.Add(s.opts.LoginFlowTTL)}
	if err := store.InsertLoginFlow(ctx, tx, row); err != nil {
		return Flow{}, err
	}
	f := flowView(row, mfa)
	f.Token = token
	return f, nil
}

func firstStage(u store.UserRow, mfa MFAStatus) Stage {
	switch {
	case u.MustChangePassword:
		return StageChangePassword
	case !mfa.Enrolled():
		return StageEnrollMFA
	default:
		return StageMFA
	}
}

func (s *Service) mfaStatus(ctx context.Context, q store.Querier, u store.UserRow) (MFAStatus, error) {
	m := MFAStatus{TOTP: totpConfirmed(u)}
	var err error
	if m.Passkeys, err = store.CountWebAuthnCredentials(ctx, q, u.ID); err != nil {
		return MFAStatus{}, err
	}
	if m.RecoveryCodesLeft, err = store.CountRecoveryCodes(ctx, q, u.ID); err != nil {
		return MFAStatus{}, err
	}
	return m, nil
}

func flowView(r store.LoginFlowRow, mfa MFAStatus) Flow {
	f := Flow{Stage: Stage(r.Stage), ExpiresAt: r.ExpiresAt, UserID: r.UserID, OrgID: r.OrgID}
	switch f.Stage {
	case StageEnrollMFA:
		f.Methods = []string{MethodTOTP, MethodWebAuthn}
	case StageMFA:
		if mfa.TOTP {
			f.Methods = append(f.Methods, MethodTOTP)
		}
		if mfa.Passkeys > 0 {
			f.Methods = append(f.Methods, MethodWebAuthn)
		}
		if mfa.RecoveryCodesLeft > 0 {
			f.Methods = append(f.Methods, MethodRecovery)
		}
	}
	return f
}

// LoginFlow returns the flow a token names; ErrFlowExpired if it expired,
// finished or never existed.
func (s *Service) LoginFlow(ctx context.Context, token string) (Flow, error) {
	f, u, err := s.loadFlow(ctx, s.reader(), token)
	if err != nil {
		return Flow{}, err
	}
	mfa, err := s.mfaStatus(ctx, s.reader(), u)
	if err != nil {
		return Flow{}, err
	}
	return flowView(f, mfa), nil
}

// loadFlow reads an unexpired flow by token, with its user.
func (s *Service) loadFlow(ctx context.Context, q store.Querier, token string) (store.LoginFlowRow, store.UserRow, error) {
	if token == "" {
		return store.LoginFlowRow{}, store.UserRow{}, ErrFlowExpired
	}
	f, err := store.GetLoginFlowByToken(ctx, q, hashToken(token))
	if isNotFound(err) || err == nil && !s.now().Before(f.ExpiresAt) {
		return store.LoginFlowRow{}, store.UserRow{}, ErrFlowExpired
	}
	if err != nil {
		return store.LoginFlowRow{}, store.UserRow{}, err
	}
	u, err := store.GetUser(ctx, q, f.OrgID, f.UserID)
	if isNotFound(err) || err == nil && u.Status != store.UserActive {
		return store.LoginFlowRow{}, store.UserRow{}, ErrFlowExpired
	}
	return f, u, err
}

// loadStage is loadFlow for a step that belongs to stage.
func (s *Service) loadStage(ctx context.Context, q store.Querier, token string, stage Stage) (store.LoginFlowRow, store.UserRow, error) {
	f, u, err := s.loadFlow(ctx, q, token)
	if err == nil && Stage(f.Stage) != stage {
		return store.LoginFlowRow{}, store.UserRow{}, ErrWrongStage
	}
	return f, u, err
}
