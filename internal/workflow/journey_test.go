package workflow_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workflow"
)

const journey = `{
  "name": "Diabetes check-up",
  "sender": {"name": "Riverside Clinic", "address": "care@clinic.example"},
  "reply_to": "frontdesk@clinic.example",
  "priority": 5,
  "trigger": {"type": "manual"},
  "steps": [
    {"id": "welcome", "type": "send", "template_id": %q},
    {"id": "pause", "type": "wait", "duration": "2d"},
    {"id": "route", "type": "branch",
     "branches": [{"if": {"field": "program", "op": "eq", "value": "diabetes"}, "next": "reminder"}],
     "fallback": "done"},
    {"id": "reminder", "type": "send", "template_id": %q},
    {"id": "tag", "type": "add_to_segment", "segment_id": %q},
    {"id": "done", "type": "end"}
  ]
}`

// TestJourneySendWaitBranchSendSegmentEnd takes two contacts through the
// benchmark's six steps: both get the welcome, wait two days on the fake
// clock, and the branch sends one on (the diabetes program) to the
// reminder and the segment while the other falls back to the end. Counts,
// paths and messages are what a marketer would check.
func TestJourneySendWaitBranchSendSegmentEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		welcome := e.template("Welcome", "Welcome to the program", `<p>Hello {{ .Contact.FirstName }}</p>`)
		reminder := e.template("Reminder", "Time for your check-up", `<p>Book at <a href="https://clinic.example/book">our site</a></p>`)
		seg := e.segment("Engaged in diabetes program", segment.Static, "")
		wid := e.workflow(journey, welcome, reminder, seg)
		in := e.contact("in@patients.example", contactOpts{fields: map[string]any{"program": "diabetes"}})
		out := e.contact("out@patients.example", contactOpts{fields: map[string]any{"program": "asthma"}})
		rin, rout := e.enrol(wid, in), e.enrol(wid, out)

		e.run()
		if e.sent(in) != 1 || e.sent(out) != 1 {
			t.Fatalf("after enrolment: sent %d and %d welcomes, want 1 each", e.sent(in), e.sent(out))
		}
		rep := e.report(wid)
		if rep["welcome"].Sends != 2 || rep["pause"].Current != 2 || rep["welcome"].Current != 0 || rep["welcome"].Entered != 2 {
			t.Fatalf("report while waiting: %+v", rep)
		}
		// Nothing moves before the two days are up.
		e.clock.Advance(47 * time.Hour)
		e.run()
		if got := e.runOf(wid, in); got.State != workflow.RunWaiting || got.StepID != "pause" {
			t.Fatalf("before two days: %s at %s", got.State, got.StepID)
		}
		e.clock.Advance(time.Hour)
		e.run()
		if e.sent(in) != 2 || e.sent(out) != 1 {
			t.Fatalf("after the wait: %d and %d messages, want 2 and 1", e.sent(in), e.sent(out))
		}
		if got := e.path(rin.ID); got != "welcome:sent pause:waited route:branch reminder:sent tag:added done:end" {
			t.Fatalf("path of the contact in the program: %s", got)
		}
		if got := e.path(rout.ID); got != "welcome:sent pause:waited route:fallback done:end" {
			t.Fatalf("path of the other contact: %s", got)
		}
		for _, c := range []string{in, out} {
			if r := e.runOf(wid, c); r.State != workflow.RunCompleted || r.Outcome != workflow.OutcomeCompleted {
				t.Fatalf("run of %s: %s %s", c, r.State, r.Outcome)
			}
		}
		if mem := e.members(seg); len(mem) != 1 || mem[0] != in {
			t.Fatalf("segment members: %v", mem)
		}
		rep = e.report(wid)
		want := map[string]workflow.StepReport{
			"welcome":  {Entered: 2, Sends: 2},
			"pause":    {Entered: 2},
			"route":    {Entered: 2},
			"reminder": {Entered: 1, Sends: 1},
			"tag":      {Entered: 1},
			"done":     {Entered: 2, Completed: 2},
		}
		for id, w := range want {
			g := rep[id]
			if g.Current != 0 || g.Entered != w.Entered || g.Sends != w.Sends || g.Completed != w.Completed || g.Dropoffs != 0 {
				t.Errorf("step %s: %+v, want %+v", id, g, w)
			}
		}
		// History carries times: the wait lasted two days.
		_, steps, err := e.a.Workflows.Path(e.ctx, e.wf, rin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := steps[1].LeftAt.Sub(steps[1].EnteredAt); d != 48*time.Hour {
			t.Fatalf("the wait step took %v, want 48h", d)
		}
	})
}

// TestConsentAndSuppressionAreCheckedAtEverySend: a contact whose
// authorization is revoked while waiting, and one who unsubscribes, leave
// at the second send; the drop-offs are counted there.
func TestConsentAndSuppressionAreCheckedAtEverySend(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	welcome := e.template("Welcome", "Welcome", `<p>Hello</p>`)
	reminder := e.template("Reminder", "Reminder", `<p>Again</p>`)
	seg := e.segment("Tagged", segment.Static, "")
	wid := e.workflow(journey, welcome, reminder, seg)
	fields := map[string]any{"program": "diabetes"}
	revoked := e.contact("revoked@patients.example", contactOpts{fields: fields})
	quit := e.contact("quit@patients.example", contactOpts{fields: fields})
	stays := e.contact("stays@patients.example", contactOpts{fields: fields})
	never := e.contact("never@patients.example", contactOpts{fields: fields, noConsent: true})
	for _, c := range []string{revoked, quit, stays, never} {
		e.enrol(wid, c)
	}
	e.run()
	if e.sent(never) != 0 || e.runOf(wid, never).Outcome != workflow.OutcomeNoConsent {
		t.Fatalf("a contact without authorization was sent to (%d) or not exited: %+v", e.sent(never), e.runOf(wid, never))
	}
	auths, err := e.a.Contacts.Authorizations(e.ctx, e.sys, revoked)
	if err != nil || len(auths) != 1 {
		t.Fatal(err)
	}
	if _, err := e.a.Contacts.Revoke(e.ctx, e.sys, auths[0].ID, time.Time{}, "api"); err != nil {
		t.Fatal(err)
	}
	unsub := contact.Unsubscribed
	if _, err := e.a.Contacts.Update(e.ctx, e.sys, quit, contact.Input{Status: &unsub}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(49 * time.Hour)
	e.run()
	if e.sent(revoked) != 1 || e.sent(quit) != 1 || e.sent(stays) != 2 {
		t.Fatalf("messages: revoked %d, unsubscribed %d, stays %d; want 1, 1, 2", e.sent(revoked), e.sent(quit), e.sent(stays))
	}
	if r := e.runOf(wid, revoked); r.State != workflow.RunExited || r.Outcome != workflow.OutcomeNoConsent || r.StepID != "reminder" {
		t.Fatalf("revoked: %+v", r)
	}
	if r := e.runOf(wid, quit); r.State != workflow.RunExited || r.Outcome != workflow.OutcomeUnsubscribed {
		t.Fatalf("unsubscribed: %+v", r)
	}
	rep := e.report(wid)
	if rep["reminder"].Dropoffs != 2 || rep["welcome"].Dropoffs != 1 || rep["reminder"].Sends != 1 {
		t.Fatalf("drop-offs: welcome %+v reminder %+v", rep["welcome"], rep["reminder"])
	}
}

// TestWorkflowTrackingOnlyForOrdinaryEmail: a send step's message to a
// recipient policy sends by verified TLS carries the open pixel and click
// redirects; the same step's message to an always-portal domain
// (gmail.com) goes to the portal with its links as written and no pixel.
func TestWorkflowTrackingOnlyForOrdinaryEmail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Book", "Time to book", `<p>Book at <a href="https://clinic.example/book">our site</a></p>`)
		wid := e.workflow(`{"name": "Book", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [{"id": "mail", "type": "send", "template_id": %q}]}`, tpl)
		tls := e.contact("ada@patients.example", contactOpts{})
		portal := e.contact("ben@gmail.com", contactOpts{})
		e.enrol(wid, tls)
		e.enrol(wid, portal)
		e.run()
		if open, clk := e.tokens(tls); open == "" || clk == "" {
			t.Fatalf("the TLS message is not tracked: pixel %q, click %q", open, clk)
		}
		if open, clk := e.tokens(portal); open != "" || clk != "" {
			t.Fatalf("the portal message is tracked: pixel %q, click %q", open, clk)
		}
		var msg, state string
		if err := store.Scan(e.a.DB.Reader().QueryRow(e.ctx, `SELECT m.id, r.state FROM messages m JOIN recipients r ON r.message_id = m.id
			WHERE m.org_id = ? AND m.metadata LIKE ?`, e.org, "%"+portal+"%"), &msg, &state); err != nil {
			t.Fatal(err)
		}
		if state != outbox.StatePortal {
			t.Fatalf("the gmail.com recipient is %s, want portal", state)
		}
		if r := e.runOf(wid, portal); r.State != workflow.RunCompleted {
			t.Fatalf("the portal contact's run is %s", r.State)
		}
	})
}

// TestALargeBatchReadsEveryContact: a batch of hundreds of runs reads its
// contacts in parts side by side; every contact is still found (none
// leaves as deleted) and routed on its own fields.
func TestALargeBatchReadsEveryContact(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		reminder := e.template("Reminder", "Time for your check-up", `<p>Hello {{ .Contact.FirstName }}</p>`)
		audience := e.list("Audience")
		const n = 450
		ids := e.programContacts(audience, n, func(i int) string {
			if i%3 == 0 {
				return "diabetes"
			}
			return "asthma"
		})
		wid := e.workflow(`{"name": "Large", "sender": {"address": "care@clinic.example"}, "require_consent": false,
			"trigger": {"type": "list", "list_id": %q},
			"steps": [
			  {"id": "route", "type": "branch", "branches": [{"if": {"field": "program", "op": "eq", "value": "diabetes"}, "next": "reminder"}], "fallback": "done"},
			  {"id": "reminder", "type": "send", "template_id": %q},
			  {"id": "done", "type": "end"}]}`, audience, reminder)
		if got, err := e.a.Workflows.RunEnrolment(e.ctx, e.org, wid, "list:"+audience); err != nil || got != n {
			t.Fatalf("enrolled %d of %d: %v", got, n, err)
		}
		e.run()
		rep := e.report(wid)
		if rep["route"].Entered != n || rep["reminder"].Sends != n/3 || rep["done"].Completed != n {
			t.Fatalf("report: route %+v, reminder %+v, done %+v; want %d through, %d sends", rep["route"], rep["reminder"], rep["done"], n, n/3)
		}
		if got := e.sent(""); got != n/3 {
			t.Fatalf("%d messages, want %d", got, n/3)
		}
		for i, cid := range ids {
			if r := e.runOf(wid, cid); r.State != workflow.RunCompleted || r.Outcome != workflow.OutcomeCompleted {
				t.Fatalf("contact %d: run %s %s, want completed", i, r.State, r.Outcome)
			}
		}
	})
}
