package api_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// connectorFixture makes a gateway connector in the tenant for the
// two-organization matrix; body is what the route takes.
func connectorFixture(body any) apitest.Fixture {
	return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		t.Helper()
		r := e.Do(t, tn.Key, "POST", v1+"/gateway/connectors", map[string]any{"name": "relay " + randomSuffix(t), "ip_ranges": []string{"192.0.2.0/24"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create connector: %d %s", r.Status, r.Body)
		}
		var out struct{ ID string }
		r.JSON(t, &out)
		return out.ID, body
	}
}

func caPEM(t *testing.T) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testpki.NewCA(t, "Partner CA").Cert.Raw}))
}

func TestGatewayConnectorsAPI(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	ctx := context.Background()

	// Bad input names the field and stores nothing.
	for field, body := range map[string]map[string]any{
		"ip_ranges":    {"name": "open relay"},
		"ip_ranges[0]": {"name": "everyone", "ip_ranges": []string{"0.0.0.0/0"}},
		"cert_names":   {"name": "any customer of a CA", "client_ca": caPEM(t)},
		"tenant_id":    {"name": "m365", "ip_ranges": []string{"40.92.0.0/15"}, "tenant_id": "contoso"},
		"require_tls":  {"name": "pinned", "cert_sha256": []string{"00000000000000000000000000000000000000000000000000000000000000aa"}, "require_tls": false},
	} {
		r := e.Do(t, e.A.Key, "POST", v1+"/gateway/connectors", body)
		var b struct {
			Error struct{ Field string } `json:"error"`
		}
		r.JSON(t, &b)
		if r.Status != http.StatusBadRequest || b.Error.Field != field {
			t.Errorf("%v: %d %s; want 400 on %s", body, r.Status, r.Body, field)
		}
	}

	r := e.Do(t, e.A.Key, "POST", v1+"/gateway/connectors", map[string]any{"name": "Microsoft 365",
		"ip_ranges": []string{"40.92.0.0/15", "2a01:111:f400::/48"}, "tenant_id": "72F988BF-86F1-41AF-91AB-2D7CD011DB47"})
	var c struct {
		ID         string   `json:"id"`
		IPRanges   []string `json:"ip_ranges"`
		CertSHA256 []string `json:"cert_sha256"`
		TenantID   string   `json:"tenant_id"`
		RequireTLS bool     `json:"require_tls"`
		Enabled    bool     `json:"enabled"`
	}
	r.JSON(t, &c)
	if r.Status != http.StatusCreated || len(c.IPRanges) != 2 || c.CertSHA256 == nil || c.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || !c.RequireTLS || !c.Enabled {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.A.Key, "POST", v1+"/gateway/connectors", map[string]any{"name": "Microsoft 365", "ip_ranges": []string{"192.0.2.0/24"}}); r.Status != http.StatusBadRequest {
		t.Errorf("duplicate name: %d %s", r.Status, r.Body)
	}
	var list struct{ Connectors []struct{ ID string } }
	e.Do(t, e.A.Key, "GET", v1+"/gateway/connectors", nil).JSON(t, &list)
	if len(list.Connectors) != 1 || list.Connectors[0].ID != c.ID {
		t.Fatalf("list: %+v", list)
	}
	e.Do(t, e.B.Key, "GET", v1+"/gateway/connectors", nil).JSON(t, &list)
	if len(list.Connectors) != 0 {
		t.Fatalf("organization B lists A's connectors: %+v", list)
	}

	// settings:write is required, for reading too: connectors say which
	// servers may send as the organization.
	sender := e.KeyWith(t, e.A, "messages:send")
	if r := e.Do(t, sender, "GET", v1+"/gateway/connectors", nil); r.Status != http.StatusForbidden {
		t.Errorf("list without settings:write: %d", r.Status)
	}

	r = e.Do(t, e.A.Key, "PUT", v1+"/gateway/connectors/"+c.ID, map[string]any{"name": "Microsoft 365", "ip_ranges": []string{"40.92.0.0/15"}, "enabled": false})
	r.JSON(t, &c)
	if r.Status != http.StatusOK || c.Enabled || len(c.IPRanges) != 1 || c.TenantID != "" {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.A.Key, "DELETE", v1+"/gateway/connectors/"+c.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.A.Key, "GET", v1+"/gateway/connectors/"+c.ID, nil); r.Status != http.StatusNotFound {
		t.Fatalf("after delete: %d %s", r.Status, r.Body)
	}
	var actions []string
	rows, err := e.App.DB.Reader().Query(ctx, `SELECT action FROM audit_entries WHERE chain = ? AND target_id = ? ORDER BY seq`, e.A.Org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	if want := []string{"gateway.connector.create", "gateway.connector.update", "gateway.connector.delete"}; len(actions) != 3 || actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
}
