package tracking_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/tracking"
)

const base = "https://carepost.example"

// env is a real carepost core with two organizations and a tracking
// service over it; the clock is settable.
type env struct {
	app        *app.App
	svc        *tracking.Service
	local      *tracking.Local
	orgA, orgB string
	now        time.Time
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
	e := &env{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now }
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	e.app = a
	e.local = tracking.NewLocal(a.DB, clock)
	e.svc, err = tracking.New(tracking.Deps{DB: a.DB, Keys: a.Keys, Blobs: a.Blobs, Committer: a.Committer, Events: a.Events,
		Subscriptions: e.local}, tracking.Options{BaseURL: base + "/", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Tracking Clinic A", "Tracking Clinic B"} {
		org, _, _, err := a.Auth.Bootstrap(context.Background(), name, "owner@"+[]string{"a", "b"}[i]+".example", "Owner")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.orgA = org.ID
		} else {
			e.orgB = org.ID
		}
	}
	return e
}

// recipient is a campaign recipient of org, delivered by verified TLS.
func (e *env) recipient(t *testing.T, org string) tracking.Recipient {
	t.Helper()
	is, err := e.svc.Issuer(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return tracking.Recipient{Issuer: is, CampaignID: id.New("cmp"), ContactID: id.New("con"), ListID: id.New("lst"), Method: policy.VerifiedTLS}
}

// tokenOf cuts the token out of a tracking URL.
func tokenOf(t *testing.T, url, prefix string) string {
	t.Helper()
	if len(url) < len(base+prefix) || url[:len(base+prefix)] != base+prefix {
		t.Fatalf("%s is not under %s", url, base+prefix)
	}
	tok := url[len(base+prefix):]
	if len(tok) > 4 && tok[len(tok)-4:] == ".gif" {
		tok = tok[:len(tok)-4]
	}
	return tok
}

// events returns the organization's recorded event types.
func (e *env) events(t *testing.T, org string) []store.EventRow {
	t.Helper()
	rows, err := store.EventsOf(context.Background(), e.app.DB.Reader(), org, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// save persists a link table as the campaign engine does.
func (e *env) save(t *testing.T, org string, lt *tracking.LinkTable) {
	t.Helper()
	err := e.app.DB.Tx(context.Background(), func(tx *store.Tx) error { return e.svc.SaveLinks(context.Background(), tx, org, lt) })
	if err != nil {
		t.Fatal(err)
	}
}
