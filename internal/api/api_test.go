package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api"
	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const v1 = api.Prefix

// fixtures make, in a tenant, the resource each tenant route acts on.
func fixtures() map[string]apitest.Fixture {
	user := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
		t.Helper()
		var out struct {
			User struct{ ID string } `json:"user"`
		}
		r := e.Do(t, tn.Key, "POST", v1+"/users", map[string]any{"email": "u-" + randomSuffix(t) + "@" + strings.Split(tn.Owner.Email, "@")[1], "name": "Staff Member", "roles": []string{"sender"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create user: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out.User.ID
	}
	role := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
		t.Helper()
		var out struct{ ID string }
		r := e.Do(t, tn.Key, "POST", v1+"/roles", map[string]any{"name": "Front desk " + randomSuffix(t), "permissions": []string{"messages:send"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create role: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out.ID
	}
	key := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
		t.Helper()
		var out struct {
			APIKey struct{ ID string } `json:"api_key"`
		}
		// Keys are made by people (a session), not by other keys.
		r := e.DoSession(t, tn.Session, tn.CSRF, "POST", v1+"/api-keys", map[string]any{"name": "integration", "scopes": []string{"messages:send"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out.APIKey.ID
	}
	session := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
		t.Helper()
		_, s, err := e.App.Auth.Authenticate(context.Background(), tn.Session)
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	domain := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
		t.Helper()
		var out struct {
			Domain struct{ ID string } `json:"domain"`
		}
		r := e.Do(t, tn.Key, "POST", v1+"/domains", map[string]any{"domain": "m" + randomSuffix(t) + ".example.org"})
		if r.Status != http.StatusCreated {
			t.Fatalf("add domain: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out.Domain.ID
	}
	// A passkey is made in the store: the ceremony needs an authenticator
	// and a domain RP ID (package auth's tests run it end to end); the
	// matrix checks who may reach the row.
	passkey := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
		t.Helper()
		pk := id.New("pky")
		err := e.App.DB.Tx(context.Background(), func(tx *store.Tx) error {
			return store.InsertWebAuthnCredential(context.Background(), tx, store.WebAuthnCredentialRow{ID: pk, OrgID: tn.Org.ID,
				UserID: tn.Owner.ID, CredentialID: []byte(pk), Credential: "{}", Name: "Matrix key", CreatedAt: time.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
		return pk
	}
	noBody := func(make func(*testing.T, *apitest.Env, *apitest.Tenant) string) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) { return make(t, e, tn), nil }
	}
	return map[string]apitest.Fixture{
		"GET /users/{id}": noBody(user),
		"PUT /users/{id}/roles": func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			return user(t, e, tn), map[string]any{"roles": []string{"analyst"}}
		},
		"POST /users/{id}/disable":   noBody(user),
		"POST /users/{id}/enable":    noBody(user),
		"POST /users/{id}/mfa/reset": noBody(user),
		"GET /roles/{id}":            noBody(role),
		"PUT /roles/{id}": func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			return role(t, e, tn), map[string]any{"name": "Renamed " + randomSuffix(t), "permissions": []string{"reports:read"}}
		},
		"DELETE /roles/{id}":              noBody(role),
		"GET /api-keys/{id}":              noBody(key),
		"DELETE /api-keys/{id}":           noBody(key),
		"GET /messages/{id}":              noBody(func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string { return send(t, e, tn) }),
		"GET /messages/{id}/content":      noBody(func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string { return send(t, e, tn) }),
		"GET /domains/{id}":               noBody(domain),
		"POST /domains/{id}/verify":       noBody(domain),
		"DELETE /domains/{id}":            noBody(domain),
		"GET /gateway/connectors/{id}":    connectorFixture(nil),
		"PUT /gateway/connectors/{id}":    connectorFixture(map[string]any{"name": "Renamed relay", "ip_ranges": []string{"198.51.100.0/24"}}),
		"DELETE /gateway/connectors/{id}": connectorFixture(nil),
		"GET /policy/pins/{id}":           pinFixture(nil),
		"PUT /policy/pins/{id}":           pinFixture(map[string]any{"mx_pattern": "*.partner.example"}),
		"DELETE /policy/pins/{id}":        pinFixture(nil),
		"GET /keys/{id}":                  noBody(recipientKey),
		"DELETE /keys/{id}":               noBody(recipientKey),
		"DELETE /passkeys/{id}":           noBody(passkey),
		// The secure portal (portal_test.go).
		"GET /portal/deliveries/{id}":         portalFixture(nil),
		"POST /portal/deliveries/{id}/revoke": portalFixture(nil),
		"PUT /portal/deliveries/{id}/proof":   portalFixture(map[string]any{"passphrase": "correct horse battery staple"}),
		"POST /messages/{id}/revoke":          portalMessage,
		// Runs last in the table: it ends organization A's owner session.
		"DELETE /sessions/{id}": noBody(session),
	}
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(id.New("x"), "x_")
}

func TestTwoOrganizationMatrix(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		srv := api.New(api.Deps{})
		apitest.Matrix(t, e, srv.Routes(), withCampaignFixtures(withWorkflowFixtures(withMarketingFixtures(withContactFixtures(fixtures())))))
	})
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	r := e.Do(t, "", "GET", v1+"/openapi.json", nil)
	if r.Status != 200 {
		t.Fatalf("openapi.json: %d", r.Status)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	r.JSON(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	for _, rt := range api.New(api.Deps{}).Routes() {
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is served but not documented", rt.Method, rt.Path)
			continue
		}
		if op["summary"] == "" {
			t.Errorf("%s %s has no summary", rt.Method, rt.Path)
		}
	}
	// Every reference resolves.
	refs := strings.Split(string(r.Body), `"$ref":"#/components/schemas/`)
	for _, part := range refs[1:] {
		name := part[:strings.IndexByte(part, '"')]
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("reference to undefined schema %s", name)
		}
	}
}

func TestAuthenticationScopesAndCSRF(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	if r := e.Do(t, "", "GET", v1+"/users", nil); r.Status != 401 || r.ErrorCode() != "unauthenticated" {
		t.Fatalf("no credential: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "cpk_nope_nope", "GET", v1+"/users", nil); r.Status != 401 {
		t.Fatalf("bad key: %d %s", r.Status, r.Body)
	}
	// A key scoped to users:read can list but not create.
	var created struct{ Token string }
	r := e.DoSession(t, e.A.Session, e.A.CSRF, "POST", v1+"/api-keys", map[string]any{"name": "reader", "scopes": []string{"users:read"}})
	r.JSON(t, &created)
	if r := e.Do(t, e.A.Key, "POST", v1+"/api-keys", map[string]any{"name": "minted", "scopes": []string{"users:read"}}); r.Status != 403 {
		t.Fatalf("a key minted a key: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, created.Token, "GET", v1+"/users", nil); r.Status != 200 {
		t.Fatalf("scoped key list: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, created.Token, "POST", v1+"/users", map[string]any{"email": "x@a.example", "name": "X", "roles": []string{"sender"}}); r.Status != 403 || r.ErrorCode() != "forbidden" {
		t.Fatalf("scoped key create: %d %s", r.Status, r.Body)
	}

	// Session: the CSRF token comes from GET /session; a change without it,
	// or from another origin, is refused.
	cur := struct{ CSRF string }{e.A.CSRF}
	body := map[string]any{"name": "Billing", "permissions": []string{"reports:read"}}
	if r := e.DoSession(t, e.A.Session, "", "POST", v1+"/roles", body); r.Status != 403 || r.ErrorCode() != "csrf" {
		t.Fatalf("no CSRF token: %d %s", r.Status, r.Body)
	}
	if r := e.DoSession(t, e.A.Session, "forged", "POST", v1+"/roles", body); r.Status != 403 || r.ErrorCode() != "csrf" {
		t.Fatalf("wrong CSRF token: %d %s", r.Status, r.Body)
	}
	cross := e.DoWith(t, "POST", v1+"/roles", body, func(req *http.Request) {
		req.AddCookie(&http.Cookie{Name: "__Host-carepost-session", Value: e.A.Session})
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("X-CSRF-Token", cur.CSRF)
	})
	if cross.Status != 403 {
		t.Fatalf("cross-site request with a valid token: %d %s", cross.Status, cross.Body)
	}
	if r := e.DoSession(t, e.A.Session, cur.CSRF, "POST", v1+"/roles", body); r.Status != 201 {
		t.Fatalf("with CSRF token: %d %s", r.Status, r.Body)
	}
	// An API key cannot act as a browser session.
	if r := e.Do(t, e.A.Key, "GET", v1+"/session", nil); r.Status != 403 || r.ErrorCode() != "session_required" {
		t.Fatalf("key on session endpoint: %d %s", r.Status, r.Body)
	}
}

func TestBadInputNamesTheFieldAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	cases := []struct {
		name, body, field string
	}{
		{"unknown field", `{"email":"a@a.example","name":"A","roles":["sender"],"admin":true}`, "admin"},
		{"wrong type", `{"email":"a@a.example","name":"A","roles":"sender"}`, "roles"},
		{"not JSON", `{"email":`, ""},
	}
	for _, c := range cases {
		r := e.DoWith(t, "POST", v1+"/users", []byte(c.body), func(req *http.Request) {
			req.Header.Set("Authorization", "Bearer "+e.A.Key)
		})
		if r.Status != 400 || r.ErrorCode() != "invalid_request" {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		var b struct {
			Error struct{ Field string } `json:"error"`
		}
		r.JSON(t, &b)
		if b.Error.Field != c.field {
			t.Errorf("%s: field %q, want %q", c.name, b.Error.Field, c.field)
		}
	}
	var list struct{ Users []struct{ Email string } }
	e.Do(t, e.A.Key, "GET", v1+"/users", nil).JSON(t, &list)
	if len(list.Users) != 1 {
		t.Fatalf("bad requests created users: %+v", list.Users)
	}
	if r := e.Do(t, e.A.Key, "GET", v1+"/nope", nil); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Fatalf("unknown endpoint: %d %s", r.Status, r.Body)
	}
}
