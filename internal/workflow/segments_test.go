package workflow_test

import (
	"slices"
	"testing"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workflow"
)

// marketer is a person of the test organization with every permission.
func (e *env) marketer() auth.Principal {
	return auth.Principal{OrgID: e.org, UserID: "usr_marketer", Perms: access.NewSet(access.All...)}
}

// segment defines a segment of package segment and returns its id.
func (e *env) segment(name string, kind segment.Kind, expression string) string {
	e.t.Helper()
	sg, err := e.a.Segments.Create(e.ctx, e.marketer(), segment.Input{Name: name, Kind: kind, Expression: expression})
	if err != nil {
		e.t.Fatal(err)
	}
	return sg.ID
}

// addMembers adds contacts to a static segment as the API does.
func (e *env) addMembers(segmentID string, contactIDs ...string) {
	e.t.Helper()
	if _, err := e.a.Segments.AddMembers(e.ctx, e.marketer(), segmentID, contactIDs); err != nil {
		e.t.Fatal(err)
	}
}

// members are a segment's members now, as campaigns read them.
func (e *env) members(segmentID string) []string {
	e.t.Helper()
	var out []string
	for id, err := range e.a.Segments.Members(e.ctx, e.org, segmentID) {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// enrolled are the contacts with a run of the workflow, sorted.
func (e *env) enrolled(wid string) []string {
	e.t.Helper()
	rs, err := e.a.Workflows.Runs(e.ctx, e.wf, wid, workflow.RunQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.ContactID)
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestStaticSegmentEntryStartsWorkflows: a segment_in workflow on a real
// static segment starts for a contact added through the segment API and
// for one an add_to_segment step of another workflow adds; segment.Contains
// sees the step's member; adding a member again starts nothing.
func TestStaticSegmentEntryStartsWorkflows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		seg := e.segment("Care plan", segment.Static, "")
		other := e.segment("Unrelated", segment.Static, "")
		enter := e.workflow(`{"name": "Entered", "sender": {"address": "care@clinic.example"},
			"trigger": {"type": "segment_in", "segment_id": %q},
			"steps": [{"id": "mail", "type": "send", "template_id": %q}]}`, seg, tpl)
		tag := e.workflow(`{"name": "Tag", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [{"id": "tag", "type": "add_to_segment", "segment_id": %q}, {"id": "done", "type": "end"}]}`, seg)

		viaAPI := e.contact("api@patients.example", contactOpts{})
		viaStep := e.contact("step@patients.example", contactOpts{})
		elsewhere := e.contact("other@patients.example", contactOpts{})
		e.addMembers(seg, viaAPI)
		e.addMembers(other, elsewhere)
		if in, err := e.a.Segments.Contains(e.ctx, e.org, seg, viaStep); err != nil || in {
			t.Fatalf("before the step: contains %v %v", in, err)
		}
		e.enrol(tag, viaStep)
		for e.run() > 0 { // the step's entry enrols a run that is due next
		}
		if in, err := e.a.Segments.Contains(e.ctx, e.org, seg, viaStep); err != nil || !in {
			t.Fatalf("after the add_to_segment step: contains %v %v", in, err)
		}
		if got, want := e.enrolled(enter), sorted(viaAPI, viaStep); !slices.Equal(got, want) {
			t.Fatalf("segment_in enrolled %v, want %v", got, want)
		}
		if e.sent(viaAPI) != 1 || e.sent(viaStep) != 1 || e.sent(elsewhere) != 0 {
			t.Fatalf("sent %d, %d, %d", e.sent(viaAPI), e.sent(viaStep), e.sent(elsewhere))
		}
		// Already a member: adding again is no entry.
		e.addMembers(seg, viaAPI, viaStep)
		e.run()
		if n := e.count(`SELECT count(*) FROM workflow_runs WHERE workflow_id = ?`, enter); n != 2 {
			t.Fatalf("runs after adding members again: %d", n)
		}
	})
}

// TestDynamicSegmentBranchAndEnrolment: a branch on membership of a real
// dynamic segment routes by the expression, and the "all contacts of a
// segment" trigger over it enrols exactly its members.
func TestDynamicSegmentBranchAndEnrolment(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		dyn := e.segment("Diabetes program", segment.Dynamic, `program == "diabetes"`)
		var in, out []string
		for i := range 7 {
			p := "asthma"
			if i%2 == 0 {
				p = "diabetes"
			}
			c := e.contact("p"+string(rune('a'+i))+"@patients.example", contactOpts{fields: map[string]any{"program": p}})
			if p == "diabetes" {
				in = append(in, c)
			} else {
				out = append(out, c)
			}
		}
		route := e.workflow(`{"name": "Route", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [{"id": "route", "type": "branch", "branches": [{"if": {"segment": %q}, "next": "member"}], "fallback": "done"},
			          {"id": "member", "type": "end"}, {"id": "done", "type": "end"}]}`, dyn)
		runs := map[string]string{}
		for _, c := range append(slices.Clone(in), out...) {
			runs[c] = e.enrol(route, c).ID
		}
		e.run()
		for _, c := range in {
			if got := e.path(runs[c]); got != "route:branch member:end" {
				t.Errorf("member %s: path %s", c, got)
			}
		}
		for _, c := range out {
			if got := e.path(runs[c]); got != "route:fallback done:end" {
				t.Errorf("non-member %s: path %s", c, got)
			}
		}
		all := e.workflow(`{"name": "All", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "segment", "segment_id": %q},
			"steps": [{"id": "done", "type": "end"}]}`, dyn)
		if _, err := e.a.Workflows.RunEnrolment(e.ctx, e.org, all, "segment:"+dyn); err != nil {
			t.Fatal(err)
		}
		if got, want := e.enrolled(all), sorted(in...); !slices.Equal(got, want) {
			t.Fatalf("segment trigger enrolled %v, want %v", got, want)
		}
	})
}
