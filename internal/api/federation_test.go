package api_test

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store/storetest"
)

// The HTTP side of passkeys and SSO settings. The ceremonies themselves
// (a software authenticator, a loopback OpenID provider) are tested in
// package auth; here: who may call what, and what never comes back.

func TestPasskeyEndpoints(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	var list struct {
		Passkeys  []map[string]any `json:"passkeys"`
		Available bool             `json:"available"`
	}
	r := e.DoSession(t, e.A.Session, e.A.CSRF, "GET", v1+"/passkeys", nil)
	r.JSON(t, &list)
	if r.Status != 200 || len(list.Passkeys) != 0 || list.Available {
		t.Fatalf("list: %d %s", r.Status, r.Body) // the test node's public URL is an IP address: no RP ID
	}
	if r := e.Do(t, e.A.Key, "POST", v1+"/passkeys/begin", nil); r.Status != 403 || r.ErrorCode() != "session_required" {
		t.Fatalf("begin with an API key: %d %s", r.Status, r.Body)
	}
	if r := e.DoSession(t, e.A.Session, "", "POST", v1+"/passkeys/begin", nil); r.Status != 403 || r.ErrorCode() != "csrf" {
		t.Fatalf("begin without CSRF: %d %s", r.Status, r.Body)
	}
	if r := e.DoSession(t, e.A.Session, e.A.CSRF, "POST", v1+"/passkeys/begin", nil); r.Status != 409 || r.ErrorCode() != "passkeys_unavailable" {
		t.Fatalf("begin without an RP ID: %d %s", r.Status, r.Body)
	}
	if r := e.DoSession(t, e.A.Session, e.A.CSRF, "POST", v1+"/session/reauth/passkey/begin", nil); r.Status != 409 {
		t.Fatalf("passkey re-authentication without an RP ID: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"name": "x", "credential": map[string]any{"id": "AAAA"}, "extra": 1}
	if r := e.DoSession(t, e.A.Session, e.A.CSRF, "POST", v1+"/passkeys/finish", body); r.Status != 400 || r.ErrorCode() != "invalid_request" {
		t.Fatalf("finish with an unknown field: %d %s", r.Status, r.Body)
	}
}

func TestSSOSettingsEndpoints(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	const secret = "distinctive-client-secret-91c2"
	if r := e.DoSession(t, e.A.Session, e.A.CSRF, "GET", v1+"/sso", nil); r.Status != 404 {
		t.Fatalf("no provider yet: %d %s", r.Status, r.Body)
	}
	in := map[string]any{"issuer": "https://idp.example", "client_id": "carepost", "client_secret": secret, "slug": "org-a",
		"role_map": map[string][]string{"clinicians": {"sender"}}, "trust_amr": true, "enabled": true}
	// API keys are never a fresh re-authentication: mapping groups to roles
	// is a person's decision.
	if r := e.Do(t, e.A.Key, "PUT", v1+"/sso", in); r.Status != 401 || r.ErrorCode() != "reauth_required" {
		t.Fatalf("put with an API key: %d %s", r.Status, r.Body)
	}
	r := e.DoSession(t, e.A.Session, e.A.CSRF, "PUT", v1+"/sso", in)
	if r.Status != 200 || strings.Contains(string(r.Body), secret) || !strings.Contains(string(r.Body), `"client_secret_set":true`) {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	var got struct {
		RedirectURI string   `json:"redirect_uri"`
		Scopes      []string `json:"scopes"`
	}
	r = e.Do(t, e.A.Key, "GET", v1+"/sso", nil)
	r.JSON(t, &got)
	if r.Status != 200 || strings.Contains(string(r.Body), secret) || !strings.HasSuffix(got.RedirectURI, "/login/sso/callback") ||
		strings.Join(got.Scopes, " ") != "openid email profile" {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	// Organization B sees only its own (none), and cannot take A's slug.
	if r := e.Do(t, e.B.Key, "GET", v1+"/sso", nil); r.Status != 404 {
		t.Fatalf("B reads SSO: %d %s", r.Status, r.Body)
	}
	if r := e.DoSession(t, e.B.Session, e.B.CSRF, "PUT", v1+"/sso", in); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"slug"`) {
		t.Fatalf("B takes A's slug: %d %s", r.Status, r.Body)
	}
	in["scopes"] = []string{"email"}
	if r := e.DoSession(t, e.A.Session, e.A.CSRF, "PUT", v1+"/sso", in); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"scopes"`) {
		t.Fatalf("scopes without openid: %d %s", r.Status, r.Body)
	}
	if r := e.DoSession(t, e.A.Session, e.A.CSRF, "DELETE", v1+"/sso", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.A.Key, "GET", v1+"/sso", nil); r.Status != 404 {
		t.Fatalf("after delete: %d %s", r.Status, r.Body)
	}
}
