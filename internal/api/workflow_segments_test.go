package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestSegmentEntryOverTheAPIStartsWorkflows: on a running node, adding a
// contact to a static segment through POST /segments/{id}/members starts
// the workflow whose trigger is segment_in for it (its job engine works
// the run to the end); adding the member again starts nothing more.
func TestSegmentEntryOverTheAPIStartsWorkflows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		from := e.Sender(t, e.A)
		seg := newSegment(t, e, e.A, "static")
		def := map[string]any{"name": "Entered", "sender": map[string]any{"address": from},
			"trigger": map[string]any{"type": "segment_in", "segment_id": seg},
			"steps":   []any{map[string]any{"id": "done", "type": "end"}}}
		var wf struct{ ID string }
		r := e.Do(t, e.A.Key, "POST", v1+"/workflows", def)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &wf)
		if r := e.Do(t, e.A.Key, "POST", v1+"/workflows/"+wf.ID+"/activate", nil); r.Status != http.StatusOK {
			t.Fatalf("activate: %d %s", r.Status, r.Body)
		}
		cid := newContact(t, e, e.A)
		runs := func() []string { return workflowRuns(t, e, wf.ID) }
		if got := runs(); len(got) != 0 {
			t.Fatalf("runs before the contact entered: %v", got)
		}
		for range 2 {
			if r := e.Do(t, e.A.Key, "POST", v1+"/segments/"+seg+"/members", map[string]any{"contact_ids": []string{cid}}); r.Status != http.StatusOK {
				t.Fatalf("add member: %d %s", r.Status, r.Body)
			}
		}
		waitFor(t, func() bool {
			got := runs()
			return len(got) == 1 && got[0] == cid+":completed"
		})
		if got := runs(); len(got) != 1 {
			t.Fatalf("runs after adding the member twice: %v", got)
		}
	})
}

// TestEnteringADynamicSegmentOverTheAPI: on a running node whose
// segment_watch job runs every second, a contact that starts matching a
// dynamic segment through PATCH /contacts/{id} starts the segment_in
// workflow on it; a contact that already matched when the workflow was
// published (the baseline) does not.
func TestEnteringADynamicSegmentOverTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.NewWith(t, d, func(c *config.Config) { c.Marketing.SegmentWatchInterval = config.Duration(time.Second) })
		from := e.Sender(t, e.A)
		var seg struct{ ID string }
		r := e.Do(t, e.A.Key, "POST", v1+"/segments", map[string]any{"name": "Robins", "kind": "dynamic", "expression": `first_name == "Robin"`})
		if r.Status != http.StatusCreated {
			t.Fatalf("create segment: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &seg)
		already := newContact(t, e, e.A)
		later := newContact(t, e, e.A)
		rename := func(cid string) {
			if r := e.Do(t, e.A.Key, "PATCH", v1+"/contacts/"+cid, map[string]any{"first_name": "Robin"}); r.Status != http.StatusOK {
				t.Fatalf("update contact: %d %s", r.Status, r.Body)
			}
		}
		rename(already)
		def := map[string]any{"name": "Entered", "sender": map[string]any{"address": from},
			"trigger": map[string]any{"type": "segment_in", "segment_id": seg.ID},
			"steps":   []any{map[string]any{"id": "done", "type": "end"}}}
		var wf struct{ ID string }
		r = e.Do(t, e.A.Key, "POST", v1+"/workflows", def)
		if r.Status != http.StatusCreated {
			t.Fatalf("segment_in on a dynamic segment: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &wf)
		if r := e.Do(t, e.A.Key, "POST", v1+"/workflows/"+wf.ID+"/activate", nil); r.Status != http.StatusOK {
			t.Fatalf("activate: %d %s", r.Status, r.Body)
		}
		waitFor(t, func() bool { return countRows(t, e, "segment_watches") == 1 }) // the baseline
		rename(later)
		runs := func() []string { return workflowRuns(t, e, wf.ID) }
		waitFor(t, func() bool {
			got := runs()
			return len(got) == 1 && got[0] == later+":completed"
		})
		if got := runs(); len(got) != 1 {
			t.Fatalf("runs: %v (the contact that matched before publishing entered too)", got)
		}
	})
}

// workflowRuns lists a workflow's runs through the API as contact:state.
func workflowRuns(t *testing.T, e *apitest.Env, workflowID string) []string {
	t.Helper()
	var out struct {
		Runs []struct {
			ContactID string `json:"contact_id"`
			State     string
		}
	}
	e.Do(t, e.A.Key, "GET", v1+"/workflows/"+workflowID+"/runs", nil).JSON(t, &out)
	var ids []string
	for _, r := range out.Runs {
		ids = append(ids, r.ContactID+":"+r.State)
	}
	return ids
}
