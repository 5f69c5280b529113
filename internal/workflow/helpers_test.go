package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
	"github.com/carepost/carepost/internal/workflow"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// env is a real carepost core (store, keyring, audit, contacts, outbox,
// policy, events) on one driver with a fake clock, an organization with a
// verified sender domain, and the engine run by hand (RunDue) instead of
// by the job client.
type env struct {
	t     testing.TB
	a     *app.App
	org   string
	clock *clock
	ctx   context.Context
	tpl   *template.Service
	wf    workflow.Actor
	sys   contact.Actor
	cfg   *config.Config
}

// start is Wednesday 5 March 2025, 15:00 UTC: the Thursday after is in
// Central Standard Time, the Thursday after that (13 March) in Central
// Daylight Time (the change is on Sunday 9 March).
var start = time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)

func setup(t testing.TB, d store.Driver) *env {
	return setupWith(t, d, nil)
}

func setupWith(t testing.TB, d store.Driver, edit func(*config.Config)) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Demo.Enabled = true // sender domains verify themselves; nothing is delivered
	if edit != nil {
		edit(cfg)
	}
	cfg.Resolve()
	c := clocktest.New(start)
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	org, _, _, err := a.Auth.Bootstrap(ctx, "Clinic", "owner@clinic.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Domains.Add(ctx, senderdomain.System(org.ID, "test"), "clinic.example"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, a: a, org: org.ID, clock: c, ctx: ctx, wf: workflow.System(org.ID), sys: contact.System(org.ID, "test"), cfg: cfg,
		tpl: template.New(template.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit}, template.Options{Clock: c.Now})}
	for _, f := range []contact.FieldInput{
		{Key: "condition", Label: "Condition", Type: contact.TypeText, PHI: ptr(true)},
		{Key: "program", Label: "Program", Type: contact.TypeText, PHI: ptr(false)},
		{Key: "age", Label: "Age", Type: contact.TypeNumber, PHI: ptr(false)},
		{Key: "birth_date", Label: "Birth date", Type: contact.TypeDate, PHI: ptr(true)},
		{Key: "appointment_at", Label: "Appointment", Type: contact.TypeDate, PHI: ptr(false)},
	} {
		if _, err := a.Contacts.CreateField(ctx, e.sys, f); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// node opens another carepost node on the same database, key file and
// fake clock (PostgreSQL: several nodes share one database).
func (e *env) node() *app.App {
	e.t.Helper()
	a, err := app.Open(e.ctx, e.cfg, slog.New(slog.DiscardHandler), app.Options{Clock: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { a.Close() })
	return a
}

func ptr[T any](v T) *T { return &v }

// contactOpts shape a test contact.
type contactOpts struct {
	tz        string
	noConsent bool
	fields    map[string]any
}

// contact creates a subscribed contact with a valid authorization.
func (e *env) contact(email string, o contactOpts) string {
	e.t.Helper()
	in := contact.Input{Email: ptr(email), FirstName: ptr("Pat"), Fields: o.fields}
	if o.tz != "" {
		in.Timezone = ptr(o.tz)
	}
	v, err := e.a.Contacts.Create(e.ctx, e.sys, in)
	if err != nil {
		e.t.Fatal(err)
	}
	if !o.noConsent {
		if _, err := e.a.Contacts.Grant(e.ctx, e.sys, v.ID, contact.Authorization{Method: contact.Electronic, TextVersion: "v1",
			Text: "I agree to receive health program mail.", Source: "api", ExpiresAt: start.AddDate(2, 0, 0)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return v.ID
}

// template stores a template and returns its id.
// programContacts creates n contacts p0000000@patients.example … with the
// program field program(i), a thousand at a time, subscribed to list, and
// returns their ids in order.
func (e *env) programContacts(list string, n int, program func(i int) string) []string {
	e.t.Helper()
	ids := make([]string, 0, n)
	for off := 0; off < n; off += 1000 {
		ins := make([]contact.Input, 0, 1000)
		for i := off; i < min(off+1000, n); i++ {
			ins = append(ins, contact.Input{Email: ptr(fmt.Sprintf("p%07d@patients.example", i)), FirstName: ptr("Pat"),
				Fields: map[string]any{"program": program(i)}})
		}
		out, err := e.a.Contacts.BulkUpsert(e.ctx, e.sys, ins)
		if err != nil {
			e.t.Fatal(err)
		}
		page := make([]string, 0, len(out))
		for _, o := range out {
			page = append(page, o.ID)
		}
		if err := e.a.Contacts.SetMembers(e.ctx, e.sys, list, page, contact.MemberSubscribed); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, page...)
	}
	return ids
}

func (e *env) template(name, subject, html string) string {
	e.t.Helper()
	tp, err := e.tpl.Create(e.ctx, audit.Actor{Type: audit.ActorSystem, ID: "test"}, e.org, name, template.Source{Subject: subject, HTML: html})
	if err != nil {
		e.t.Fatal(err)
	}
	return tp.ID
}

func (e *env) list(name string) string {
	e.t.Helper()
	l, err := e.a.Contacts.CreateList(e.ctx, e.sys, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return l.ID
}

// define parses a JSON definition with %s placeholders filled.
func define(t testing.TB, doc string, args ...any) *workflow.Definition {
	t.Helper()
	d, err := workflow.ParseDefinition([]byte(fmt.Sprintf(doc, args...)))
	if err != nil {
		t.Fatalf("parse definition: %v", err)
	}
	return d
}

// workflow creates and activates a workflow.
func (e *env) workflow(doc string, args ...any) string {
	e.t.Helper()
	w, err := e.a.Workflows.Create(e.ctx, e.wf, define(e.t, doc, args...))
	if err != nil {
		e.t.Fatalf("create workflow: %v", err)
	}
	if _, err := e.a.Workflows.Activate(e.ctx, e.wf, w.ID); err != nil {
		e.t.Fatalf("activate: %v", err)
	}
	return w.ID
}

func (e *env) enrol(wid, cid string) workflow.Run {
	e.t.Helper()
	r, err := e.a.Workflows.Enrol(e.ctx, e.wf, wid, cid)
	if err != nil {
		e.t.Fatalf("enrol: %v", err)
	}
	return r
}

// run executes every due step.
func (e *env) run() int {
	e.t.Helper()
	n, err := e.a.Workflows.RunDue(e.ctx)
	if err != nil {
		e.t.Fatalf("run due: %v", err)
	}
	return n
}

// runOf is a contact's run of a workflow.
func (e *env) runOf(wid, cid string) workflow.Run {
	e.t.Helper()
	rs, err := e.a.Workflows.Runs(e.ctx, e.wf, wid, workflow.RunQuery{ContactID: cid})
	if err != nil || len(rs) != 1 {
		e.t.Fatalf("runs of %s in %s: %v %d", cid, wid, err, len(rs))
	}
	return rs[0]
}

// path is a run's steps as "id:outcome" (the current step as "id:").
func (e *env) path(runID string) string {
	e.t.Helper()
	_, steps, err := e.a.Workflows.Path(e.ctx, e.wf, runID)
	if err != nil {
		e.t.Fatal(err)
	}
	var parts []string
	for _, s := range steps {
		parts = append(parts, s.StepID+":"+s.Outcome)
	}
	return strings.Join(parts, " ")
}

// sent counts the messages the organization's workflows queued for a
// contact (through the outbox: rows in messages).
func (e *env) sent(cid string) int {
	e.t.Helper()
	rows, err := e.a.DB.Reader().Query(e.ctx, `SELECT metadata FROM messages WHERE org_id = ? AND source = 'workflow'`, e.org)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var meta string
		if err := rows.Scan(&meta); err != nil {
			e.t.Fatal(err)
		}
		var m map[string]string
		_ = json.Unmarshal([]byte(meta), &m)
		if cid == "" || m["contact_id"] == cid {
			n++
		}
	}
	return n
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := store.Scan(e.a.DB.Reader().QueryRow(e.ctx, query, args...), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// report is a workflow's step counts by step id.
func (e *env) report(wid string) map[string]workflow.StepReport {
	e.t.Helper()
	rep, err := e.a.Workflows.Report(e.ctx, e.wf, wid)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]workflow.StepReport{}
	for _, s := range rep.Steps {
		out[s.StepID] = s
	}
	return out
}

var pixel = regexp.MustCompile(`/t/o/([A-Za-z0-9_-]+)\.gif`)
var click = regexp.MustCompile(`/t/c/([A-Za-z0-9_-]+)`)

// tokens reads the open and first click token from a message the
// workflow sent to the contact (opening its sealed content).
func (e *env) tokens(cid string) (open, clk string) {
	e.t.Helper()
	q := e.a.DB.Reader()
	rows, err := q.Query(e.ctx, `SELECT id, content, metadata FROM messages WHERE org_id = ? AND source = 'workflow' ORDER BY created_at`, e.org)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, meta string
		var content []byte
		if err := rows.Scan(&id, &content, &meta); err != nil {
			e.t.Fatal(err)
		}
		if !strings.Contains(meta, cid) {
			continue
		}
		raw, err := outbox.OpenContent(e.ctx, e.a.Keys, q, e.org, id, content)
		if err != nil {
			e.t.Fatal(err)
		}
		body := strings.ReplaceAll(strings.ReplaceAll(string(raw), "=\r\n", ""), "=3D", "=")
		if m := pixel.FindStringSubmatch(body); m != nil {
			open = m[1]
		}
		if m := click.FindStringSubmatch(body); m != nil {
			clk = m[1]
		}
		return open, clk
	}
	e.t.Fatalf("no workflow message to %s", cid)
	return "", ""
}

// tracker is a tracking service on the same core, as the HTTP handlers of
// /t/o and /t/c would use it.
func (e *env) tracker() *tracking.Service {
	e.t.Helper()
	tr, err := tracking.New(tracking.Deps{DB: e.a.DB, Keys: e.a.Keys, Blobs: e.a.Blobs, Events: e.a.Events},
		tracking.Options{BaseURL: e.a.Config.HTTP.PublicURL, Clock: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
}

func contactInput(fields map[string]any) contact.Input { return contact.Input{Fields: fields} }

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }
