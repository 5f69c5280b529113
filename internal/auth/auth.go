package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
)

// Options configures a Service. Keys and Audit are required; every other
// field has the default its comment states.
type Options struct {
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// Hasher hashes and verifies passwords. Default
	// password.NewHasher(password.DefaultParams).
	Hasher *password.Hasher
	// Keys seals TOTP secrets and break-glass reasons.
	Keys *keyring.Keyring
	// Audit records every authentication event in the transaction of the
	// change it describes.
	Audit *audit.Log
	// Log receives problems that do not fail the request (a session touch
	// that could not be written). Default: discarded.
	Log *slog.Logger
	// TOTPIssuer names the service in authenticator apps. Default "carepost".
	TOTPIssuer string
	// SessionLifetime is the absolute ceiling of a session. Default 12h. An
	// organization may set a shorter lifetime, never a longer one.
	SessionLifetime time.Duration
	// LoginFlowTTL is how long a sign-in may sit between its steps.
	// Default 10m.
	LoginFlowTTL time.Duration
	// ReauthWindow is how long a re-entry of password and second factor
	// counts as fresh for sensitive changes. Default 5m.
	ReauthWindow time.Duration
	// Throttle sets the growing delays after failed attempts.
	Throttle ThrottleOptions
	// WebAuthn configures passkeys (webauthn.go). Default: none, and
	// passkeys are unavailable.
	WebAuthn WebAuthnOptions
	// OIDC configures sign-in with OpenID Connect (oidc.go). Default: none,
	// and SSO is unavailable.
	OIDC OIDCOptions
}

// ThrottleOptions set the sign-in throttle (see the package documentation
// for the arithmetic).
type ThrottleOptions struct {
	// Free is the number of failures after which delays start: the Free-th
	// failure blocks for BaseDelay. Default 5.
	Free int
	// BaseDelay is the first delay; each further failure doubles it.
	// Default 1s.
	BaseDelay time.Duration
	// MaxDelay caps every delay, so nobody can be blocked for longer by
	// failing on their behalf. Default 15m.
	MaxDelay time.Duration
	// AlertAfter failures of one account or one client address within
	// AlertWindow record an "auth.failures" alert. Default 10.
	AlertAfter int
	// AlertWindow is the window AlertAfter counts in. Default 15m.
	AlertWindow time.Duration
	// ForgetAfter is the quiet time after which an account's or address's
	// failures are forgotten. Default 24h.
	ForgetAfter time.Duration
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Hasher == nil {
		o.Hasher = password.NewHasher(password.DefaultParams)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.TOTPIssuer == "" {
		o.TOTPIssuer = "carepost"
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = MaxSessionLifetime
	}
	if o.LoginFlowTTL <= 0 {
		o.LoginFlowTTL = 10 * time.Minute
	}
	if o.ReauthWindow <= 0 {
		o.ReauthWindow = 5 * time.Minute
	}
	t := &o.Throttle
	if t.Free <= 0 {
		t.Free = 5
	}
	if t.BaseDelay <= 0 {
		t.BaseDelay = time.Second
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = 15 * time.Minute
	}
	if t.AlertAfter <= 0 {
		t.AlertAfter = 10
	}
	if t.AlertWindow <= 0 {
		t.AlertWindow = 15 * time.Minute
	}
	if t.ForgetAfter <= 0 {
		t.ForgetAfter = 24 * time.Hour
	}
	return o
}

// Service is carepost's authentication and access control. It is safe for
// concurrent use; several nodes may run one each over a shared database.
type Service struct {
	db   *store.DB
	opts Options
	// providers caches OpenID Connect discovery per issuer (oidc.go).
	providers providerCache
}

// New returns the service over db. It registers the sealed columns it owns
// (users.totp_secret, users.totp_pending, break_glass.reason,
// oidc_providers.client_secret) with the
// keyring, so rotation re-encrypts them. It panics without Keys or Audit: a
// wiring mistake, found at start-up.
func New(db *store.DB, opts Options) *Service {
	if opts.Keys == nil || opts.Audit == nil {
		panic("auth: New needs Options.Keys and Options.Audit")
	}
	opts = opts.withDefaults()
	opts.Keys.Register(store.UsersTable())
	opts.Keys.Register(store.BreakGlassTable())
	opts.Keys.Register(store.OIDCProvidersTable())
	return &Service{db: db, opts: opts}
}

// ReauthWindow is how long a re-authentication counts as fresh.
func (s *Service) ReauthWindow() time.Duration { return s.opts.ReauthWindow }

// now is the current time at the stored precision (microseconds, UTC).
func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// record appends an audit entry in tx; its failure fails the action
// (HIPAA 164.312(b)).
func (s *Service) record(ctx context.Context, tx *store.Tx, e audit.Entry) error {
	if err := s.opts.Audit.Append(ctx, tx, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// tx runs fn in one write transaction.
func (s *Service) tx(ctx context.Context, fn func(tx *store.Tx) error) error { return s.db.Tx(ctx, fn) }

// reader runs queries outside a transaction.
func (s *Service) reader() store.Querier { return s.db.Reader() }

// ip returns the client address in canonical form, or "" when it is not an
// address: client input must never make an action unauditable.
func (c Client) ip() string {
	raw := strings.TrimSpace(c.IP)
	if ap, err := netip.ParseAddrPort(raw); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(raw, "["), "]"))
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

// clientFrom is the client the HTTP edge put in ctx, for calls that take
// no Client.
func clientFrom(ctx context.Context) Client {
	if r, ok := audit.RequestFrom(ctx); ok {
		return Client{IP: r.ClientIP, UserAgent: r.UserAgent}
	}
	return Client{}
}

// newToken returns a random token of 32 bytes (256 bits), base64url, and
// the SHA-256 that is stored in its place. A token this long needs no salt
// or slow hash: it cannot be guessed, so the hash only keeps a copy of the
// database from being usable as credentials.
func newToken() (string, []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // the kernel's CSPRNG does not fail
	}
	t := base64.RawURLEncoding.EncodeToString(b[:])
	return t, hashToken(t)
}

// hashToken is the stored form of a session, flow or API-key secret.
func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// randomString returns n characters drawn uniformly from alphabet, whose
// length must divide 256.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// maxUserAgentLen matches the audit log's limit.
const maxUserAgentLen = audit.MaxUserAgentLen

// cleanUserAgent keeps a client's user agent printable and short before it
// is stored with a session. It is client input: cleaned, never refused.
func cleanUserAgent(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxUserAgentLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
