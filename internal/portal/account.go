package portal

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
)

// Portal accounts let a returning recipient prove who they are with a
// password and an authenticator app instead of a new code each time. They
// are not users: their own table, found by the blind index of the
// recipient's address within one organization, granting nothing but the
// portal sessions of that address's items.

// Account states.
const (
	accountPending = "pending"
	accountActive  = "active"
)

// TOTP as in package auth: RFC 6238 defaults every authenticator app
// reads (HMAC-SHA-1, 6 digits, 30 s) and one step of skew (section 5.2).
var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrollment is what the recipient adds to an authenticator app: the
// secret, its otpauth URI and a QR code (PNG) of it. Shown once.
type Enrollment struct {
	Secret, URI string
	QRPNG       []byte
}

// AccountState says what the read page may offer: an account exists
// (active), is waiting for its first code (pending), or may be created
// (the session was opened with an emailed code, which proves the address).
func (s *Service) AccountState(ctx context.Context, sess Session) (state string, canCreate bool, err error) {
	it, err := s.sessionItem(ctx, s.deps.DB.Reader(), sess)
	if err != nil {
		return "", false, err
	}
	a, err := store.PortalAccountByAddress(ctx, s.deps.DB.Reader(), it.OrgID, it.AddressIndex)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", sess.Proof == ProofEmail, nil
	case err != nil:
		return "", false, err
	}
	return a.State, a.State == accountPending && sess.Proof == ProofEmail, nil
}

// CreateAccount starts a portal account for the session's address: the
// password must pass the NIST SP 800-63B policy; the account stays
// pending until ConfirmAccount proves the authenticator app. Only a
// session opened with an emailed code may create one.
func (s *Service) CreateAccount(ctx context.Context, sess Session, pw string) (Enrollment, error) {
	if sess.Proof != ProofEmail {
		return Enrollment{}, ErrUnavailable
	}
	if err := password.Check(pw); err != nil {
		return Enrollment{}, &InputError{Field: "password", Msg: err.Error()}
	}
	hash, err := s.deps.Hasher.Hash(ctx, pw)
	if err != nil {
		return Enrollment{}, err
	}
	var en Enrollment
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, err := s.sessionItem(ctx, tx, sess)
		if err != nil {
			return err
		}
		org, err := s.orgName(ctx, tx, it.OrgID)
		if err != nil {
			return err
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "carepost", AccountName: org + " secure messages", SecretSize: 20})
		if err != nil {
			return fmt.Errorf("totp secret: %w", err)
		}
		now := s.now()
		a := store.PortalAccountRow{ID: id.NewAt("pac", now), OrgID: it.OrgID, AddressIndex: it.AddressIndex, State: accountPending,
			PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if a.TOTPSecret, a.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, totpAAD(a.OrgID, a.ID), []byte(key.Secret())); err != nil {
			return fmt.Errorf("seal totp secret: %w", err)
		}
		if err := store.PutPortalAccount(ctx, tx, a); err != nil {
			return err // ErrConflict: an active account exists
		}
		png, err := qrcode.Encode(key.URL(), qrcode.Medium, 256)
		if err != nil {
			return fmt.Errorf("qr code: %w", err)
		}
		en = Enrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: png}
		return nil
	})
	return en, err
}

// ConfirmAccount activates the session's pending account with a first
// code from the authenticator app; audited as portal.account.create.
func (s *Service) ConfirmAccount(ctx context.Context, sess Session, code string) error {
	var proofErr error
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, err := s.sessionItem(ctx, tx, sess)
		if err != nil {
			return err
		}
		a, err := store.PortalAccountByAddress(ctx, tx, it.OrgID, it.AddressIndex)
		if err != nil || a.State != accountPending {
			return ErrUnavailable
		}
		step, ok, err := s.checkTOTP(ctx, tx, a, code)
		if err != nil {
			return err
		}
		if !ok {
			proofErr = ErrProof
			return nil
		}
		a.State, a.TOTPLastStep, a.UpdatedAt = accountActive, step, s.now()
		if err := store.UpdatePortalAccount(ctx, tx, a); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.account.create", audit.Success,
			map[string]string{"account_id": a.ID})
	})
	if err == nil {
		err = proofErr
	}
	return err
}

// SignIn proves identity for the item a link names with the portal
// account of its recipient's address: password and a TOTP code (each code
// once). Failures count against the item and lock the account too.
func (s *Service) SignIn(ctx context.Context, token, pw, code string) (Session, error) {
	q := s.deps.DB.Reader()
	it, err := s.itemByToken(ctx, q, token)
	if err != nil {
		return Session{}, err
	}
	if err := s.usable(it); err != nil {
		return Session{}, err
	}
	a, err := store.PortalAccountByAddress(ctx, q, it.OrgID, it.AddressIndex)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.State != accountActive) {
		return Session{}, ErrUnavailable
	}
	if err != nil {
		return Session{}, err
	}
	if a.LockedUntil.After(s.now()) {
		return Session{}, ErrLocked
	}
	err = s.deps.Hasher.Verify(ctx, a.PasswordHash, pw)
	if err != nil && !errors.Is(err, password.ErrMismatch) {
		return Session{}, err
	}
	ok := err == nil
	if ok {
		if ok, err = s.useTOTP(ctx, a.OrgID, a.AddressIndex, code); err != nil {
			return Session{}, err
		}
	}
	if !ok {
		if err := s.accountFailed(ctx, a); err != nil {
			return Session{}, err
		}
	}
	return s.recordProof(ctx, token, ProofAccount, a.ID, ok)
}

// useTOTP checks a code against the account and records its step, so a
// code is accepted once (RFC 6238 section 5.2).
func (s *Service) useTOTP(ctx context.Context, orgID string, addressIndex []byte, code string) (bool, error) {
	var ok bool
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		a, err := store.PortalAccountByAddress(ctx, tx, orgID, addressIndex)
		if err != nil {
			return err
		}
		step, match, err := s.checkTOTP(ctx, tx, a, code)
		if err != nil || !match || step <= a.TOTPLastStep {
			return err
		}
		ok = true
		a.TOTPLastStep, a.FailedAttempts, a.LockedUntil, a.UpdatedAt = step, 0, time.Time{}, s.now()
		return store.UpdatePortalAccount(ctx, tx, a)
	})
	return ok, err
}

func (s *Service) accountFailed(ctx context.Context, a store.PortalAccountRow) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, err := store.PortalAccountByAddress(ctx, tx, a.OrgID, a.AddressIndex)
		if err != nil {
			return err
		}
		cur.FailedAttempts++
		if cur.FailedAttempts >= s.opts.MaxFailures {
			cur.FailedAttempts, cur.LockedUntil = 0, s.now().Add(s.opts.Lockout)
		}
		cur.UpdatedAt = s.now()
		return store.UpdatePortalAccount(ctx, tx, cur)
	})
}

// checkTOTP returns the step within one of now whose code is code.
func (s *Service) checkTOTP(ctx context.Context, q store.Querier, a store.PortalAccountRow, code string) (int64, bool, error) {
	secret, err := s.deps.Keys.Open(ctx, q, totpAAD(a.OrgID, a.ID), a.TOTPSecret)
	if err != nil {
		return 0, false, fmt.Errorf("open totp secret: %w", err)
	}
	code = normalizeCode(code)
	if len(code) != totpOpts.Digits.Length() {
		return 0, false, nil
	}
	cur := s.now().Unix() / 30
	found := int64(-1)
	for st := cur - 1; st <= cur+1; st++ {
		want, err := hotp.GenerateCodeCustom(string(secret), uint64(st), totpOpts)
		if err != nil {
			return 0, false, fmt.Errorf("totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = st
		}
	}
	return found, found >= 0, nil
}
