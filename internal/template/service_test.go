package template_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/template"
)

type env struct {
	app        *app.App
	svc        *template.Service
	orgA, orgB string
	actor      audit.Actor
}

func setup(t *testing.T, d store.Driver) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	e := &env{app: a, svc: template.New(template.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Fields: template.StaticFields(fields)}, template.Options{})}
	for i, name := range []string{"Template Clinic A", "Template Clinic B"} {
		org, owner, _, err := a.Auth.Bootstrap(context.Background(), name, "owner@"+[]string{"a", "b"}[i]+".example", "Owner")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.orgA, e.actor = org.ID, audit.Actor{Type: audit.ActorUser, ID: owner.ID}
		} else {
			e.orgB = org.ID
		}
	}
	return e
}

func TestTemplateVersions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		v1 := template.Source{Subject: "Check-up time", HTML: `<p onclick="x()">Hi {{.Contact.FirstName | default "there"}}</p><script>bad()</script>`}
		tpl, err := e.svc.Create(ctx, e.actor, e.orgA, "Check-up reminder", v1)
		if err != nil {
			t.Fatal(err)
		}
		if tpl.Version != 1 || tpl.HTML != `<p>Hi {{.Contact.FirstName | default "there"}}</p>` || !tpl.TextGenerated ||
			tpl.Text != "Hi {{.Contact.FirstName | default \"there\"}}\n" {
			t.Fatalf("created %+v", tpl)
		}
		// An edit is a new version; the old one stays readable as it was.
		v2, err := e.svc.Update(ctx, e.actor, e.orgA, tpl.ID, "Check-up reminder (spring)", template.Source{Subject: "Spring check-up", HTML: "<p>New</p>", Text: "New text"}, 1)
		if err != nil || v2.Version != 2 || v2.TextGenerated {
			t.Fatalf("update: %+v %v", v2, err)
		}
		if _, err := e.svc.Update(ctx, e.actor, e.orgA, tpl.ID, "x", template.Source{Subject: "s", Text: "t"}, 1); !errors.Is(err, template.ErrStale) {
			t.Fatalf("edit of an old version: %v, want ErrStale", err)
		}
		old, err := e.svc.Get(ctx, e.orgA, tpl.ID, 1)
		if err != nil || old.Subject != "Check-up time" || old.CurrentVersion != 2 || old.Name != "Check-up reminder (spring)" {
			t.Fatalf("version 1: %+v %v", old, err)
		}
		cur, err := e.svc.Get(ctx, e.orgA, tpl.ID, 0)
		if err != nil || cur.Version != 2 || cur.Text != "New text" {
			t.Fatalf("current: %+v %v", cur, err)
		}
		vs, err := e.svc.Versions(ctx, e.orgA, tpl.ID)
		if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Actor != e.actor || !vs[1].TextGenerated {
			t.Fatalf("versions %+v %v", vs, err)
		}
		// A refused edit changes nothing.
		_, err = e.svc.Update(ctx, e.actor, e.orgA, tpl.ID, "x", template.Source{Subject: "Hi {{.Contact.FirstName}}", Text: "t"}, 2)
		var le *template.LintError
		if !errors.As(err, &le) || le.Problems[0].Part != "subject" || le.Problems[0].Field != "first_name" {
			t.Fatalf("PHI in the subject: %v", err)
		}
		if cur, _ := e.svc.Get(ctx, e.orgA, tpl.ID, 0); cur.Version != 2 {
			t.Fatalf("a refused edit made version %d", cur.Version)
		}
		// Another organization sees nothing.
		if _, err := e.svc.Get(ctx, e.orgB, tpl.ID, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("org B read org A's template: %v", err)
		}
		if _, err := e.svc.Update(ctx, e.actor, e.orgB, tpl.ID, "x", template.Source{Subject: "s", Text: "t"}, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("org B edited org A's template: %v", err)
		}
		if l, err := e.svc.List(ctx, e.orgB); err != nil || len(l) != 0 {
			t.Fatalf("org B's list: %v %v", l, err)
		}
		// The content is sealed: the subject is nowhere in the row.
		var content []byte
		if err := store.Scan(e.app.DB.Reader().QueryRow(ctx, `SELECT content FROM template_versions WHERE template_id = ? AND version = 1`, tpl.ID), &content); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(content), "Check-up time") {
			t.Fatal("template content stored in clear")
		}
	})
}

func TestTemplatePreview(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	tpl, err := e.svc.Create(ctx, e.actor, e.orgA, "Visit", template.Source{Subject: "Your visit",
		HTML: `<p>Dear {{.Contact.FirstName | default "patient"}}, your last visit was {{date "long" .Contact.Fields.last_visit}}.</p>`})
	if err != nil {
		t.Fatal(err)
	}
	sample := template.Contact{FirstName: "Rosa", Timezone: "America/Chicago", Fields: map[string]any{"last_visit": template.Date{Year: 2024, Month: 11, Day: 5}}}
	r, v, err := e.svc.Preview(ctx, e.orgA, tpl.ID, 0, sample, template.Links{})
	if err != nil || v != 1 {
		t.Fatal(err)
	}
	if r.Subject != "Your visit" || r.HTML != "<p>Dear Rosa, your last visit was November 5, 2024.</p>" || r.Text != "Dear Rosa, your last visit was November 5, 2024.\n" {
		t.Errorf("preview %+v", r)
	}
	if _, _, err := e.svc.Preview(ctx, e.orgB, tpl.ID, 0, sample, template.Links{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("org B previewed org A's template: %v", err)
	}
}
