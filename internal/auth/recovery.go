package auth

import (
	"context"
	"crypto/sha256"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Recovery codes: ten single-use codes of ten base32 characters (50 bits
// each), shown once as "xxxxx-xxxxx". Only a hash is stored, bound to the
// user (SHA-256 over a label, the user id and the normalized code), so a
// code is not usable for another account and equal codes of two users hash
// apart. 50 bits are far beyond online guessing under the sign-in throttle;
// an offline search of a copied database costs 2^49 hashes per user per
// code, and such a copy holds no TOTP secrets in the clear.
const (
	recoveryCodeCount = 10
	recoveryAlphabet  = "abcdefghijklmnopqrstuvwxyz234567" // RFC 4648 base32, lower case
)

func newRecoveryCodes() []string {
	out := make([]string, recoveryCodeCount)
	for i := range out {
		r := randomString(recoveryAlphabet, 10)
		out[i] = r[:5] + "-" + r[5:]
	}
	return out
}

// normalizeRecovery accepts what a person types: any case, with or without
// the dash or spaces.
func normalizeRecovery(code string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
}

func recoveryHash(userID, code string) []byte {
	h := sha256.Sum256([]byte("carepost:recovery:v1\x00" + userID + "\x00" + normalizeRecovery(code)))
	return h[:]
}

// replaceRecoveryCodes stores fresh codes for a user inside tx, replacing
// all earlier ones, and returns them for showing once.
func (s *Service) replaceRecoveryCodes(ctx context.Context, tx *store.Tx, userID string) ([]string, error) {
	codes := newRecoveryCodes()
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = recoveryHash(userID, c)
	}
	if err := store.ReplaceRecoveryCodes(ctx, tx, userID, hashes, s.now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// consumeRecovery marks the code used, returning "" or "bad_code".
func (s *Service) consumeRecovery(ctx context.Context, tx *store.Tx, userID, code string) (string, error) {
	if len(normalizeRecovery(code)) != 10 {
		return "bad_code", nil
	}
	ok, err := store.UseRecoveryCode(ctx, tx, userID, recoveryHash(userID, code), s.now())
	if err != nil || !ok {
		return "bad_code", err
	}
	return "", nil
}

// FlowVerifyRecovery answers the second-factor step with a recovery code
// (stage mfa). Each code works once.
func (s *Service) FlowVerifyRecovery(ctx context.Context, token, code string, c Client) (Session, error) {
	return s.flowFactor(ctx, token, StageMFA, MethodRecovery, AMRRecovery, c,
		func(tx *store.Tx, u store.UserRow) (string, error) { return s.consumeRecovery(ctx, tx, u.ID, code) }, nil)
}

// RegenerateRecoveryCodes replaces all of p's recovery codes with ten new
// ones, shown once (a fresh re-authentication; the account must have a
// second factor, since recovery codes stand in for it).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p Principal) ([]string, error) {
	if err := requirePerson(p); err != nil {
		return nil, err
	}
	if !p.FreshAuth(s.now(), s.opts.ReauthWindow) {
		return nil, ErrReauthRequired
	}
	var codes []string
	err := s.tx(ctx, func(tx *store.Tx) error {
		u, err := store.GetUser(ctx, tx, p.OrgID, p.UserID)
		if err != nil {
			return err
		}
		mfa, err := s.mfaStatus(ctx, tx, u)
		if err != nil {
			return err
		}
		if !mfa.Enrolled() {
			return ErrMFARequired
		}
		if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "auth.recovery.regenerate",
			TargetType: "user", TargetID: u.ID, Outcome: audit.Success,
			Details: map[string]string{"codes": strconv.Itoa(len(codes))}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}
