package workflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workflow"
)

// TestGotoBackwardIsNotExecutedTwice: a go to back to the first send would
// loop; the contact is marked complete instead and gets the send once.
func TestGotoBackwardIsNotExecutedTwice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(`{"name": "Loop", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [
			  {"id": "mail", "type": "send", "template_id": %q},
			  {"id": "pause", "type": "wait", "duration": "1h"},
			  {"id": "again", "type": "goto", "target": "mail"}]}`, tpl)
		c := e.contact("loop@patients.example", contactOpts{})
		run := e.enrol(wid, c)
		for range 5 {
			e.run()
			e.clock.Advance(2 * time.Hour)
		}
		if e.sent(c) != 1 {
			t.Fatalf("the looped send went %d times", e.sent(c))
		}
		r := e.runOf(wid, c)
		if r.State != workflow.RunCompleted || r.Outcome != workflow.OutcomeLoopPrevented {
			t.Fatalf("run: %s %s", r.State, r.Outcome)
		}
		if got := e.path(run.ID); got != "mail:sent pause:waited again:goto" {
			t.Fatalf("path: %s", got)
		}
	})
}

// TestGotoIntoAnotherWorkflow moves the contact on into a second workflow,
// which runs its own steps; going there again is refused (no re-entry).
func TestGotoIntoAnotherWorkflow(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
	second := e.workflow(`{"name": "Second", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
		"steps": [{"id": "mail", "type": "send", "template_id": %q}]}`, tpl)
	first := e.workflow(`{"name": "First", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
		"steps": [{"id": "move", "type": "goto", "workflow_id": %q}]}`, second)
	again := e.workflow(`{"name": "Again", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
		"steps": [{"id": "move", "type": "goto", "workflow_id": %q}]}`, second)
	c := e.contact("mover@patients.example", contactOpts{})
	e.enrol(first, c)
	e.run()
	if r := e.runOf(first, c); r.State != workflow.RunCompleted || r.Outcome != workflow.OutcomeMoved {
		t.Fatalf("first run: %+v", r)
	}
	if r := e.runOf(second, c); r.State != workflow.RunCompleted || r.Source != "workflow:"+first {
		t.Fatalf("second run: %+v", r)
	}
	if e.sent(c) != 1 {
		t.Fatalf("%d messages, want the second workflow's one", e.sent(c))
	}
	e.enrol(again, c)
	e.run()
	if e.sent(c) != 1 || e.count(`SELECT count(*) FROM workflow_runs WHERE workflow_id = ?`, second) != 1 {
		t.Fatal("going into the second workflow again enrolled the contact twice")
	}
	_, steps, err := e.a.Workflows.Path(e.ctx, e.wf, e.runOf(again, c).ID)
	if err != nil || len(steps) != 1 || steps[0].Detail == second {
		t.Fatalf("the refused move does not say so: %+v %v", steps, err)
	}
}

// TestNoReentry: a contact that completed a workflow is not enrolled again,
// by API or by its trigger.
func TestNoReentry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(`{"name": "Once", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "event", "event": "portal_login"},
			"steps": [{"id": "mail", "type": "send", "template_id": %q}]}`, tpl)
		c := e.contact("once@patients.example", contactOpts{})
		for range 3 {
			if _, err := e.a.Contacts.RecordEvent(e.ctx, e.sys, c, "portal_login", time.Time{}, nil); err != nil {
				t.Fatal(err)
			}
			e.run()
		}
		if _, err := e.a.Workflows.Enrol(e.ctx, e.wf, wid, c); !errors.Is(err, workflow.ErrAlreadyEnrolled) {
			t.Fatalf("manual enrolment after completion: %v", err)
		}
		e.run()
		if e.sent(c) != 1 || e.count(`SELECT count(*) FROM workflow_runs WHERE workflow_id = ?`, wid) != 1 {
			t.Fatalf("re-entered: %d messages", e.sent(c))
		}
	})
}

// TestTriggers starts one workflow per trigger and checks who entered.
func TestTriggers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		members := e.list("Members")
		joiners := e.list("Joiners")
		segment := e.segment("A static segment", segment.Static, "")
		steps := `"steps": [{"id": "mail", "type": "send", "template_id": "` + tpl + `"}]`
		wf := func(trigger string) string {
			return e.workflow(`{"name": "T", "sender": {"address": "care@clinic.example"}, "trigger": %s, %s}`, trigger, steps)
		}
		m1 := e.contact("m1@patients.example", contactOpts{})
		m2 := e.contact("m2@patients.example", contactOpts{})
		gone := e.contact("gone@patients.example", contactOpts{})
		if err := e.a.Contacts.SetMembers(e.ctx, e.sys, members, []string{m1, m2, gone}, contact.MemberSubscribed); err != nil {
			t.Fatal(err)
		}
		if err := e.a.Contacts.SetMembers(e.ctx, e.sys, members, []string{gone}, contact.MemberUnsubscribed); err != nil {
			t.Fatal(err)
		}
		// Members of a list: those subscribed when the workflow starts.
		all := wf(`{"type": "list", "list_id": "` + members + `"}`)
		if _, err := e.a.Workflows.RunEnrolment(e.ctx, e.org, all, "list:"+members); err != nil {
			t.Fatal(err)
		}
		// Members of a static segment.
		e.addMembers(segment, m2)
		segAll := wf(`{"type": "segment", "segment_id": "` + segment + `"}`)
		if _, err := e.a.Workflows.RunEnrolment(e.ctx, e.org, segAll, "segment:"+segment); err != nil {
			t.Fatal(err)
		}
		join := wf(`{"type": "list_join", "list_id": "` + joiners + `"}`)
		enter := wf(`{"type": "segment_in", "segment_id": "` + segment + `"}`)
		form := wf(`{"type": "form", "form_id": "frm_signup"}`)
		evt := wf(`{"type": "event", "event": "appointment_missed"}`)
		birthday := wf(`{"type": "date", "field": "birth_date", "at": "09:00"}`)
		manual := wf(`{"type": "manual"}`)

		j := e.contact("joiner@patients.example", contactOpts{})
		if err := e.a.Contacts.SetMembers(e.ctx, e.sys, joiners, []string{j}, contact.MemberSubscribed); err != nil {
			t.Fatal(err)
		}
		// A contact entering the segment (add_to_segment's path, AddStatic).
		s := e.contact("enters@patients.example", contactOpts{})
		err := e.a.DB.Tx(e.ctx, func(tx *store.Tx) error { return e.a.Segments.AddStatic(e.ctx, tx, e.org, segment, []string{s}) })
		if err != nil {
			t.Fatal(err)
		}
		f := e.contact("form@patients.example", contactOpts{})
		if err := e.a.DB.Tx(e.ctx, func(tx *store.Tx) error { return e.a.Workflows.FormSubmitted(e.ctx, tx, e.org, "frm_signup", f) }); err != nil {
			t.Fatal(err)
		}
		ev := e.contact("event@patients.example", contactOpts{})
		if _, err := e.a.Contacts.RecordEvent(e.ctx, e.sys, ev, "appointment_missed", time.Time{}, nil); err != nil {
			t.Fatal(err)
		}
		// Birthday on 6 March; the clock is 5 March, 15:00 UTC. In New York
		// the milestone is 9:00 EST on the 6th (14:00 UTC).
		b := e.contact("birthday@patients.example", contactOpts{tz: "America/New_York", fields: map[string]any{"birth_date": "1980-03-06"}})
		notYet := e.contact("later@patients.example", contactOpts{tz: "America/New_York", fields: map[string]any{"birth_date": "1980-03-07"}})
		if n, err := e.a.Workflows.RunMilestones(e.ctx); err != nil || n != 0 {
			t.Fatalf("milestones the day before: %d %v", n, err)
		}
		e.clock.Set(time.Date(2025, 3, 6, 14, 0, 0, 0, time.UTC))
		if n, err := e.a.Workflows.RunMilestones(e.ctx); err != nil || n != 1 {
			t.Fatalf("milestones on the birthday: %d %v", n, err)
		}
		if n, _ := e.a.Workflows.RunMilestones(e.ctx); n != 0 {
			t.Fatal("the birthday enrolled twice in one year")
		}
		mn := e.contact("manual@patients.example", contactOpts{})
		e.enrol(manual, mn)
		e.run()

		want := map[string][]string{all: {m1, m2}, segAll: {m2}, join: {j}, enter: {s}, form: {f}, evt: {ev}, birthday: {b}, manual: {mn}}
		for wid, ids := range want {
			rs, err := e.a.Workflows.Runs(e.ctx, e.wf, wid, workflow.RunQuery{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, r := range rs {
				got[r.ContactID] = true
				if r.State != workflow.RunCompleted {
					t.Errorf("workflow %s: run of %s is %s", wid, r.ContactID, r.State)
				}
			}
			if len(got) != len(ids) {
				t.Errorf("workflow %s enrolled %v, want %v", wid, got, ids)
			}
			for _, id := range ids {
				if !got[id] {
					t.Errorf("workflow %s did not enrol %s", wid, id)
				}
			}
		}
		if e.sent(gone) != 0 || e.sent(notYet) != 0 {
			t.Fatal("an unsubscribed list member or a later birthday was sent to")
		}
		// Next year's birthday enrols again (one occurrence per year).
		e.clock.Set(time.Date(2026, 3, 6, 14, 30, 0, 0, time.UTC))
		if n, err := e.a.Workflows.RunMilestones(e.ctx); err != nil || n != 1 {
			t.Fatalf("next year's birthday: %d %v", n, err)
		}
	})
}

// TestNewVersionLeavesContactsInFlightOnTheirVersion: a contact waiting in
// version 1 finishes version 1's path after version 2 is published; a new
// contact takes version 2.
func TestNewVersionLeavesContactsInFlightOnTheirVersion(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	v1mail := e.template("V1", "Version one", `<p>One</p>`)
	v2mail := e.template("V2", "Version two", `<p>Two</p>`)
	doc := `{"name": "Versions", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
		"steps": [{"id": "pause", "type": "wait", "duration": "1d"}, {"id": "mail", "type": "send", "template_id": %q}]}`
	wid := e.workflow(doc, v1mail)
	early := e.contact("early@patients.example", contactOpts{})
	e.enrol(wid, early)
	e.run()
	if _, err := e.a.Workflows.Publish(e.ctx, e.wf, wid, define(t, doc, v2mail), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Workflows.Publish(e.ctx, e.wf, wid, define(t, doc, v2mail), 1); !errors.Is(err, workflow.ErrStale) {
		t.Fatalf("an edit of a stale version: %v", err)
	}
	late := e.contact("late@patients.example", contactOpts{})
	e.enrol(wid, late)
	e.clock.Advance(25 * time.Hour)
	e.run()
	if v := e.runOf(wid, early).Version; v != 1 {
		t.Fatalf("the contact in flight moved to version %d", v)
	}
	if v := e.runOf(wid, late).Version; v != 2 {
		t.Fatalf("the new contact entered version %d", v)
	}
	subjects := map[string]string{}
	rows, err := e.a.DB.Reader().Query(e.ctx, `SELECT metadata, content, id FROM messages WHERE org_id = ?`, e.org)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var meta, id string
		var content []byte
		if err := rows.Scan(&meta, &content, &id); err != nil {
			t.Fatal(err)
		}
		raw, err := outbox.OpenContent(e.ctx, e.a.Keys, e.a.DB.Reader(), e.org, id, content)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{early, late} {
			if containsStr(meta, c) {
				subjects[c] = string(raw)
			}
		}
	}
	if !containsStr(subjects[early], "Subject: Version one") || !containsStr(subjects[late], "Subject: Version two") {
		t.Fatal("the contacts did not get their versions' templates")
	}
}
