package workflow_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/tracking"
	"github.com/carepost/carepost/internal/workflow"
)

// TestThursdayNoonWindowAcrossDST: "Thursdays, noon to 2 PM Central" is
// noon Central on the wall clock on both sides of the change to daylight
// time (Sunday 9 March 2025): 18:00 UTC on 6 March, 17:00 UTC on 13 March.
func TestThursdayNoonWindowAcrossDST(t *testing.T) {
	t.Parallel()
	w := workflow.Window{Days: []string{"thu"}, From: "12:00", To: "14:00", Timezone: "America/Chicago"}
	cases := []struct {
		name     string
		from     time.Time
		want     time.Time
		contains bool
	}{
		{"Wednesday, standard time", time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC), time.Date(2025, 3, 6, 18, 0, 0, 0, time.UTC), false},
		{"inside the window", time.Date(2025, 3, 6, 19, 30, 0, 0, time.UTC), time.Date(2025, 3, 6, 19, 30, 0, 0, time.UTC), true},
		{"just after the window, across the change", time.Date(2025, 3, 6, 20, 0, 0, 0, time.UTC), time.Date(2025, 3, 13, 17, 0, 0, 0, time.UTC), false},
		{"Friday before the change", time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC), time.Date(2025, 3, 13, 17, 0, 0, 0, time.UTC), false},
		{"back to standard time in November", time.Date(2025, 10, 31, 12, 0, 0, 0, time.UTC), time.Date(2025, 11, 6, 18, 0, 0, 0, time.UTC), false},
	}
	for _, c := range cases {
		got, ok := w.Next(c.from, "")
		if !ok || !got.Equal(c.want) {
			t.Errorf("%s: next opening %v, want %v", c.name, got, c.want)
		}
		if local := got.In(time.FixedZone("", 0)); c.contains != got.Equal(c.from) {
			t.Errorf("%s: %v", c.name, local)
		}
	}
	// Days of the month, in the contact's own timezone, combined.
	m := workflow.Window{Days: []string{"mon"}, MonthDays: []int{1, 15}, From: "09:00", To: "10:00", Timezone: workflow.ContactTimezone}
	got, ok := m.Next(time.Date(2025, 9, 2, 0, 0, 0, 0, time.UTC), "Asia/Tokyo")
	if want := time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC); !ok || !got.Equal(want) { // 09:00 JST, Monday 15 September
		t.Errorf("month day and weekday in the contact's zone: %v, want %v", got, want)
	}
}

// TestWaitWindowInTheEngine runs contacts through a wait of one day then
// the Thursday window, on the fake clock, across the DST change: the
// contact enrolled on Friday 7 March is released at 17:00 UTC on the 13th
// and not a minute before.
func TestWaitWindowInTheEngine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(`{"name": "Window", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [
			  {"id": "hold", "type": "wait", "duration": "1d", "window": {"days": ["thu"], "from": "12:00", "to": "14:00", "timezone": "America/Chicago"}},
			  {"id": "mail", "type": "send", "template_id": %q}]}`, tpl)
		e.clock.Set(time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC))
		c := e.contact("window@patients.example", contactOpts{})
		e.enrol(wid, c)
		e.run()
		e.clock.Set(time.Date(2025, 3, 13, 16, 59, 0, 0, time.UTC)) // 11:59 CDT
		e.run()
		if e.sent(c) != 0 {
			t.Fatal("sent before noon Central")
		}
		e.clock.Set(time.Date(2025, 3, 13, 17, 0, 0, 0, time.UTC)) // noon CDT
		e.run()
		if e.sent(c) != 1 {
			t.Fatal("not sent at noon Central on the Thursday after the DST change")
		}
	})
}

// TestWaitRelativeToAContactDate: two days before appointment_at; a
// contact without the field goes on at once.
func TestWaitRelativeToAContactDate(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	tpl := e.template("Reminder", "Your appointment", `<p>See you soon</p>`)
	wid := e.workflow(`{"name": "Appointment", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
		"steps": [{"id": "before", "type": "wait", "relative_to": {"field": "appointment_at", "offset": "-2d"}},
		          {"id": "mail", "type": "send", "template_id": %q}]}`, tpl)
	booked := e.contact("booked@patients.example", contactOpts{fields: map[string]any{"appointment_at": "2025-03-20"}})
	unknown := e.contact("unknown@patients.example", contactOpts{})
	e.enrol(wid, booked)
	e.enrol(wid, unknown)
	e.run()
	if e.sent(booked) != 0 || e.sent(unknown) != 1 {
		t.Fatalf("at once: booked %d, without the field %d", e.sent(booked), e.sent(unknown))
	}
	e.clock.Set(time.Date(2025, 3, 17, 23, 59, 0, 0, time.UTC))
	e.run()
	if e.sent(booked) != 0 {
		t.Fatal("sent before two days ahead of the appointment")
	}
	e.clock.Set(time.Date(2025, 3, 18, 0, 0, 0, 0, time.UTC))
	e.run()
	if e.sent(booked) != 1 {
		t.Fatal("not sent two days before the appointment")
	}
}

// TestWaitForACustomEventWithAndWithoutTimeout: one workflow waits for
// "appointment_booked" with a three-day timeout and a timeout path, one
// without a timeout. The event posted through the contact service wakes
// the waiting runs through the wait index; the timeout sends the other
// contact down the timeout path; the wait without a timeout holds.
func TestWaitForACustomEventWithAndWithoutTimeout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		thanks := e.template("Thanks", "Thanks for booking", `<p>Thanks</p>`)
		nudge := e.template("Nudge", "Please book", `<p>Please book</p>`)
		timed := e.workflow(`{"name": "Timed", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [
			  {"id": "booked", "type": "wait_event", "event": {"type": "custom", "name": "appointment_booked"}, "timeout": "3d", "timeout_next": "nudge", "next": "thanks"},
			  {"id": "thanks", "type": "send", "template_id": %q, "next": "end"},
			  {"id": "nudge", "type": "send", "template_id": %q},
			  {"id": "end", "type": "end"}]}`, thanks, nudge)
		forever := e.workflow(`{"name": "Forever", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [
			  {"id": "booked", "type": "wait_event", "event": {"type": "custom", "name": "appointment_booked"}},
			  {"id": "thanks", "type": "send", "template_id": %q}]}`, thanks)
		books := e.contact("books@patients.example", contactOpts{})
		silent := e.contact("silent@patients.example", contactOpts{})
		for _, c := range []string{books, silent} {
			e.enrol(timed, c)
			e.enrol(forever, c)
		}
		e.run()
		e.clock.Advance(24 * time.Hour)
		e.run()
		if e.sent("") != 0 {
			t.Fatal("sent before any event or timeout")
		}
		// An event of another name wakes nobody.
		if _, err := e.a.Contacts.RecordEvent(e.ctx, e.sys, books, "portal_login", time.Time{}, nil); err != nil {
			t.Fatal(err)
		}
		e.run()
		if e.sent(books) != 0 {
			t.Fatal("another event released the wait")
		}
		if _, err := e.a.Contacts.RecordEvent(e.ctx, e.sys, books, "appointment_booked", time.Time{}, map[string]any{"clinic": "north"}); err != nil {
			t.Fatal(err)
		}
		e.run()
		if e.sent(books) != 2 {
			t.Fatalf("the event released %d of the 2 waits", e.sent(books))
		}
		if got := e.path(e.runOf(timed, books).ID); got != "booked:event thanks:sent end:end" {
			t.Fatalf("path after the event: %s", got)
		}
		e.clock.Advance(2*24*time.Hour + time.Minute)
		e.run()
		if got := e.path(e.runOf(timed, silent).ID); got != "booked:timeout nudge:sent end:end" {
			t.Fatalf("path after the timeout: %s", got)
		}
		if r := e.runOf(forever, silent); r.State != workflow.RunWaiting || r.StepID != "booked" {
			t.Fatalf("the wait without a timeout moved: %+v", r)
		}
		e.clock.Advance(365 * 24 * time.Hour)
		e.run()
		if e.runOf(forever, silent).State != workflow.RunWaiting || e.sent(silent) != 1 {
			t.Fatal("the wait without a timeout ended on its own")
		}
	})
}

// TestWaitForOpenAndClickOfAnEarlierEmail: the welcome carries the open
// pixel and a tracked link; an open from the pixel releases one workflow's
// wait for an open, a click another's wait for a click, and the report
// counts the open and the click on the send step. A machine open (a
// privacy proxy) releases nothing.
func TestWaitForOpenAndClickOfAnEarlierEmail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		welcome := e.template("Welcome", "Welcome", `<p>Read <a href="https://clinic.example/guide">the guide</a></p>`)
		after := e.template("After", "Next steps", `<p>Next</p>`)
		wid := e.workflow(`{"name": "Engagement", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
			"steps": [
			  {"id": "welcome", "type": "send", "template_id": %q},
			  {"id": "opened", "type": "wait_event", "event": {"type": "open", "step": "welcome"}, "timeout": "7d", "timeout_next": "end"},
			  {"id": "clicked", "type": "wait_event", "event": {"type": "click", "step": "welcome"}, "timeout": "7d", "timeout_next": "end"},
			  {"id": "next", "type": "send", "template_id": %q},
			  {"id": "end", "type": "end"}]}`, welcome, after)
		c := e.contact("reader@patients.example", contactOpts{})
		run := e.enrol(wid, c)
		e.run()
		open, clk := e.tokens(c)
		if open == "" || clk == "" {
			t.Fatal("the welcome carries no tracking")
		}
		tr := e.tracker()
		e.clock.Advance(time.Hour)
		// Apple's privacy proxy fetches the pixel: not an open.
		if err := tr.Open(e.ctx, open, tracking.Client{IP: "17.58.1.1", UserAgent: "Mozilla/5.0"}); err != nil {
			t.Fatal(err)
		}
		e.run()
		if r := e.runOf(wid, c); r.StepID != "opened" {
			t.Fatalf("a machine open released the wait: %+v", r)
		}
		if err := tr.Open(e.ctx, open, tracking.Client{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (Windows NT 10.0)"}); err != nil {
			t.Fatal(err)
		}
		e.run()
		if r := e.runOf(wid, c); r.StepID != "clicked" || r.State != workflow.RunWaiting {
			t.Fatalf("after the open: %+v", r)
		}
		if _, err := tr.Click(e.ctx, clk, tracking.Client{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (Windows NT 10.0)"}); err != nil {
			t.Fatal(err)
		}
		e.run()
		if got := e.path(run.ID); got != "welcome:sent opened:event clicked:event next:sent end:end" {
			t.Fatalf("path: %s", got)
		}
		rep := e.report(wid)
		if rep["welcome"].Opens != 1 || rep["welcome"].Clicks != 1 || rep["welcome"].Sends != 1 {
			t.Fatalf("engagement on the welcome step: %+v", rep["welcome"])
		}
	})
}

// TestWaitForAFilterAndAForm: a filter wait goes on as soon as an update
// of the contact's field makes it true (without waiting for the periodic
// re-check); a form wait when the forms seam reports a submission.
func TestWaitForAFilterAndAForm(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
	wid := e.workflow(`{"name": "Filter", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
		"steps": [
		  {"id": "adult", "type": "wait_event", "event": {"type": "filter", "filter": {"field": "age", "op": "ge", "value": 18}, "recheck": "6h"}},
		  {"id": "form", "type": "wait_event", "event": {"type": "form", "form_id": "frm_intake"}},
		  {"id": "mail", "type": "send", "template_id": %q}]}`, tpl)
	c := e.contact("teen@patients.example", contactOpts{fields: map[string]any{"age": 17.0}})
	e.enrol(wid, c)
	e.run()
	if r := e.runOf(wid, c); r.StepID != "adult" || r.State != workflow.RunWaiting {
		t.Fatalf("a false filter went on: %+v", r)
	}
	if _, err := e.a.Contacts.Update(e.ctx, e.sys, c, contactInput(map[string]any{"age": 18.0})); err != nil {
		t.Fatal(err)
	}
	e.run() // the update woke the wait: no need for the periodic re-check
	if r := e.runOf(wid, c); r.StepID != "form" {
		t.Fatalf("the update made the filter true but the contact waits at %s", r.StepID)
	}
	err := e.a.DB.Tx(e.ctx, func(tx *store.Tx) error { return e.a.Workflows.FormSubmitted(e.ctx, tx, e.org, "frm_intake", c) })
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	if e.sent(c) != 1 {
		t.Fatal("the form submission did not release the wait")
	}
}
