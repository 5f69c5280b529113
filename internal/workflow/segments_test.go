package workflow_test

import (
	"slices"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
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
// for those an add_to_segment step of another workflow adds (two in one
// engine batch, added together); segment.Contains sees the step's
// members; adding a member again starts nothing.
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
		viaStep2 := e.contact("step2@patients.example", contactOpts{})
		elsewhere := e.contact("other@patients.example", contactOpts{})
		e.addMembers(seg, viaAPI)
		e.addMembers(other, elsewhere)
		if in, err := e.a.Segments.Contains(e.ctx, e.org, seg, viaStep); err != nil || in {
			t.Fatalf("before the step: contains %v %v", in, err)
		}
		e.enrol(tag, viaStep)
		e.enrol(tag, viaStep2)
		for e.run() > 0 { // the step's entry enrols a run that is due next
		}
		for _, c := range []string{viaStep, viaStep2} {
			if in, err := e.a.Segments.Contains(e.ctx, e.org, seg, c); err != nil || !in {
				t.Fatalf("after the add_to_segment step: contains %v %v", in, err)
			}
		}
		if got, want := e.enrolled(enter), sorted(viaAPI, viaStep, viaStep2); !slices.Equal(got, want) {
			t.Fatalf("segment_in enrolled %v, want %v", got, want)
		}
		if e.sent(viaAPI) != 1 || e.sent(viaStep) != 1 || e.sent(viaStep2) != 1 || e.sent(elsewhere) != 0 {
			t.Fatalf("sent %d, %d, %d, %d", e.sent(viaAPI), e.sent(viaStep), e.sent(viaStep2), e.sent(elsewhere))
		}
		// Already a member: adding again is no entry.
		e.addMembers(seg, viaAPI, viaStep)
		e.run()
		if n := e.count(`SELECT count(*) FROM workflow_runs WHERE workflow_id = ?`, enter); n != 3 {
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

// TestEnteringADynamicSegment: a segment_in workflow on a dynamic segment
// starts for contacts that start matching it after it was published,
// whether an update or the clock made the expression true, at the next
// sweep (the segment_watch job's work, App.SweepSegments). Contacts that
// matched at the first sweep are the baseline, not entries; one that
// leaves and comes back is not enrolled twice; a new expression takes a
// new baseline; a stopped workflow's segment is no longer watched.
func TestEnteringADynamicSegment(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Welcome", "Welcome", `<p>Welcome to the program</p>`)
		prog := e.segment("Diabetes program", segment.Dynamic, `program == "diabetes"`)
		lapsed := e.segment("Lapsed", segment.Dynamic, `days_since(appointment_at) > 30`)
		onProgram := e.workflow(`{"name": "Program", "sender": {"address": "care@clinic.example"},
			"trigger": {"type": "segment_in", "segment_id": %q},
			"steps": [{"id": "mail", "type": "send", "template_id": %q}]}`, prog, tpl)
		onLapsed := e.workflow(`{"name": "Lapsed", "sender": {"address": "care@clinic.example"},
			"trigger": {"type": "segment_in", "segment_id": %q},
			"steps": [{"id": "done", "type": "end"}]}`, lapsed)

		before := e.contact("before@patients.example", contactOpts{fields: map[string]any{"program": "diabetes"}})
		joiner := e.contact("joiner@patients.example", contactOpts{fields: map[string]any{"program": "asthma"}})
		visit := e.contact("visit@patients.example", contactOpts{fields: map[string]any{"appointment_at": start.AddDate(0, 0, -20).Format("2006-01-02")}})
		sweep := func() segment.SweepResult {
			t.Helper()
			res, err := e.a.SweepSegments(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for e.run() > 0 {
			}
			return res
		}
		setProgram := func(cid, p string) {
			t.Helper()
			if _, err := e.a.Contacts.Update(e.ctx, e.sys, cid, contact.Input{Fields: map[string]any{"program": p}}); err != nil {
				t.Fatal(err)
			}
		}

		if res := sweep(); res.Segments != 2 || res.Baselines != 2 || res.Entered != 0 || res.Members != 1 {
			t.Fatalf("first sweep: %+v, want two baselines with one member and no entries", res)
		}
		if got := e.enrolled(onProgram); len(got) != 0 {
			t.Fatalf("the baseline enrolled %v", got)
		}

		setProgram(joiner, "diabetes")
		if got := e.enrolled(onProgram); len(got) != 0 {
			t.Fatalf("enrolled before the sweep: %v", got)
		}
		if res := sweep(); res.Entered != 1 || res.Baselines != 0 {
			t.Fatalf("sweep after the update: %+v, want one entry", res)
		}
		if got := e.enrolled(onProgram); !slices.Equal(got, []string{joiner}) {
			t.Fatalf("after the update: enrolled %v, want %v", got, joiner)
		}
		if e.sent(joiner) != 1 || e.sent(before) != 0 {
			t.Fatalf("sent %d to the joiner, %d to the baseline contact", e.sent(joiner), e.sent(before))
		}

		// The clock: the visit was 20 days ago; 11 days later it is 31.
		if res := sweep(); res.Entered != 0 {
			t.Fatalf("sweep with nothing changed: %+v", res)
		}
		e.clock.Advance(11 * 24 * time.Hour)
		if res := sweep(); res.Entered != 1 {
			t.Fatalf("sweep after the clock moved: %+v, want one entry", res)
		}
		if got := e.enrolled(onLapsed); !slices.Equal(got, []string{visit}) {
			t.Fatalf("lapsed enrolled %v, want %v", got, visit)
		}

		// Leaving and coming back is an entry, but no re-entry.
		setProgram(joiner, "asthma")
		if res := sweep(); res.Left != 1 {
			t.Fatalf("sweep after leaving: %+v, want one left", res)
		}
		setProgram(joiner, "diabetes")
		if res := sweep(); res.Entered != 1 {
			t.Fatalf("sweep after coming back: %+v, want one entry", res)
		}
		if n := e.count(`SELECT count(*) FROM workflow_runs WHERE workflow_id = ?`, onProgram); n != 1 || e.sent(joiner) != 1 {
			t.Fatalf("after coming back: %d runs, %d sent; want 1 and 1", n, e.sent(joiner))
		}

		// A new expression is a new baseline: who matches it now did not
		// enter.
		other := e.contact("other@patients.example", contactOpts{fields: map[string]any{"program": "asthma"}})
		expr := `program == "asthma"`
		if _, err := e.a.Segments.Update(e.ctx, e.marketer(), prog, segment.Patch{Expression: &expr}); err != nil {
			t.Fatal(err)
		}
		if res := sweep(); res.Baselines != 1 || res.Entered != 0 {
			t.Fatalf("sweep after the edit: %+v, want a baseline", res)
		}
		if got := e.enrolled(onProgram); !slices.Equal(got, []string{joiner}) || e.sent(other) != 0 {
			t.Fatalf("after the edit: enrolled %v, sent %d to a contact matching the new expression", got, e.sent(other))
		}

		// A stopped workflow's segment is forgotten.
		if _, err := e.a.Workflows.Stop(e.ctx, e.wf, onLapsed); err != nil {
			t.Fatal(err)
		}
		if res := sweep(); res.Segments != 1 {
			t.Fatalf("sweep after stopping: %+v, want one segment", res)
		}
		if n := e.count(`SELECT count(*) FROM segment_entries WHERE segment_id = ?`, lapsed); n != 0 {
			t.Fatalf("%d entries kept for an unwatched segment", n)
		}
	})
}
