// Package oidctest runs an OpenID provider on loopback for tests: an HTTPS
// server with a certificate from a test CA, serving discovery (OpenID
// Connect Discovery 1.0 section 4), its keys (a JWK set with one RSA key),
// an authorization endpoint that approves at once and redirects back with a
// code (Core 3.1.2.5), and a token endpoint that checks the client, the
// redirect URI and the PKCE verifier (RFC 7636 section 4.6) and returns an
// ID token signed RS256 (Core 3.1.3.3). What the next ID token says is set
// with Next, whose tweak bends the claims for the tests of refusals. It is
// imported only by tests (package auth's and package web's).
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/carepost/carepost/internal/testpki"
)

// Provider is a running test OpenID provider.
type Provider struct {
	// Issuer is the provider's issuer URL (https://127.0.0.1:port).
	Issuer string
	// Client trusts the provider's test CA and does not follow redirects.
	Client *http.Client

	t       testing.TB
	srv     *httptest.Server
	now     func() time.Time
	signer  jose.Signer
	keySet  jose.JSONWebKeySet
	clients map[string]string // client_id → secret

	mu    sync.Mutex
	user  User
	tweak func(claims map[string]any)
	codes map[string]issuedCode
}

// User is who the provider says signed in. Unverified sends
// email_verified false.
type User struct {
	Sub, Email, Name string
	Unverified       bool
	Groups, AMR      []string
}

type issuedCode struct {
	clientID, redirectURI, challenge, nonce string
	user                                    User
	tweak                                   func(map[string]any)
}

// New starts a provider for clients (client_id → secret) whose ID tokens
// are issued at now(); it stops when the test ends.
func New(t testing.TB, now func() time.Time, clients map[string]string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{t: t, now: now, signer: signer, clients: clients, codes: map[string]issuedCode{},
		keySet: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, p.keySet) })
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	ca := testpki.NewCA(t, "test IdP CA")
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Leaf(t, []string{"127.0.0.1"}, testpki.Options{})}}
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	p.Issuer = p.srv.URL
	p.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return p
}

// Next sets who the next authorization signs in, and how its ID token's
// claims are bent (nil for not at all).
func (p *Provider) Next(u User, tweak func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user, p.tweak = u, tweak
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"issuer": p.Issuer, "authorization_endpoint": p.Issuer + "/authorize",
		"token_endpoint": p.Issuer + "/token", "jwks_uri": p.Issuer + "/jwks", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported": []string{"S256"}})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, ok := p.clients[q.Get("client_id")]; !ok || q.Get("response_type") != "code" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid ") || q.Get("nonce") == "" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "invalid authorization request", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.codes[code] = issuedCode{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), user: p.user, tweak: p.tweak}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	want, known := p.clients[id]
	p.mu.Lock()
	c, issued := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code")) // codes are single use (RFC 6749 section 4.1.2)
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case !known || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1:
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	case !issued || c.clientID != id || c.redirectURI != r.PostFormValue("redirect_uri") ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge || r.PostFormValue("grant_type") != "authorization_code":
		writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	now := p.now()
	claims := map[string]any{"iss": p.Issuer, "sub": c.user.Sub, "aud": id, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": c.nonce, "email": c.user.Email,
		"email_verified": !c.user.Unverified, "name": c.user.Name}
	if c.user.Groups != nil {
		claims["groups"] = c.user.Groups
	}
	if c.user.AMR != nil {
		claims["amr"] = c.user.AMR
	}
	if c.tweak != nil {
		c.tweak(claims)
	}
	payload, _ := json.Marshal(claims)
	jws, err := p.signer.Sign(payload)
	if err != nil {
		p.t.Error(err)
		return
	}
	idToken, _ := jws.CompactSerialize()
	writeJSON(w, 200, map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Secret is the secret of a client.
func (p *Provider) Secret(clientID string) string { return p.clients[clientID] }

// Approve follows an authorization URL to the provider, which approves at
// once, and returns the code and state it redirects back with.
func (p *Provider) Approve(authURL string) (code, state string) {
	p.t.Helper()
	resp, err := p.Client.Get(authURL)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		p.t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}
