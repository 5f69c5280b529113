package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// TOTP parameters, RFC 6238 with the defaults every authenticator app
// supports: HMAC-SHA-1, 6 digits, 30-second steps (section 4), and one step
// of clock skew either way (section 5.2).
const (
	totpPeriod     = 30
	totpSkew       = 1
	totpSecretSize = 20 // 160 bits, RFC 4226 section 4 recommends at least 128
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrollment is what a person needs to add carepost to an
// authenticator app: the base32 secret, the otpauth URI and a QR code (PNG)
// of it. Shown once; confirmed with a code.
type TOTPEnrollment struct {
	Secret, URI string
	QRPNG       []byte
}

// totpStep is RFC 6238's T = floor((unix time − T0) / X), T0 = 0, X = 30.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchTOTP returns the step within ±totpSkew of now whose code is code
// (the latest, should two match). Every candidate is computed and compared
// in constant time.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpOpts.Digits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	cur := totpStep(now)
	found := int64(-1)
	for st := cur - totpSkew; st <= cur+totpSkew; st++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(st), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = st
		}
	}
	return found, found >= 0
}

// isTOTPCode tells a 6-digit authenticator code from a recovery code.
func isTOTPCode(code string) bool {
	c := strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	return len(c) == 6 && strings.Trim(c, "0123456789") == ""
}

// newEnrollment generates a TOTP secret for account (the user's address,
// shown in the app) with its URI and QR code.
func (s *Service) newEnrollment(account string) (TOTPEnrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opts.TOTPIssuer, AccountName: account,
		Period: totpPeriod, SecretSize: totpSecretSize, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("generate TOTP secret: %w", err)
	}
	png, err := qrcode.Encode(key.URL(), qrcode.Medium, 256)
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("TOTP QR code: %w", err)
	}
	return TOTPEnrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: png}, nil
}

func totpAAD(u store.UserRow, column string) keyring.AAD {
	return keyring.AAD{Scope: u.OrgID, Table: "users", Column: column, RowID: u.ID}
}

// openTOTP opens a sealed TOTP column of u ("" when NULL).
func (s *Service) openTOTP(ctx context.Context, q store.Querier, u store.UserRow, column string) (string, error) {
	ct := u.TOTPSecret
	if column == "totp_pending" {
		ct = u.TOTPPending
	}
	if ct == nil {
		return "", nil
	}
	pt, err := s.opts.Keys.Open(ctx, q, totpAAD(u, column), ct)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// writeTOTP seals secret and pending ("" for none) under one data-key
// version, as the row's single dek_version requires, and writes the TOTP
// state of u.
func (s *Service) writeTOTP(ctx context.Context, tx *store.Tx, u store.UserRow, secret, pending string, confirmedAt time.Time, lastStep int64) error {
	for range 3 {
		t := store.UserTOTP{DEKVersion: u.DEKVersion, ConfirmedAt: confirmedAt, LastStep: lastStep}
		versions := map[int]bool{}
		for _, c := range []struct {
			column, plain string
			dst           *[]byte
		}{{"totp_secret", secret, &t.Secret}, {"totp_pending", pending, &t.Pending}} {
			if c.plain == "" {
				continue
			}
			ct, v, err := s.opts.Keys.Seal(ctx, tx, totpAAD(u, c.column), []byte(c.plain))
			if err != nil {
				return err
			}
			*c.dst, t.DEKVersion, versions[v] = ct, v, true
		}
		if len(versions) > 1 {
			continue // a rotation landed between the two seals; seal again
		}
		return store.SetUserTOTP(ctx, tx, u.OrgID, u.ID, t, s.now())
	}
	return errors.New("seal TOTP secrets: the data-key version kept changing")
}

// stagePending stores a new secret as u's pending one, keeping a confirmed
// secret working until the new one is confirmed.
func (s *Service) stagePending(ctx context.Context, tx *store.Tx, orgID, userID, secret string) (store.UserRow, error) {
	u, err := store.GetUser(ctx, tx, orgID, userID)
	if err != nil {
		return store.UserRow{}, err
	}
	keep, err := s.openTOTP(ctx, tx, u, "totp_secret")
	if err != nil {
		return store.UserRow{}, err
	}
	return u, s.writeTOTP(ctx, tx, u, keep, secret, u.TOTPConfirmedAt, u.TOTPLastStep)
}

// confirmPending checks code against u's pending secret and, if it
// matches, makes that secret the confirmed one, returning "" (or the audit
// reason of the failure). The matching step becomes the last used, so the
// confirming code cannot be used again to sign in.
func (s *Service) confirmPending(ctx context.Context, tx *store.Tx, orgID, userID, code string) (string, error) {
	u, err := store.GetUser(ctx, tx, orgID, userID)
	if err != nil {
		return "", err
	}
	pending, err := s.openTOTP(ctx, tx, u, "totp_pending")
	if err != nil || pending == "" {
		return "no_enrollment", err
	}
	step, ok := matchTOTP(pending, code, s.now())
	if !ok {
		return "bad_code", nil
	}
	return "", s.writeTOTP(ctx, tx, u, pending, "", s.now(), step)
}

// useTOTP checks code against u's confirmed secret and consumes its time
// step, returning "" or the audit reason of the failure. A step at or
// before the last accepted one is refused, so each code works once
// (RFC 6238 section 5.2: "the verifier MUST NOT accept the second attempt
// of the OTP after the successful validation").
func (s *Service) useTOTP(ctx context.Context, tx *store.Tx, orgID, userID, code string) (string, error) {
	u, err := store.GetUser(ctx, tx, orgID, userID)
	if err != nil {
		return "", err
	}
	if !totpConfirmed(u) {
		return "no_totp", nil
	}
	secret, err := s.openTOTP(ctx, tx, u, "totp_secret")
	if err != nil {
		return "", err
	}
	step, ok := matchTOTP(secret, code, s.now())
	if !ok {
		return "bad_code", nil
	}
	fresh, err := store.AdvanceTOTPStep(ctx, tx, u.ID, step)
	if err != nil {
		return "", err
	}
	if !fresh {
		return "replayed_code", nil
	}
	return "", nil
}
