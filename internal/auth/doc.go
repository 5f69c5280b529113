// Package auth is carepost's access control: organizations, users, sign-in
// with a second factor, sessions, API keys, roles, emergency access and the
// alerts they raise. It implements HIPAA 164.312(a)(1) (access control) with
// unique user identification, (a)(2)(i); an emergency access procedure,
// (a)(2)(ii); automatic logoff, (a)(2)(iii); and person or entity
// authentication, 164.312(d). Every change is one store transaction that
// includes its audit entry (164.312(b)): if the entry cannot be written the
// change does not happen.
//
// # Sign-in is a state machine, and a flow is not a session
//
//	BeginLogin(email, password)            BeginSSO, FinishSSO (oidc.go)
//	   │ password right (else ErrInvalidCredentials, same time and error for
//	   │ unknown, wrong and disabled accounts)    │ provider's amr trusted and
//	   ▼                                          │ names MFA: session; else ▼
//	change_password ──FlowChangePassword──┐   (one-time password from init/admin)
//	   │ (skipped unless required)        ▼
//	enroll_mfa ──FlowBeginTOTP, FlowConfirmTOTP | FlowBeginPasskey, FlowConfirmPasskey──► session + recovery codes
//	mfa ──FlowVerifyTOTP | FlowVerifyRecovery | FlowChallengePasskey, FlowVerifyPasskey──► session
//
// Passkeys (WebAuthn) are described in webauthn.go, SSO with OpenID Connect
// in oidc.go.
//
// BeginLogin returns a Flow: a random token naming a login_flows row that
// records the user, the stage and the methods used so far. A flow grants
// nothing but the next step of signing in. It expires after LoginFlowTTL
// (10 minutes) and after five wrong codes. Only FinishFlow creates a session,
// and it refuses unless a method besides the password was used, so a
// password alone never yields a session, whichever code path calls it.
// FinishFlow is exported for second factors implemented in other packages
// (WebAuthn, OIDC): they verify their factor inside a transaction, then call
// it in the same one.
//
// # Tokens
//
// Session and flow tokens are 32 random bytes (256 bits) in base64url; API
// key secrets 192 bits. The database stores only their SHA-256: tokens this
// long cannot be guessed, so a fast hash suffices, and a copy of the database
// holds no usable credential. Every sign-in creates a new session token
// (no fixation). Sessions live on the server: logout and expiry set ended_at,
// after which the token authenticates nothing.
//
// # Session timeouts
//
// Each session obeys its organization's current settings: an idle timeout
// (default 15 minutes, 1 to 30) and an absolute lifetime (default and
// maximum 12 hours, or less if Options.SessionLifetime says so), so an
// administrator's change takes effect on open sessions at once. Activity is
// written at most every 30 seconds. A session found expired is ended and
// audited ("auth.session.end", reason idle_timeout or expired).
//
// # Throttling, and why it cannot lock anyone out forever
//
// Failed credential checks count per account ("acct:" + lower-cased
// address, known or not) and per client address ("ip:" + address). From the
// Free-th consecutive failure (5) of a key, each failure blocks that key for
//
//	min(BaseDelay · 2^(n − Free), MaxDelay)      1s, 2s, 4s, … capped at 15m
//
// and an attempt during a block is refused with *ThrottledError without the
// credential being checked. The count is taken before the check (reserve)
// and given back on success, so a burst of parallel guesses meets the block
// after Free of them. Success resets the account's count; the address only
// gets its one attempt back, so an attacker's own working account cannot
// wipe the record of the address spraying others. Failures are forgotten
// after ForgetAfter (24 hours) of quiet. Because every delay is capped, an
// attacker failing on someone's behalf can never block them for longer than
// MaxDelay at a stretch, and keeping an account blocked costs one attempt
// per 15 minutes — exactly the pattern that raises the alert. When failures
// of one key reach AlertAfter (10) within AlertWindow (15 minutes) an
// "auth.failures" alert is recorded once for that window: in the account's
// organization when the account exists, else install-wide, never with the
// address typed for an unknown account. Every attempt is audited with client
// IP and user agent ("auth.login", outcome and a reason such as
// bad_password, unknown_account, throttled, bad_code).
//
// # TOTP
//
// RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps and one step of skew
// either way. Secrets are sealed by the keyring, bound to their row and
// column. A code is accepted only for a time step later than the last
// accepted one (users.totp_last_step, advanced with a conditional UPDATE),
// so each code works once even under concurrent requests. A new
// authenticator is staged in users.totp_pending and replaces the confirmed
// one only when a code from it is confirmed, so an abandoned replacement
// never leaves an account without its factor. Recovery codes (ten, single
// use) are stored hashed and bound to their user.
//
// # Re-authentication
//
// Changing roles, resetting another user's MFA, replacing one's own
// authenticator, regenerating recovery codes and activating emergency access
// need a fresh re-entry of password and second factor (Reauthenticate)
// within ReauthWindow (5 minutes); signing in counts. API keys are never
// fresh: these are decisions for a person.
//
// # Access
//
// Permissions are the union of a user's roles (package access), plus
// access.PermissionsBreakGlass while an emergency grant is active. An API
// key acts with its scopes intersected with its owner's current
// permissions. Nobody grants, through roles or keys, a permission they do not
// hold, nor acts on a user holding more than they do; emergency permissions
// are never grantable. Every query is scoped to the principal's
// organization, and an id from another organization is store.ErrNotFound.
// No error or log carries a password, code, token or the address of an
// unknown account.
package auth
