package api_test

import (
	"net/http"
	"strings"
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

// A segment_in trigger on a dynamic segment would never fire (entering a
// dynamic segment is not observed): saving it is refused, naming the
// trigger's segment, and nothing is stored; a segment trigger (enrol its
// current members) on the same segment is accepted.
func TestSegmentInOnADynamicSegmentIsRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	seg := newSegment(t, e, e.A, "dynamic")
	def := func(trigger string) map[string]any {
		return map[string]any{"name": "On " + trigger, "sender": map[string]any{"address": from},
			"trigger": map[string]any{"type": trigger, "segment_id": seg},
			"steps":   []any{map[string]any{"id": "done", "type": "end"}}}
	}
	r := e.Do(t, e.A.Key, "POST", v1+"/workflows", def("segment_in"))
	if r.Status/100 != 4 || !strings.Contains(string(r.Body), "trigger.segment_id") || !strings.Contains(string(r.Body), "dynamic") {
		t.Fatalf("segment_in on a dynamic segment: %d %s", r.Status, r.Body)
	}
	if n := countRows(t, e, "workflows"); n != 0 {
		t.Fatalf("%d workflows stored from a refused definition", n)
	}
	if r := e.Do(t, e.A.Key, "POST", v1+"/workflows", def("segment")); r.Status != http.StatusCreated {
		t.Fatalf("segment trigger on a dynamic segment: %d %s", r.Status, r.Body)
	}
}
