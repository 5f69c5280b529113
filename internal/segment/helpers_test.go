package segment_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// env is a real carepost core (store, keyring, audit, contacts, segments)
// on one driver with two organizations.
type env struct {
	app        *app.App
	svc        *segment.Service
	orgA, orgB string
	ownerA     auth.Principal // every permission, PHI included
	marketerA  auth.Principal // contacts and segments, no phi:read
	ownerB     auth.Principal
	clock      *clock
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
	e := &env{clock: clocktest.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	e.app, e.svc = a, a.Segments
	for i, name := range []string{"Segment Clinic A", "Segment Clinic B"} {
		org, owner, _, err := a.Auth.Bootstrap(context.Background(), name, fmt.Sprintf("owner@%c.example", 'a'+i), "Owner")
		if err != nil {
			t.Fatal(err)
		}
		p := auth.Principal{OrgID: org.ID, UserID: owner.ID, Perms: access.NewSet(access.All...)}
		if i == 0 {
			e.orgA, e.ownerA = org.ID, p
			e.marketerA = auth.Principal{OrgID: org.ID, UserID: "usr_marketer", Perms: access.NewSet(access.ContactsRead,
				access.ContactsWrite, access.SegmentsWrite, access.TemplatesWrite, access.CampaignsWrite)}
		} else {
			e.orgB, e.ownerB = org.ID, p
		}
	}
	return e
}

// fields defines the workload's fields in the principal's organization.
func (e *env) fields(t testing.TB, p auth.Principal) {
	t.Helper()
	no := false
	for _, f := range []contact.FieldInput{
		{Key: "birth_date", Type: contact.TypeDate},
		{Key: "condition", Type: contact.TypeText},
		{Key: "last_visit", Type: contact.TypeDate},
		{Key: "plan", Type: contact.TypeText, PHI: &no},
	} {
		if _, err := e.app.Contacts.CreateField(context.Background(), contact.As(p), f); err != nil {
			t.Fatal(err)
		}
	}
}

// patient is one contact to create.
type patient struct {
	condition, lastVisit, birth, plan string
}

// add creates patients in p's organization and returns their ids in
// order.
func (e *env) add(t testing.TB, p auth.Principal, ps ...patient) []string {
	t.Helper()
	var ins []contact.Input
	for i, pt := range ps {
		email := fmt.Sprintf("p%d-%d@patients.test", len(ps), i)
		f := map[string]any{}
		for k, v := range map[string]string{"condition": pt.condition, "last_visit": pt.lastVisit, "birth_date": pt.birth, "plan": pt.plan} {
			if v != "" {
				f[k] = v
			}
		}
		ins = append(ins, contact.Input{Email: &email, Fields: f})
	}
	var ids []string
	for start := 0; start < len(ins); start += contact.MaxBulk {
		out, err := e.app.Contacts.BulkUpsert(context.Background(), contact.As(p), ins[start:min(start+contact.MaxBulk, len(ins))])
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

// members collects a segment's members through the Go API.
func (e *env) members(t testing.TB, org, segmentID string) []string {
	t.Helper()
	var ids []string
	for id, err := range e.svc.Members(context.Background(), org, segmentID) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// auditActions returns the actions of org's audit log.
func (e *env) auditActions(t testing.TB, org string) []store.AuditRecord {
	t.Helper()
	recs, err := store.AuditRecords(context.Background(), e.app.DB.Reader(), org, 0, math.MaxInt64, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
