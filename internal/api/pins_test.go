package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// pinFixture makes a transport pin in tn for the matrix (the pin's id is
// its domain).
func pinFixture(body any) apitest.Fixture {
	return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		t.Helper()
		// The id's last characters are its random ones (the first ten are
		// the millisecond, shared by fixtures made in the same one).
		s := randomSuffix(t)
		domain := "p" + strings.ToLower(s[len(s)-12:]) + ".partner.example"
		if r := e.Do(t, tn.Key, "POST", v1+"/policy/pins", map[string]any{"domain": domain}); r.Status != http.StatusCreated {
			t.Fatalf("create pin: %d %s", r.Status, r.Body)
		}
		return domain, body
	}
}

func TestTransportPinsCRUD(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	fp := strings.Repeat("AB", 32)
	r := e.Do(t, e.A.Key, "POST", v1+"/policy/pins", map[string]any{"domain": "Partner.Example", "mx_pattern": "*.partner.example", "cert_sha256": fp})
	var pin struct {
		Domain     string
		MXPattern  string `json:"mx_pattern"`
		CertSHA256 string `json:"cert_sha256"`
	}
	r.JSON(t, &pin)
	if r.Status != http.StatusCreated || pin.Domain != "partner.example" || pin.CertSHA256 != strings.ToLower(fp) {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.A.Key, "POST", v1+"/policy/pins", map[string]any{"domain": "partner.example"}); r.Status != http.StatusConflict {
		t.Fatalf("create twice: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, e.A.Key, "POST", v1+"/policy/pins", map[string]any{"domain": "bad", "mx_pattern": "*.", "cert_sha256": "xyz"})
	for _, f := range []string{`"field":"domain"`, `"field":"mx_pattern"`, `"field":"cert_sha256"`} {
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), f) {
			t.Errorf("invalid pin: %d %s, want %s", r.Status, r.Body, f)
		}
	}
	r = e.Do(t, e.A.Key, "PUT", v1+"/policy/pins/partner.example", map[string]any{"mx_pattern": "mx1.partner.example"})
	r.JSON(t, &pin)
	if r.Status != http.StatusOK || pin.MXPattern != "mx1.partner.example" || pin.CertSHA256 != "" {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	var list struct{ Pins []struct{ Domain string } }
	e.Do(t, e.A.Key, "GET", v1+"/policy/pins", nil).JSON(t, &list)
	if len(list.Pins) != 1 || list.Pins[0].Domain != "partner.example" {
		t.Fatalf("list: %+v", list)
	}
	if r := e.Do(t, e.A.Key, "DELETE", v1+"/policy/pins/partner.example", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.A.Key, "GET", v1+"/policy/pins/partner.example", nil); r.Status != http.StatusNotFound {
		t.Fatalf("get after delete: %d", r.Status)
	}
	var n int
	if err := store.Scan(e.App.DB.Reader().QueryRow(t.Context(), `SELECT count(*) FROM audit_entries WHERE chain = ? AND action LIKE 'policy.pin.%'`, e.A.Org.ID), &n); err != nil || n != 3 {
		t.Fatalf("pin audit entries: %d %v", n, err)
	}
}
