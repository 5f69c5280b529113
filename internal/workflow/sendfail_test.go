package workflow_test

import (
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workflow"
)

// TestSendThatDoesNotRenderExitsOnlyThatContact: the batch's messages are
// composed beside the engine, which goes on expecting them; one contact's
// template failing (len of a field it does not have) must leave that
// contact at the send step, with no message, and the other contacts of the
// same batch sent and moved on, as the in-line engine does.
func TestSendThatDoesNotRenderExitsOnlyThatContact(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Program", "Your program", `<p>Your program has {{ len .Contact.Fields.program }} letters.</p>`)
		wid := e.workflow(`{"name": "Programs", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [
			  {"id": "mail", "type": "send", "template_id": %q},
			  {"id": "done", "type": "end"}]}`, tpl)
		first := e.contact("first@patients.example", contactOpts{fields: map[string]any{"program": "diabetes"}})
		none := e.contact("none@patients.example", contactOpts{})
		last := e.contact("last@patients.example", contactOpts{fields: map[string]any{"program": "cardio"}})
		runs := map[string]workflow.Run{}
		for _, c := range []string{first, none, last} {
			runs[c] = e.enrol(wid, c)
		}
		e.run()
		for c, want := range map[string]int{first: 1, none: 0, last: 1} {
			if got := e.sent(c); got != want {
				t.Fatalf("contact %s: %d messages, want %d", c, got, want)
			}
		}
		if r := e.runOf(wid, none); r.State != workflow.RunExited || r.Outcome != workflow.OutcomeSendFailed {
			t.Fatalf("the contact whose message did not render: %s %s", r.State, r.Outcome)
		}
		if got := e.path(runs[none].ID); got != "mail:exited" {
			t.Fatalf("path of the contact whose message did not render: %s", got)
		}
		for _, c := range []string{first, last} {
			if r := e.runOf(wid, c); r.State != workflow.RunCompleted {
				t.Fatalf("contact %s: %s %s", c, r.State, r.Outcome)
			}
			if got := e.path(runs[c].ID); got != "mail:sent done:end" {
				t.Fatalf("path of %s: %s", c, got)
			}
		}
		if rep := e.report(wid); rep["mail"].Sends != 2 {
			t.Fatalf("sends counted at the step: %d, want 2", rep["mail"].Sends)
		}
	})
}
