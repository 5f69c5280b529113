package auth

// Single sign-on with OpenID Connect (OpenID Connect Core 1.0), per
// organization, with coreos/go-oidc verifying ID tokens and x/oauth2
// speaking the authorization code grant (RFC 6749 section 4.1).
//
// # The sign-in
//
//	BeginSSO(org)        state, nonce (256 bits each) and a PKCE verifier
//	   │                 (RFC 7636, S256 always) are stored in oidc_states
//	   │                 (state hashed, 10 minute TTL); the browser is sent to
//	   ▼                 the provider's authorization endpoint (Core 3.1.2.1)
//	provider authenticates the person, redirects back with code and state
//	   ▼
//	FinishSSO(state, code)
//	   1. take the state: it exists, is unexpired and is deleted in the same
//	      step, so it works once (RFC 6749 section 10.12); its row names the
//	      organization, so only that organization's provider can finish it
//	   2. exchange the code with the verifier (RFC 7636 section 4.5)
//	   3. verify the ID token (Core 3.1.3.7): signature by the provider's
//	      published keys, iss, aud contains our client_id (and azp when
//	      several audiences), exp; then nonce (Core 3.1.2.1, 15.5.2)
//	   4. find the user by (issuer, sub) or provision them just in time from
//	      the verified e-mail address (no password), in that organization only
//	   5. set their roles from the provider's groups claim and the
//	      organization's group → role map, on every sign-in
//	   6. second factor: if the organization trusts the provider's amr claim
//	      (RFC 8176) and it names a second factor (mfa, otp, hwk, swk, pop),
//	      a session; otherwise a login flow at carepost's enroll_mfa or mfa
//	      stage, so MFA is enforced either way and a password is never asked.
//
// The browser half of RFC 6749 section 10.12 — binding the state to the
// user agent so nobody can hand a victim a callback URL of their own
// sign-in — is the web layer's: it keeps the state in a cookie and compares.
//
// Tokens (the code, access and ID tokens) are never stored or logged; the
// client secret is sealed by the keyring and never returned by the API.
// After sign-in the person goes to a fixed page, never to a URL given in
// the request, so there is no open redirect.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCOptions configure SSO.
type OIDCOptions struct {
	// RedirectURL is the callback every provider is configured with:
	// <http.public_url>/login/sso/callback. Empty means SSO is unavailable.
	RedirectURL string
	// HTTPClient talks to providers (discovery, keys, token endpoint).
	// Default: a client with a 10-second timeout and the system's roots.
	HTTPClient *http.Client
}

// Sign-in methods and references for SSO.
const (
	// MethodSSO names an SSO sign-in in the audit log.
	MethodSSO = "sso"
	// AMRSSO is recorded on flows and sessions that began at a provider.
	//
	// QUIRK: RFC 8176 has no value for "authenticated by a federated
	// identity provider"; the provider's own values are recorded after it,
	// prefixed "idp:", so they are not mistaken for carepost's checks.
	AMRSSO = "sso"
)

// stateTTL is how long a person may take at the provider.
const stateTTL = 10 * time.Minute

// mfaAMR are the RFC 8176 values that, from a trusted provider, count as a
// second factor.
var mfaAMR = map[string]bool{"mfa": true, "otp": true, "hwk": true, "swk": true, "pop": true}

// Errors of SSO.
var (
	// ErrSSOUnavailable: the organization has no enabled provider (or the
	// server no redirect URL), or the provider cannot be reached.
	ErrSSOUnavailable = errors.New("single sign-on is not available for this organization")
	// ErrSSORefused: the provider's answer was not accepted (refused at the
	// provider, bad token, unknown or other organization's account, no
	// role). The audit log says which.
	ErrSSORefused = errors.New("the sign-in with your identity provider was not accepted")
)

// SSOStart is where to send the browser, and the state it must bring back.
type SSOStart struct {
	URL, State string
	ExpiresAt  time.Time
}

// SSOResult is a finished provider sign-in: a Session when it is complete,
// or a Flow when carepost's second factor is still needed.
type SSOResult struct {
	Session *Session
	Flow    *Flow
}

// SSOAvailable reports whether the server can offer SSO at all.
func (s *Service) SSOAvailable() bool { return s.opts.OIDC.RedirectURL != "" }

func (s *Service) httpClient() *http.Client {
	if c := s.opts.OIDC.HTTPClient; c != nil {
		return c
	}
	return defaultHTTPClient
}

var defaultHTTPClient = &http.Client{Timeout: 10 * time.Second}

// providerTTL is how long discovery (OpenID Connect Discovery 1.0) is
// trusted before it is fetched again. Keys are refreshed by go-oidc when a
// token names one it has not seen.
const providerTTL = time.Hour

// providerCache holds discovered providers by issuer. The zero value is
// ready to use.
type providerCache struct {
	mu sync.Mutex
	m  map[string]cachedProvider
}

type cachedProvider struct {
	p  *oidc.Provider
	at time.Time
}

// discover returns the provider at issuer, from the cache when fresh.
// Discovery checks that the document names the same issuer (Discovery
// section 4.3).
func (s *Service) discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	now := time.Now()
	c := &s.providers
	c.mu.Lock()
	hit, ok := c.m[issuer]
	c.mu.Unlock()
	if ok && now.Sub(hit.at) < providerTTL {
		return hit.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.httpClient()), issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OpenID provider: %w", err)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedProvider{}
	}
	c.m[issuer] = cachedProvider{p: p, at: now}
	c.mu.Unlock()
	return p, nil
}
