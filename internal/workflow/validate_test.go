package workflow_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/workflow"
)

// TestValidationNamesTheStep: each refused definition names the step and
// the member at fault, and nothing is stored.
func TestValidationNamesTheStep(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ok := e.template("Fine", "Your visit", `<p>Hello {{ .Contact.FirstName }}</p>`)
	// A template written against a field set in which "condition" was not
	// PHI; in this organization it is, so its subject fails the PHI lint.
	lax := template.New(template.Deps{DB: e.a.DB, Keys: e.a.Keys, Audit: e.a.Audit, Fields: template.StaticFields{"condition": false}},
		template.Options{Clock: e.clock.Now})
	leaky, err := lax.Create(e.ctx, audit.Actor{Type: audit.ActorSystem, ID: "test"}, e.org, "Leaky",
		template.Source{Subject: "About your {{ .Contact.Fields.condition }}", HTML: "<p>Hi</p>"})
	if err != nil {
		t.Fatal(err)
	}
	head := `{"name": "Bad", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"}, "steps": `
	cases := []struct {
		name, steps, field, msg string
	}{
		{"unknown target", `[{"id": "a", "type": "send", "template_id": "` + ok + `", "next": "nowhere"}]`, "steps[0].next", `step "a": unknown target "nowhere"`},
		{"unreachable step", `[{"id": "a", "type": "end"}, {"id": "island", "type": "end"}]`, "steps[1]", `step "island": unreachable`},
		{"branch without fallback", `[{"id": "route", "type": "branch", "branches": [{"if": {"field": "age", "op": "gt", "value": 40}, "next": "x"}]}, {"id": "x", "type": "end"}]`,
			"steps[0].fallback", `step "route": a branch needs a fallback`},
		{"template failing the PHI lint", `[{"id": "mail", "type": "send", "template_id": "` + leaky.ID + `"}]`, "steps[0].template_id", `step "mail": the template fails the PHI lint`},
		{"unknown template", `[{"id": "mail", "type": "send", "template_id": "tpl_nope"}]`, "steps[0].template_id", `step "mail": names no template`},
		{"timeout without a path", `[{"id": "w", "type": "wait_event", "event": {"type": "custom", "name": "x"}, "timeout": "1d"}]`, "steps[0].timeout_next", `step "w"`},
		{"open of a step that sends nothing", `[{"id": "w", "type": "wait_event", "event": {"type": "open", "step": "w"}}]`, "steps[0].event.step", `step "w"`},
		{"bad window", `[{"id": "w", "type": "wait", "window": {"days": ["someday"], "from": "12:00", "to": "14:00", "timezone": "America/Chicago"}}]`, "steps[0].window", `step "w"`},
		{"unknown field", `[{"id": "route", "type": "branch", "branches": [{"if": {"field": "shoe_size", "op": "gt", "value": 9}, "next": "x"}], "fallback": "x"}, {"id": "x", "type": "end"}]`,
			"steps[0].branches[0].if.field", `step "route"`},
		{"duplicate id", `[{"id": "a", "type": "end"}, {"id": "a", "type": "end"}]`, "steps[1].id", `step "a"`},
	}
	for _, c := range cases {
		_, err := e.a.Workflows.Create(e.ctx, e.wf, define(t, "%s", head+c.steps+"}"))
		var fes message.FieldErrors
		if !errors.As(err, &fes) {
			t.Errorf("%s: %v, want field errors", c.name, err)
			continue
		}
		found := false
		for _, fe := range fes {
			if fe.Field == c.field && strings.Contains(fe.Msg, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v, want %s: %s", c.name, fes, c.field, c.msg)
		}
		if strings.Contains(err.Error(), "@") {
			t.Errorf("%s: the error carries an address: %v", c.name, err)
		}
	}
	if list, err := e.a.Workflows.List(e.ctx, e.wf); err != nil || len(list) != 0 {
		t.Fatalf("refused definitions were stored: %v %d", err, len(list))
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"48h": 48 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"-2d": -48 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := workflow.ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "2x", "1.5d", "-", "d2h"} {
		if _, err := workflow.ParseDuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseDefinition: no input makes parsing or validation panic.
func FuzzParseDefinition(f *testing.F) {
	f.Add([]byte(`{"name":"x","sender":{"address":"a@b.example"},"trigger":{"type":"manual"},"steps":[{"id":"a","type":"end"}]}`))
	f.Add([]byte(`{"steps":[{"id":"w","type":"wait","duration":"1d","window":{"days":["thu"],"from":"12:00","to":"14:00","timezone":"America/Chicago"}}]}`))
	f.Add([]byte(`{"steps":[{"id":"b","type":"branch","branches":[{"if":{"all":[{"field":"age","op":"gt","value":4}]},"next":"b"}],"fallback":"b"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := workflow.ParseDefinition(data)
		if err != nil {
			return
		}
		for i := range d.Steps {
			if w := d.Steps[i].Window; w != nil {
				_, _ = w.Next(time.Unix(0, 0), "")
			}
		}
		_ = d.Encode()
	})
}
