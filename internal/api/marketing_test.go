package api_test

import (
	"bytes"
	"encoding/csv"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// withMarketingFixtures adds the segment and template endpoints' fixtures
// to the matrix.
func withMarketingFixtures(f map[string]apitest.Fixture) map[string]apitest.Fixture {
	seg := func(kind string, body func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) any) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			t.Helper()
			id := newSegment(t, e, tn, kind)
			var b any
			if body != nil {
				b = body(t, e, tn)
			}
			return id, b
		}
	}
	members := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) any {
		return map[string]any{"contact_ids": []string{newContact(t, e, tn)}}
	}
	tpl := func(body any) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			return newTemplate(t, e, tn), body
		}
	}
	more := map[string]apitest.Fixture{
		"GET /segments/{id}":    seg("dynamic", nil),
		"PATCH /segments/{id}":  seg("dynamic", func(*testing.T, *apitest.Env, *apitest.Tenant) any { return map[string]any{"description": "x"} }),
		"DELETE /segments/{id}": seg("dynamic", nil),
		// The matrix's owner key holds phi:read: the export is not
		// refused below the floor.
		"GET /segments/{id}/preview":         seg("dynamic", nil),
		"GET /segments/{id}/export":          seg("dynamic", nil),
		"POST /segments/{id}/members":        seg("static", members),
		"POST /segments/{id}/members/remove": seg("static", members),
		"GET /templates/{id}":                tpl(nil),
		"PUT /templates/{id}":                tpl(map[string]any{"name": "Renamed", "subject": "Hello again", "html": "<p>Hi</p>"}),
		"DELETE /templates/{id}":             tpl(nil),
		"GET /templates/{id}/versions":       tpl(nil),
		"POST /templates/{id}/preview":       tpl(map[string]any{}),
	}
	out := maps.Clone(f)
	maps.Copy(out, more)
	return out
}

func newSegment(t *testing.T, e *apitest.Env, tn *apitest.Tenant, kind string) string {
	t.Helper()
	body := map[string]any{"name": "Segment " + randomSuffix(t), "kind": kind}
	if kind == "dynamic" {
		body["expression"] = `status == "subscribed"`
	}
	var out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/segments", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create segment: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return out.ID
}

func newTemplate(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
	t.Helper()
	var out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/templates", map[string]any{"name": "Template " + randomSuffix(t), "subject": "Your check-up",
		"html": `<p>Hello {{.Contact.FirstName | default "there"}}</p>`})
	if r.Status != http.StatusCreated {
		t.Fatalf("create template: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return out.ID
}

type countJSON struct {
	Value   *int64
	Display string
	Hidden  bool
}

type previewJSON struct {
	Members, Subscribed, Consented countJSON
	Page                           []struct {
		ID, Email string
		Fields    map[string]any
		Masked    bool
	}
	NextCursor string `json:"next_cursor"`
	UsesPHI    bool   `json:"uses_phi"`
	Floor      int
}

func TestSegmentsOverTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		for _, f := range []map[string]any{{"key": "condition", "type": "text"}, {"key": "last_visit", "type": "date"},
			{"key": "birth_date", "type": "date"}, {"key": "plan", "type": "text", "phi": false}} {
			if r := e.Do(t, e.A.Key, "POST", v1+"/contact-fields", f); r.Status != http.StatusCreated {
				t.Fatalf("field: %d %s", r.Status, r.Body)
			}
		}
		var contacts []map[string]any
		for i := range 14 {
			c := map[string]any{"email": "seg" + string(rune('a'+i)) + "@patients.test", "first_name": "Pat",
				"fields": map[string]any{"condition": "diabetes", "last_visit": "2020-01-10", "birth_date": "1960-03-04", "plan": "gold"}}
			if i >= 3 {
				c["fields"].(map[string]any)["condition"] = "asthma"
			}
			contacts = append(contacts, c)
		}
		if r := e.Do(t, e.A.Key, "POST", v1+"/contacts/bulk", map[string]any{"contacts": contacts}); r.Status != http.StatusOK {
			t.Fatalf("bulk: %d %s", r.Status, r.Body)
		}
		marketer := e.KeyWith(t, e.A, string(access.ContactsRead), string(access.SegmentsWrite))

		// An expression error points at the bad token and saves nothing.
		r := e.Do(t, marketer, "POST", v1+"/segments", map[string]any{"name": "Due", "expression": "condition == \"diabetes\" and\n  days_since(last_vist) > 180"})
		var bad struct {
			Error        struct{ Code, Message, Field string }
			Line, Column int
			Snippet      string
		}
		r.JSON(t, &bad)
		if r.Status != http.StatusUnprocessableEntity || bad.Error.Code != "invalid_expression" || bad.Error.Field != "expression" ||
			bad.Line != 2 || bad.Column != 14 || !strings.Contains(bad.Error.Message, "last_vist (did you mean last_visit?)") ||
			!strings.HasSuffix(bad.Snippet, " | .............^") {
			t.Fatalf("bad expression: %d %s", r.Status, r.Body)
		}
		var list struct{ Segments []any }
		if e.Do(t, marketer, "GET", v1+"/segments", nil).JSON(t, &list); len(list.Segments) != 0 {
			t.Fatalf("a refused segment was saved: %+v", list)
		}

		// Three diabetics: below the floor for the marketer.
		var sg struct {
			ID      string
			Version int
			UsesPHI bool `json:"uses_phi"`
			Fields  []string
		}
		r = e.Do(t, marketer, "POST", v1+"/segments", map[string]any{"name": "Due", "expression": `condition == "diabetes" and days_since(last_visit) > 180 and age >= 40`})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &sg)
		if sg.Version != 1 || !sg.UsesPHI || strings.Join(sg.Fields, ",") != "condition,last_visit,birth_date" {
			t.Fatalf("segment %s", r.Body)
		}
		var p previewJSON
		e.Do(t, marketer, "GET", v1+"/segments/"+sg.ID+"/preview", nil).JSON(t, &p)
		if !p.Members.Hidden || p.Members.Value != nil || p.Members.Display != "fewer than 11" || len(p.Page) != 0 || p.Floor != 11 {
			t.Fatalf("marketer preview %+v", p)
		}
		if r := e.Do(t, marketer, "GET", v1+"/segments/"+sg.ID+"/export", nil); r.Status != http.StatusForbidden || r.ErrorCode() != "small_cell" {
			t.Fatalf("marketer export below the floor: %d %s", r.Status, r.Body)
		}
		e.Do(t, e.A.Key, "GET", v1+"/segments/"+sg.ID+"/preview", nil).JSON(t, &p)
		if p.Members.Hidden || *p.Members.Value != 3 || len(p.Page) != 3 || p.Page[0].Masked || !strings.HasSuffix(p.Page[0].Email, "@patients.test") {
			t.Fatalf("owner preview %+v", p)
		}
		// Everybody (14) is above the floor: the marketer sees a masked page.
		e.Do(t, marketer, "POST", v1+"/segments/preview", map[string]any{"expression": `plan == "gold"`, "limit": 10}).JSON(t, &p)
		if *p.Members.Value != 14 || len(p.Page) != 10 || p.NextCursor == "" || p.Page[0].Email != access.Masked ||
			p.Page[0].Fields["condition"] != access.Masked || p.Page[0].Fields["plan"] != "gold" || p.UsesPHI {
			t.Fatalf("try: %+v", p)
		}
		// A static segment, its members and its export.
		st := newSegment(t, e, e.A, "static")
		var ids []string
		for _, c := range p.Page[:2] {
			ids = append(ids, c.ID)
		}
		if r := e.Do(t, marketer, "POST", v1+"/segments/"+st+"/members", map[string]any{"contact_ids": ids}); r.Status != 200 || !strings.Contains(string(r.Body), `"changed":2`) {
			t.Fatalf("add members: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, marketer, "POST", v1+"/segments/"+sg.ID+"/members", map[string]any{"contact_ids": ids}); r.Status != http.StatusConflict || r.ErrorCode() != "not_static" {
			t.Fatalf("members of a dynamic segment: %d %s", r.Status, r.Body)
		}
		ex := e.Do(t, e.A.Key, "GET", v1+"/segments/"+st+"/export", nil)
		rows, err := csv.NewReader(bytes.NewReader(ex.Body)).ReadAll()
		if err != nil || ex.Status != 200 || len(rows) != 3 || !strings.Contains(strings.Join(rows[0], ","), "email") {
			t.Fatalf("export: %d %v %v", ex.Status, err, rows)
		}
		if countAudit(t, e, "contact.export") == 0 || countAudit(t, e, "segment.preview") < 3 {
			t.Fatal("exports and previews are not audited")
		}
		// A new version.
		r = e.Do(t, marketer, "PATCH", v1+"/segments/"+sg.ID, map[string]any{"expression": `plan == "gold"`, "base_version": 1})
		r.JSON(t, &sg)
		if r.Status != 200 || sg.Version != 2 || sg.UsesPHI {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, marketer, "PATCH", v1+"/segments/"+sg.ID, map[string]any{"expression": `plan == "x"`, "base_version": 1}); r.Status != http.StatusConflict {
			t.Fatalf("stale patch: %d %s", r.Status, r.Body)
		}
	})
}

func TestTemplatesOverTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		for _, f := range []map[string]any{{"key": "condition", "type": "text"}, {"key": "last_visit", "type": "date"},
			{"key": "plan", "type": "text", "phi": false}} {
			if r := e.Do(t, e.A.Key, "POST", v1+"/contact-fields", f); r.Status != http.StatusCreated {
				t.Fatalf("field: %d %s", r.Status, r.Body)
			}
		}
		marketer := e.KeyWith(t, e.A, string(access.ContactsRead), string(access.TemplatesWrite))

		// The PHI lint: a PHI field in the subject is refused, naming the
		// part, the field and the position.
		r := e.Do(t, marketer, "POST", v1+"/templates", map[string]any{"name": "Reminder", "subject": "About your {{.Contact.Fields.condition}}",
			"html": `<p>Hi</p><a href="https://clinic.example/?p={{.Contact.Fields.plan}}&n={{.Contact.LastName}}">book</a>`})
		var refused struct {
			Error    struct{ Code, Field string }
			Problems []struct {
				Part, Field  string
				Line, Column int
			}
		}
		r.JSON(t, &refused)
		if r.Status != http.StatusUnprocessableEntity || refused.Error.Code != "template_refused" || refused.Error.Field != "subject" ||
			len(refused.Problems) != 3 || refused.Problems[0].Part != "subject" || refused.Problems[0].Field != "condition" ||
			refused.Problems[0].Line != 1 || refused.Problems[0].Column != 14 || refused.Problems[1].Part != "html" || refused.Problems[1].Field != "last_name" {
			t.Fatalf("lint: %d %s", r.Status, r.Body)
		}
		var list struct{ Templates []any }
		if e.Do(t, marketer, "GET", v1+"/templates", nil).JSON(t, &list); len(list.Templates) != 0 {
			t.Fatal("a refused template was saved")
		}

		var tpl struct {
			ID                  string
			Version             int
			CurrentVersion      int `json:"current_version"`
			HTML, Text, Subject string
			TextGenerated       bool `json:"text_generated"`
		}
		r = e.Do(t, marketer, "POST", v1+"/templates", map[string]any{"name": "Reminder", "subject": "Time for a check-up, {{.Contact.Fields.plan}} member",
			"html": `<p onclick="x()">Dear {{.Contact.FirstName | default "patient"}}, about your {{.Contact.Fields.condition}} (last seen {{date "long" .Contact.Fields.last_visit}}).</p><script>x()</script>`})
		r.JSON(t, &tpl)
		if r.Status != http.StatusCreated || tpl.Version != 1 || strings.Contains(tpl.HTML, "script") || strings.Contains(tpl.HTML, "onclick") || !tpl.TextGenerated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r = e.Do(t, marketer, "PUT", v1+"/templates/"+tpl.ID, map[string]any{"name": "Reminder", "subject": "Check-up time", "html": "<p>v2</p>", "base_version": 1})
		if r.JSON(t, &tpl); r.Status != 200 || tpl.Version != 2 {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, marketer, "PUT", v1+"/templates/"+tpl.ID, map[string]any{"name": "Reminder", "subject": "x", "html": "<p>x</p>", "base_version": 1}); r.Status != http.StatusConflict {
			t.Fatalf("stale update: %d %s", r.Status, r.Body)
		}
		if e.Do(t, marketer, "GET", v1+"/templates/"+tpl.ID+"?version=1", nil).JSON(t, &tpl); tpl.Version != 1 || tpl.CurrentVersion != 2 || !strings.HasPrefix(tpl.Subject, "Time for") {
			t.Fatalf("version 1 changed: %+v", tpl)
		}
		var versions struct{ Versions []struct{ Version int } }
		if e.Do(t, marketer, "GET", v1+"/templates/"+tpl.ID+"/versions", nil).JSON(t, &versions); len(versions.Versions) != 2 || versions.Versions[0].Version != 2 {
			t.Fatalf("versions %+v", versions)
		}

		// Preview: a sample, then a real contact (masked for the marketer).
		var out struct {
			Subject, HTML, Text string
			Masked              bool
		}
		r = e.Do(t, marketer, "POST", v1+"/templates/"+tpl.ID+"/preview", map[string]any{"version": 1,
			"sample": map[string]any{"first_name": "Sam", "fields": map[string]any{"plan": "gold", "condition": "asthma", "last_visit": "2026-03-01"}}})
		if r.JSON(t, &out); r.Status != 200 || out.Subject != "Time for a check-up, gold member" || !strings.Contains(out.HTML, "Dear Sam, about your asthma (last seen March 1, 2026)") {
			t.Fatalf("sample preview: %d %s", r.Status, r.Body)
		}
		var c struct{ ID string }
		e.Do(t, e.A.Key, "POST", v1+"/contacts", map[string]any{"email": "tpl@patients.test", "first_name": "Robin",
			"fields": map[string]any{"condition": "copd", "plan": "silver", "last_visit": "2026-02-02"}}).JSON(t, &c)
		r = e.Do(t, marketer, "POST", v1+"/templates/"+tpl.ID+"/preview", map[string]any{"version": 1, "contact_id": c.ID})
		if r.JSON(t, &out); r.Status != 200 || !out.Masked || strings.Contains(out.HTML, "Robin") || strings.Contains(out.HTML, "copd") ||
			!strings.Contains(out.HTML, access.Masked) || out.Subject != "Time for a check-up, silver member" {
			t.Fatalf("marketer preview of a contact: %d %s", r.Status, r.Body)
		}
		before := countAudit(t, e, "contact.phi.read")
		r = e.Do(t, e.A.Key, "POST", v1+"/templates/"+tpl.ID+"/preview", map[string]any{"version": 1, "contact_id": c.ID})
		if r.JSON(t, &out); r.Status != 200 || out.Masked || !strings.Contains(out.HTML, "Dear Robin, about your copd (last seen February 2, 2026)") ||
			countAudit(t, e, "contact.phi.read") != before+1 {
			t.Fatalf("owner preview of a contact: %d %s", r.Status, r.Body)
		}
		// Another organization's contact is not found.
		other := newContact(t, e, e.B)
		if r := e.Do(t, e.A.Key, "POST", v1+"/templates/"+tpl.ID+"/preview", map[string]any{"contact_id": other}); r.Status != http.StatusNotFound {
			t.Fatalf("preview with org B's contact: %d %s", r.Status, r.Body)
		}
		// Deleted: gone from the API.
		if r := e.Do(t, marketer, "DELETE", v1+"/templates/"+tpl.ID, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, marketer, "GET", v1+"/templates/"+tpl.ID, nil); r.Status != http.StatusNotFound {
			t.Fatalf("deleted template: %d", r.Status)
		}
		// Reading templates takes templates:write or campaigns:write.
		reader := e.KeyWith(t, e.A, string(access.ContactsRead))
		if r := e.Do(t, reader, "GET", v1+"/templates", nil); r.Status != http.StatusForbidden {
			t.Fatalf("contacts reader lists templates: %d", r.Status)
		}
	})
}
