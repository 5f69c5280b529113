package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// withContactFixtures adds the contact endpoints' fixtures to the matrix.
func withContactFixtures(f map[string]apitest.Fixture) map[string]apitest.Fixture {
	c := func(body any) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			return newContact(t, e, tn), body
		}
	}
	field := func(body any) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			t.Helper()
			key := "f_" + strings.ToLower(randomSuffix(t))[:10]
			r := e.Do(t, tn.Key, "POST", v1+"/contact-fields", map[string]any{"key": key, "type": "text"})
			if r.Status != http.StatusCreated {
				t.Fatalf("create field: %d %s", r.Status, r.Body)
			}
			return key, body
		}
	}
	lst := func(body func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) any) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			t.Helper()
			var out struct{ ID string }
			r := e.Do(t, tn.Key, "POST", v1+"/lists", map[string]any{"name": "List " + randomSuffix(t)})
			if r.Status != http.StatusCreated {
				t.Fatalf("create list: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &out)
			var b any
			if body != nil {
				b = body(t, e, tn)
			}
			return out.ID, b
		}
	}
	imp := func(upload bool) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			id := newImport(t, e, tn)
			if upload {
				uploadPart(t, e, tn, id, []byte("email\nx-"+strings.ToLower(randomSuffix(t))+"@patients.test\n"))
			}
			return id, "email\n"
		}
	}
	consent := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		t.Helper()
		var out struct{ ID string }
		r := e.Do(t, tn.Key, "POST", v1+"/contacts/"+newContact(t, e, tn)+"/consents", authorization())
		if r.Status != http.StatusCreated {
			t.Fatalf("grant: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out.ID, map[string]any{"source": "letter"}
	}
	more := map[string]apitest.Fixture{
		"GET /contacts/{id}":           c(nil),
		"PATCH /contacts/{id}":         c(map[string]any{"last_name": "Doe"}),
		"DELETE /contacts/{id}":        c(nil),
		"POST /contacts/{id}/events":   c(map[string]any{"name": "portal_login"}),
		"GET /contacts/{id}/events":    c(nil),
		"POST /contacts/{id}/consents": c(authorization()),
		"GET /contacts/{id}/consents":  c(nil),
		"POST /consents/{id}/revoke":   consent,
		"PATCH /contact-fields/{id}":   field(map[string]any{"label": "Renamed"}),
		"DELETE /contact-fields/{id}":  field(nil),
		"GET /lists/{id}":              lst(nil),
		"PATCH /lists/{id}":            lst(func(t *testing.T, _ *apitest.Env, _ *apitest.Tenant) any { return map[string]any{"description": "x"} }),
		"DELETE /lists/{id}":           lst(nil),
		"GET /lists/{id}/members":      lst(nil),
		"GET /lists/{id}/export":       lst(nil),
		"POST /lists/{id}/members": lst(func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) any {
			return map[string]any{"contact_ids": []string{newContact(t, e, tn)}}
		}),
		"GET /imports/{id}":        imp(false),
		"POST /imports/{id}/parts": imp(false),
		"POST /imports/{id}/start": imp(true),
		"GET /imports/{id}/errors": imp(false),
		"DELETE /imports/{id}":     imp(false),
	}
	out := maps.Clone(f)
	maps.Copy(out, more)
	return out
}

func authorization() map[string]any {
	return map[string]any{"method": "electronic", "text_version": "mkt-2026", "source": "portal",
		"expires_at": time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}
}

func newContact(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
	t.Helper()
	var out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/contacts", map[string]any{"email": "p-" + strings.ToLower(randomSuffix(t)) + "@patients.test", "first_name": "Pat"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create contact: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return out.ID
}

func newImport(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
	t.Helper()
	var out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/imports", map[string]any{})
	if r.Status != http.StatusCreated {
		t.Fatalf("create import: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return out.ID
}

func uploadPart(t *testing.T, e *apitest.Env, tn *apitest.Tenant, id string, data []byte) {
	t.Helper()
	r := e.DoWith(t, "POST", v1+"/imports/"+id+"/parts", data, func(req *http.Request) {
		req.Header.Set("Authorization", "Bearer "+tn.Key)
		req.Header.Set("Content-Type", "text/csv")
	})
	if r.Status != http.StatusOK {
		t.Fatalf("upload part: %d %s", r.Status, r.Body)
	}
}

func TestContactsOverTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		for _, f := range []map[string]any{{"key": "condition", "type": "text"}, {"key": "birth_date", "type": "date"},
			{"key": "channel", "type": "text", "phi": false}} {
			if r := e.Do(t, e.A.Key, "POST", v1+"/contact-fields", f); r.Status != http.StatusCreated {
				t.Fatalf("field: %d %s", r.Status, r.Body)
			}
		}
		// A CSV import through the API, run by the node's job worker.
		var data bytes.Buffer
		data.WriteString("email,first_name,condition,birth_date,channel,marketing_consent\n")
		for i := range 120 {
			fmt.Fprintf(&data, "pat%d@patients.test,Pat,diabetes,1960-01-%02d,sms,%s\n", i, 1+i%28, map[bool]string{true: "yes", false: "no"}[i%3 > 0])
		}
		var imp struct{ ID, State string }
		r := e.Do(t, e.A.Key, "POST", v1+"/imports", map[string]any{
			"mapping": map[string]string{"email": "email", "first_name": "first_name", "condition": "condition", "birth_date": "birth_date",
				"channel": "channel", "marketing_consent": "@consent"},
			"consent": authorization()})
		r.JSON(t, &imp)
		uploadPart(t, e, e.A, imp.ID, data.Bytes()[:1000])
		uploadPart(t, e, e.A, imp.ID, data.Bytes()[1000:])
		if r := e.Do(t, e.A.Key, "POST", v1+"/imports/"+imp.ID+"/start", nil); r.Status != http.StatusAccepted {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		var prog struct {
			State   string
			Created int
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			e.Do(t, e.A.Key, "GET", v1+"/imports/"+imp.ID, nil).JSON(t, &prog)
			if prog.State == "completed" || prog.State == "failed" {
				break
			}
		}
		if prog.State != "completed" || prog.Created != 120 {
			t.Fatalf("import ended %+v", prog)
		}

		// A marketer key (no phi:read) sees PHI masked; a reader's page is
		// audited in one entry.
		marketer := e.KeyWith(t, e.A, string(access.ContactsRead), string(access.ContactsWrite))
		var page struct {
			Contacts []struct {
				ID, Email string
				Fields    map[string]any
				Consent   *struct{ Valid bool }
			}
		}
		e.Do(t, marketer, "GET", v1+"/contacts?field.channel=sms&limit=10", nil).JSON(t, &page)
		if len(page.Contacts) != 10 || page.Contacts[0].Email != access.Masked || page.Contacts[0].Fields["condition"] != access.Masked ||
			page.Contacts[0].Fields["channel"] != "sms" {
			t.Fatalf("marketer page = %+v", page)
		}
		before := countAudit(t, e, "contact.phi.read")
		e.Do(t, e.A.Key, "GET", v1+"/contacts?limit=25", nil).JSON(t, &page)
		if len(page.Contacts) != 25 || page.Contacts[0].Fields["condition"] != "diabetes" || countAudit(t, e, "contact.phi.read") != before+1 {
			t.Fatalf("reader page: %d contacts, audit %d → %d", len(page.Contacts), before, countAudit(t, e, "contact.phi.read"))
		}
		// Lookup by address, bulk upsert, export without PHI for the marketer.
		e.Do(t, marketer, "GET", v1+"/contacts?email=PAT7@patients.test", nil).JSON(t, &page)
		if len(page.Contacts) != 1 {
			t.Fatalf("lookup by email: %+v", page)
		}
		r = e.Do(t, marketer, "POST", v1+"/contacts/bulk", map[string]any{"contacts": []map[string]any{
			{"email": "pat7@patients.test", "last_name": "Seven"}, {"email": "new@patients.test"}}})
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"created":true`) {
			t.Fatalf("bulk: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, marketer, "POST", v1+"/contacts/bulk", map[string]any{"contacts": []map[string]any{{"email": "ok@x.test"}, {"email": "not an address"}}}); r.Status != http.StatusBadRequest ||
			!strings.Contains(string(r.Body), "contacts[1].email") || strings.Contains(string(r.Body), "not an address") {
			t.Fatalf("bad bulk: %d %s", r.Status, r.Body)
		}
		ex := e.Do(t, marketer, "GET", v1+"/contacts/export", nil)
		rows, err := csv.NewReader(bytes.NewReader(ex.Body)).ReadAll()
		if err != nil || ex.Status != 200 || len(rows) != 122 || strings.Contains(string(ex.Body), "patients.test") || strings.Contains(strings.Join(rows[0], ","), "condition") {
			t.Fatalf("marketer export: %d, %d rows, %v, header %v", ex.Status, len(rows), err, rows[0])
		}
	})
}

func countAudit(t *testing.T, e *apitest.Env, action string) int {
	t.Helper()
	var n int
	if err := e.App.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM audit_entries WHERE chain = ? AND action = ?`, e.A.Org.ID, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
