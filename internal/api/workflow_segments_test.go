package api_test

import (
	"net/http"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
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
		runs := func() []string {
			var out struct {
				Runs []struct {
					ContactID string `json:"contact_id"`
					State     string
				}
			}
			e.Do(t, e.A.Key, "GET", v1+"/workflows/"+wf.ID+"/runs", nil).JSON(t, &out)
			var ids []string
			for _, r := range out.Runs {
				ids = append(ids, r.ContactID+":"+r.State)
			}
			return ids
		}
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
