package api_test

import (
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

// withCampaignFixtures adds the campaign endpoints' fixtures to the matrix.
func withCampaignFixtures(f map[string]apitest.Fixture) map[string]apitest.Fixture {
	draft := func(body any, then ...string) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			t.Helper()
			id := newCampaign(t, e, tn)
			for _, action := range then {
				var b any
				if action == "schedule" {
					b = scheduleBody()
				}
				if r := e.Do(t, tn.Key, "POST", v1+"/campaigns/"+id+"/"+action, b); r.Status != http.StatusOK {
					t.Fatalf("%s: %d %s", action, r.Status, r.Body)
				}
			}
			return id, body
		}
	}
	more := map[string]apitest.Fixture{
		"GET /campaigns/{id}":           draft(nil),
		"PATCH /campaigns/{id}":         draft(map[string]any{"name": "Renamed"}),
		"DELETE /campaigns/{id}":        draft(nil),
		"POST /campaigns/{id}/schedule": draft(scheduleBody()),
		"POST /campaigns/{id}/send":     draft(nil),
		"POST /campaigns/{id}/pause":    draft(nil, "schedule"),
		"POST /campaigns/{id}/resume":   draft(nil, "schedule", "pause"),
		"POST /campaigns/{id}/cancel":   draft(nil, "schedule"),
		"POST /campaigns/{id}/test": func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			return newCampaign(t, e, tn), map[string]any{"to": []string{"tester@" + strings.Split(tn.Owner.Email, "@")[1]}}
		},
		"GET /campaigns/{id}/report": draft(nil),
	}
	out := maps.Clone(f)
	maps.Copy(out, more)
	return out
}

func scheduleBody() map[string]any {
	return map[string]any{"send_at": time.Now().AddDate(1, 0, 0).Format("2006-01-02T15:04"), "timezone": "America/Chicago"}
}

// campaignTemplate stores a template for tn through the templates API.
func campaignTemplate(t *testing.T, e *apitest.Env, tn *apitest.Tenant, html string) string {
	t.Helper()
	var out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/templates", map[string]any{"name": "Reminder " + randomSuffix(t),
		"subject": "Time for your check-up", "html": html})
	if r.Status != http.StatusCreated {
		t.Fatalf("create template: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return out.ID
}

const campaignHTML = `<p>Hi {{.Contact.FirstName | default "there"}}, book your check-up: <a href="https://clinic.example/book">Book</a>.</p>
<p><a href="{{.Links.Unsubscribe}}">Unsubscribe</a></p>`

// newCampaign makes a draft campaign of tn to a new list.
func newCampaign(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
	t.Helper()
	var lst, out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/lists", map[string]any{"name": "List " + randomSuffix(t)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create list: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &lst)
	r = e.Do(t, tn.Key, "POST", v1+"/campaigns", map[string]any{"name": "Check-up", "from_email": e.Sender(t, tn),
		"template_id": campaignTemplate(t, e, tn, campaignHTML), "audience": map[string]any{"lists": []string{lst.ID}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create campaign: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return out.ID
}

type campaignJSON struct {
	ID, State, Timezone string
	SendAt              *time.Time `json:"send_at"`
	Progress            struct {
		Targeted int64
		Prepared bool
	}
}

func TestCampaignsOverTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		// Bad input names the field and stores nothing.
		r := e.Do(t, e.A.Key, "POST", v1+"/campaigns", map[string]any{"name": "X", "from_email": "news@nowhere.test",
			"template_id": "tpl_nope", "audience": map[string]any{"lists": []string{}}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"from_email"`) || !strings.Contains(string(r.Body), `"audience"`) {
			t.Fatalf("bad campaign: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "POST", v1+"/campaigns", map[string]any{"name": "X", "throttle": "fast"}); r.Status != http.StatusBadRequest ||
			!strings.Contains(string(r.Body), `"throttle"`) {
			t.Fatalf("wrong type: %d %s", r.Status, r.Body)
		}
		if n := countRows(t, e, "campaigns"); n != 0 {
			t.Fatalf("%d campaigns from bad input", n)
		}

		// Contacts through the API: two with an authorization, one without.
		var lst struct{ ID string }
		e.Do(t, e.A.Key, "POST", v1+"/lists", map[string]any{"name": "Reminders"}).JSON(t, &lst)
		var ids []string
		for i, consent := range []bool{true, true, false} {
			id := newContact(t, e, e.A)
			if consent {
				if r := e.Do(t, e.A.Key, "POST", v1+"/contacts/"+id+"/consents", authorization()); r.Status != http.StatusCreated {
					t.Fatalf("consent %d: %d %s", i, r.Status, r.Body)
				}
			}
			ids = append(ids, id)
		}
		if r := e.Do(t, e.A.Key, "POST", v1+"/lists/"+lst.ID+"/members", map[string]any{"contact_ids": ids}); r.Status != http.StatusOK {
			t.Fatalf("members: %d %s", r.Status, r.Body)
		}
		var c campaignJSON
		r = e.Do(t, e.A.Key, "POST", v1+"/campaigns", map[string]any{"name": "Check-up", "from_email": e.Sender(t, e.A),
			"template_id": campaignTemplate(t, e, e.A, campaignHTML), "audience": map[string]any{"lists": []string{lst.ID}}, "throttle": 600})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &c)
		if c.State != "draft" {
			t.Fatalf("created %+v", c)
		}
		path := v1 + "/campaigns/" + c.ID
		// Scheduled in a timezone, then sent now instead.
		r = e.Do(t, e.A.Key, "POST", path+"/schedule", map[string]any{"send_at": "2099-03-02T09:00", "timezone": "America/New_York"})
		r.JSON(t, &c)
		if r.Status != http.StatusOK || c.State != "scheduled" || !c.SendAt.Equal(time.Date(2099, 3, 2, 14, 0, 0, 0, time.UTC)) || c.Timezone != "America/New_York" {
			t.Fatalf("schedule: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "POST", path+"/resume", nil); r.Status != http.StatusConflict || r.ErrorCode() != "campaign_state" {
			t.Fatalf("resume a scheduled campaign: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "PATCH", path, map[string]any{"name": "Late edit"}); r.Status != http.StatusConflict {
			t.Fatalf("edit a scheduled campaign: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "POST", path+"/test", map[string]any{"to": []string{"tester@a.example"}}); r.Status != http.StatusAccepted {
			t.Fatalf("test send: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "POST", path+"/send", nil); r.Status != http.StatusOK {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			e.Do(t, e.A.Key, "GET", path, nil).JSON(t, &c)
			if c.State == "completed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("campaign %+v", c)
			}
		}
		var rep struct {
			Floor    int               `json:"small_cell_floor"`
			Targeted *int64            `json:"targeted"`
			Sent     *int64            `json:"sent"`
			Skipped  map[string]*int64 `json:"skipped"`
			Methods  map[string]*int64 `json:"methods"`
		}
		e.Do(t, e.A.Key, "GET", path+"/report", nil).JSON(t, &rep)
		if rep.Floor != 0 || *rep.Targeted != 3 || *rep.Sent != 2 || *rep.Skipped["no_consent"] != 1 || *rep.Methods["tls"] != 2 {
			t.Fatalf("owner report: %+v", rep)
		}
		analyst := e.KeyWith(t, e.A, string(access.ReportsRead))
		e.Do(t, analyst, "GET", path+"/report", nil).JSON(t, &rep)
		if rep.Floor != 11 || rep.Targeted != nil || rep.Sent != nil || rep.Skipped["no_consent"] != nil || *rep.Skipped["bounced"] != 0 {
			t.Fatalf("analyst report shows small cells: %+v", rep)
		}
		if r := e.Do(t, analyst, "POST", path+"/pause", nil); r.Status != http.StatusForbidden {
			t.Fatalf("an analyst paused: %d %s", r.Status, r.Body)
		}
		var list struct{ Campaigns []campaignJSON }
		e.Do(t, analyst, "GET", v1+"/campaigns", nil).JSON(t, &list)
		if len(list.Campaigns) != 1 || list.Campaigns[0].ID != c.ID {
			t.Fatalf("list: %+v", list)
		}
		e.Do(t, e.B.Key, "GET", v1+"/campaigns", nil).JSON(t, &list)
		if len(list.Campaigns) != 0 {
			t.Fatalf("organization B lists A's campaigns: %+v", list)
		}
	})
}

// A campaign to a segment goes to exactly the segment's members (here a
// static segment holding two of three consented contacts), through the
// segment service's member stream.
func TestCampaignToASegment(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		seg := newSegment(t, e, e.A, "static")
		var ids []string
		for range 3 {
			id := newContact(t, e, e.A)
			if r := e.Do(t, e.A.Key, "POST", v1+"/contacts/"+id+"/consents", authorization()); r.Status != http.StatusCreated {
				t.Fatalf("consent: %d %s", r.Status, r.Body)
			}
			ids = append(ids, id)
		}
		if r := e.Do(t, e.A.Key, "POST", v1+"/segments/"+seg+"/members", map[string]any{"contact_ids": ids[:2]}); r.Status != http.StatusOK {
			t.Fatalf("segment members: %d %s", r.Status, r.Body)
		}
		var c campaignJSON
		r := e.Do(t, e.A.Key, "POST", v1+"/campaigns", map[string]any{"name": "Segment check-up", "from_email": e.Sender(t, e.A),
			"template_id": campaignTemplate(t, e, e.A, campaignHTML), "audience": map[string]any{"segments": []string{seg}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &c)
		path := v1 + "/campaigns/" + c.ID
		if r := e.Do(t, e.A.Key, "POST", path+"/send", nil); r.Status != http.StatusOK {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		for deadline := time.Now().Add(30 * time.Second); c.State != "completed"; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("campaign %+v", c)
			}
			e.Do(t, e.A.Key, "GET", path, nil).JSON(t, &c)
		}
		var rep struct{ Targeted, Sent *int64 }
		e.Do(t, e.A.Key, "GET", path+"/report", nil).JSON(t, &rep)
		if rep.Targeted == nil || rep.Sent == nil || *rep.Targeted != 2 || *rep.Sent != 2 {
			t.Fatalf("report %+v, want the segment's two members targeted and sent", rep)
		}
		// Another organization's segment is not an audience.
		r = e.Do(t, e.B.Key, "POST", v1+"/campaigns", map[string]any{"name": "Theirs", "from_email": e.Sender(t, e.B),
			"template_id": campaignTemplate(t, e, e.B, campaignHTML), "audience": map[string]any{"segments": []string{seg}}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "audience") {
			t.Fatalf("campaign to another organization's segment: %d %s", r.Status, r.Body)
		}
	})
}
