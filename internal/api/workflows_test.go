package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/template"
)

// withWorkflowFixtures adds the workflow endpoints' fixtures to the matrix.
func withWorkflowFixtures(f map[string]apitest.Fixture) map[string]apitest.Fixture {
	draft := func(body any) apitest.Fixture {
		return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
			return newWorkflow(t, e, tn, false), body
		}
	}
	active := func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		return newWorkflow(t, e, tn, true), nil
	}
	f["GET /workflows/{id}"] = draft(nil)
	f["PUT /workflows/{id}"] = draft(waitDefinition("Renamed"))
	f["POST /workflows/{id}/activate"] = draft(nil)
	f["POST /workflows/{id}/stop"] = active
	f["POST /workflows/{id}/enrolments"] = func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		return newWorkflow(t, e, tn, true), map[string]any{"contact_id": newContact(t, e, tn)}
	}
	f["GET /workflows/{id}/report"] = draft(nil)
	f["GET /workflows/{id}/runs"] = active
	f["GET /workflow-runs/{id}"] = func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		wid := newWorkflow(t, e, tn, true)
		var run struct{ ID string }
		r := e.Do(t, tn.Key, "POST", v1+"/workflows/"+wid+"/enrolments", map[string]any{"contact_id": newContact(t, e, tn)})
		if r.Status != http.StatusCreated {
			t.Fatalf("enrol: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &run)
		return run.ID, nil
	}
	return f
}

func waitDefinition(name string) map[string]any {
	return map[string]any{"name": name, "sender": map[string]any{"address": "clinic@a.example"}, "trigger": map[string]any{"type": "manual"},
		"steps": []any{map[string]any{"id": "pause", "type": "wait", "duration": "30d"}, map[string]any{"id": "done", "type": "end"}}}
}

func newWorkflow(t *testing.T, e *apitest.Env, tn *apitest.Tenant, activate bool) string {
	t.Helper()
	var out struct{ ID string }
	r := e.Do(t, tn.Key, "POST", v1+"/workflows", waitDefinition("Wait "+randomSuffix(t)))
	if r.Status != http.StatusCreated {
		t.Fatalf("create workflow: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	if activate {
		if r := e.Do(t, tn.Key, "POST", v1+"/workflows/"+out.ID+"/activate", nil); r.Status != http.StatusOK {
			t.Fatalf("activate workflow: %d %s", r.Status, r.Body)
		}
	}
	return out.ID
}

// TestWorkflowThroughTheAPI defines, activates and runs a workflow through
// the API on a running node (its job engine works the steps): a send, a
// wait for a custom event posted to the contact, an add to segment. Bad
// definitions are refused naming the step; a second enrolment is 409; the
// report, the runs and the contact's path say what happened; the step
// events reach GET /events.
func TestWorkflowThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		from := e.Sender(t, e.A)
		tpl := template.New(template.Deps{DB: e.App.DB, Keys: e.App.Keys, Audit: e.App.Audit}, template.Options{})
		tp, err := tpl.Create(context.Background(), audit.Actor{Type: audit.ActorSystem, ID: "test"}, e.A.Org.ID, "Welcome",
			template.Source{Subject: "Welcome", HTML: "<p>Hello {{ .Contact.FirstName }}</p>"})
		if err != nil {
			t.Fatal(err)
		}
		// The contact's address does not resolve, so delivery of the
		// welcome bounces and suppresses it (asynchronously): the steps
		// after the wait do not send.
		seg := struct{ ID string }{newSegment(t, e, e.A, "static")}
		def := map[string]any{"name": "Onboarding", "sender": map[string]any{"name": "Clinic", "address": from}, "trigger": map[string]any{"type": "manual"},
			"steps": []any{
				map[string]any{"id": "welcome", "type": "send", "template_id": tp.ID},
				map[string]any{"id": "booked", "type": "wait_event", "event": map[string]any{"type": "custom", "name": "appointment_booked"}, "timeout": "7d", "timeout_next": "done"},
				map[string]any{"id": "tag", "type": "add_to_segment", "segment_id": seg.ID},
				map[string]any{"id": "done", "type": "end"},
			}}
		bad := e.Do(t, e.A.Key, "POST", v1+"/workflows", map[string]any{"name": "Bad", "sender": map[string]any{"address": from},
			"trigger": map[string]any{"type": "manual"}, "steps": []any{map[string]any{"id": "x", "type": "goto", "target": "nowhere"}}})
		if bad.Status != http.StatusBadRequest || !strings.Contains(string(bad.Body), `step \"x\": unknown target`) {
			t.Fatalf("bad definition: %d %s", bad.Status, bad.Body)
		}
		var wf struct{ ID, State string }
		r := e.Do(t, e.A.Key, "POST", v1+"/workflows", def)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &wf)
		if r := e.Do(t, e.A.Key, "POST", v1+"/workflows/"+wf.ID+"/activate", nil); r.Status != http.StatusOK {
			t.Fatalf("activate: %d %s", r.Status, r.Body)
		}
		cid := newContact(t, e, e.A)
		if r := e.Do(t, e.A.Key, "POST", v1+"/contacts/"+cid+"/consents", map[string]any{"method": "electronic", "text": "I agree.",
			"source": "api", "expires_at": time.Now().AddDate(1, 0, 0)}); r.Status != http.StatusCreated {
			t.Fatalf("consent: %d %s", r.Status, r.Body)
		}
		var run struct{ ID string }
		r = e.Do(t, e.A.Key, "POST", v1+"/workflows/"+wf.ID+"/enrolments", map[string]any{"contact_id": cid})
		if r.Status != http.StatusCreated {
			t.Fatalf("enrol: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &run)
		if r := e.Do(t, e.A.Key, "POST", v1+"/workflows/"+wf.ID+"/enrolments", map[string]any{"contact_id": cid}); r.Status != http.StatusConflict {
			t.Fatalf("second enrolment: %d %s", r.Status, r.Body)
		}
		type report struct {
			Steps []struct {
				StepID                          string `json:"step_id"`
				Current, Entered, Sends, Opened int64
			}
		}
		step := func(rep report, id string) (cur, entered, sends int64) {
			for _, s := range rep.Steps {
				if s.StepID == id {
					return s.Current, s.Entered, s.Sends
				}
			}
			return -1, -1, -1
		}
		// The node's job engine works the steps; wait for it to get there.
		waitFor(t, func() bool {
			var rep report
			e.Do(t, e.A.Key, "GET", v1+"/workflows/"+wf.ID+"/report", nil).JSON(t, &rep)
			cur, _, _ := step(rep, "booked")
			return cur == 1
		})
		if r := e.Do(t, e.A.Key, "POST", v1+"/contacts/"+cid+"/events", map[string]any{"name": "appointment_booked"}); r.Status != http.StatusCreated {
			t.Fatalf("event: %d %s", r.Status, r.Body)
		}
		var path struct {
			Run  struct{ State string }
			Path []struct {
				StepID  string `json:"step_id"`
				Outcome string
			}
		}
		waitFor(t, func() bool {
			e.Do(t, e.A.Key, "GET", v1+"/workflow-runs/"+run.ID, nil).JSON(t, &path)
			return path.Run.State == "completed"
		})
		var steps []string
		for _, p := range path.Path {
			steps = append(steps, p.StepID+":"+p.Outcome)
		}
		if got := strings.Join(steps, " "); got != "welcome:sent booked:event tag:added done:end" {
			t.Fatalf("path: %s", got)
		}
		var rep report
		e.Do(t, e.A.Key, "GET", v1+"/workflows/"+wf.ID+"/report", nil).JSON(t, &rep)
		if _, entered, sends := step(rep, "welcome"); entered != 1 || sends != 1 {
			t.Fatalf("welcome: entered %d, sends %d", entered, sends)
		}
		// A marketer's key (reports, no phi:read): the one contact is a group
		// below the small-cell floor, so the figures read null; zeros stay.
		marketer := e.KeyWith(t, e.A, string(access.ReportsRead), string(access.WorkflowsWrite))
		var masked struct {
			Floor int
			Steps []map[string]any
		}
		e.Do(t, marketer, "GET", v1+"/workflows/"+wf.ID+"/report", nil).JSON(t, &masked)
		if masked.Floor != 11 || len(masked.Steps) == 0 {
			t.Fatalf("marketer's report: %+v", masked)
		}
		for _, st := range masked.Steps {
			if st["step_id"] == "welcome" && (st["entered"] != nil || st["sends"] != nil || st["current"] != float64(0)) {
				t.Fatalf("marketer's report shows a group below the floor: %v", st)
			}
		}
		// Nor does the marketer get the list of those contacts, or the one
		// contact's path: each names a group below the floor.
		for _, path := range []string{"/workflows/" + wf.ID + "/runs?state=completed", "/workflows/" + wf.ID + "/runs?contact_id=" + cid,
			"/workflow-runs/" + run.ID} {
			if r := e.Do(t, marketer, "GET", v1+path, nil); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "small_cell") {
				t.Fatalf("marketer's GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		if r := e.Do(t, marketer, "GET", v1+"/workflows/"+wf.ID+"/runs?state=exited", nil); r.Status != http.StatusOK {
			t.Fatalf("an empty list is no group: %d %s", r.Status, r.Body)
		}
		var runs struct {
			Runs []struct {
				ContactID string `json:"contact_id"`
			}
		}
		e.Do(t, e.A.Key, "GET", v1+"/workflows/"+wf.ID+"/runs?state=completed", nil).JSON(t, &runs)
		if len(runs.Runs) != 1 || runs.Runs[0].ContactID != cid {
			t.Fatalf("runs: %+v", runs)
		}
		seen := map[string]int{}
		waitFor(t, func() bool {
			var evs struct{ Events []struct{ Type string } }
			e.Do(t, e.A.Key, "GET", v1+"/events?limit=1000", nil).JSON(t, &evs)
			clear(seen)
			for _, ev := range evs.Events {
				seen[ev.Type]++
			}
			return seen["workflow.completed"] > 0
		})
		if seen["workflow.enrolled"] != 1 || seen["workflow.step.completed"] != 4 || seen["workflow.completed"] != 1 || seen["message.queued"] != 1 {
			t.Fatalf("events: %v", seen)
		}
	})
}

// waitFor polls cond (the node works asynchronously) for up to a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("the node did not get there within a minute")
}
