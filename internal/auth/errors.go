package auth

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers branch on. None of them, and no error this package
// returns, carries a password, code, token, or the address of an unknown
// account.
var (
	// ErrInvalidCredentials: the password, code or key is wrong, the account
	// is unknown or disabled. The cases are indistinguishable by design.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrForbidden: the principal lacks a permission the action needs.
	ErrForbidden = errors.New("forbidden")
	// ErrSessionExpired: the session ended, timed out, or never existed.
	ErrSessionExpired = errors.New("session expired")
	// ErrReauthRequired: the action needs a fresh entry of password and
	// second factor (Reauthenticate) within the re-authentication window.
	ErrReauthRequired = errors.New("re-authentication required")
	// ErrMFARequired: the action needs a second factor the account does not
	// have yet, or one was not given.
	ErrMFARequired = errors.New("a second factor is required")
	// ErrFlowExpired: the sign-in in progress expired, was finished or
	// never existed; sign in again.
	ErrFlowExpired = errors.New("sign-in expired")
	// ErrWrongStage: the sign-in is at another step than the one asked for.
	ErrWrongStage = errors.New("this sign-in step is not expected now")
	// ErrInvalidCode: a TOTP or recovery code is wrong or already used.
	ErrInvalidCode = errors.New("invalid code")
	// ErrDisabled: the organization or user acted on is disabled.
	ErrDisabled = errors.New("disabled")
)

// ThrottledError refuses an attempt made while its account or client address
// is blocked after failures. The credential was not checked.
type ThrottledError struct {
	// RetryAfter is how long until the block ends.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// InputError is a validation failure that names the field. Msg is written
// for a person and never echoes the value.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

func inputErr(field, msg string) error { return &InputError{Field: field, Msg: msg} }
