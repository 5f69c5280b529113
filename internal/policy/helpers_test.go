package policy_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// env is a real carepost core (store, keyring, audit) with one
// organization and a policy engine over it.
type env struct {
	t      testing.TB
	ctx    context.Context
	app    *app.App
	engine *policy.Engine
	keys   fixedKeys
	org    string
	owner  string // the owner's user id (role "owner")
	actor  audit.Actor
}

// fixedKeys stands in for the recipient key directory (package keydir,
// built separately): the addresses it holds a usable key for, by kind.
// The engine only asks the question; what makes a key usable is tested
// where keys live.
type fixedKeys map[string]string

func (k fixedKeys) HasValidKey(_ context.Context, _, email string) (string, bool, error) {
	kind, ok := k[strings.ToLower(email)]
	return kind, ok, nil
}

func setup(t testing.TB, d store.Driver) *env {
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
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	e := &env{t: t, ctx: context.Background(), app: a, keys: fixedKeys{}}
	e.engine = policy.New(policy.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Directory: e.keys}, policy.Options{})
	org, owner, _, err := a.Auth.Bootstrap(e.ctx, "Policy Clinic", "owner@clinic.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	e.org, e.owner, e.actor = org.ID, owner.ID, audit.Actor{Type: audit.ActorUser, ID: owner.ID}
	return e
}

// msg builds and parses a message as the outbox sees it.
func (e *env) msg(subject, text string, atts ...message.Attachment) policy.Message {
	e.t.Helper()
	d := message.Draft{From: message.Address{Email: "dr@clinic.example"}, To: []message.Address{{Email: "pat@example.org"}},
		Subject: subject, Text: text, Attachments: atts}
	raw, err := message.Build(d, message.BuildOptions{Date: time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		e.t.Fatal(err)
	}
	return policy.Message{OrgID: e.org, SenderUserID: e.owner, From: "dr@clinic.example", Parsed: p}
}

// decide evaluates m and decides each recipient.
func (e *env) decide(m policy.Message, rcpts ...string) []policy.Decision {
	e.t.Helper()
	ev, err := e.engine.Evaluate(e.ctx, m)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]policy.Decision, len(rcpts))
	for i, r := range rcpts {
		if out[i], err = ev.Decide(e.ctx, r); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// save stores a change to the default document.
func (e *env) save(edit func(*policy.Document)) policy.Document {
	e.t.Helper()
	doc, err := e.engine.Policy(e.ctx, e.org)
	if err != nil {
		e.t.Fatal(err)
	}
	edit(&doc)
	saved, err := e.engine.Save(e.ctx, e.actor, e.org, doc)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

// hasRule reports whether d's reasons include rule (exactly, or as a
// prefix ending in ':').
func hasRule(d policy.Decision, rule string) bool {
	for _, r := range d.Reasons {
		if r.Rule == rule {
			return true
		}
	}
	return false
}

func methods(ls ...policy.Level) string { return policy.MethodList(ls) }
