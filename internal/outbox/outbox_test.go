package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func setup(t *testing.T, d store.Driver) (*app.App, string) { return setupB(t, d) }

func setupB(t testing.TB, d store.Driver) (*app.App, string) {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Demo.Enabled = true // sender domains verify themselves
	cfg.Resolve()
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	org, _, _, err := a.Auth.Bootstrap(ctx, "Clinic", "owner@clinic.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	verifyDomain(t, a, org.ID, "clinic.example")
	return a, org.ID
}

func draft(to ...string) *message.Draft {
	d := &message.Draft{From: message.Address{Email: "noreply@clinic.example"}, Subject: "Reminder", Text: "See you soon."}
	for _, a := range to {
		d.To = append(d.To, message.Address{Email: a})
	}
	return d
}

func sub(org string, d *message.Draft) outbox.Submission {
	return outbox.Submission{OrgID: org, Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"}, Source: outbox.SourceAPI, Draft: d}
}

func count(t *testing.T, a *app.App, query string, args ...any) int {
	t.Helper()
	var n int
	if err := store.Scan(a.DB.Reader().QueryRow(context.Background(), query, args...), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConcurrentSubmissionsAreAllDurableAndAudited submits from many
// goroutines at once (group commit batches them) and checks every accepted
// message has its rows, events and audit entry, and the chain verifies.
func TestConcurrentSubmissionsAreAllDurableAndAudited(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		a, org := setup(t, d)
		ctx := context.Background()
		const n = 120
		ids := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				res, err := a.Outbox.Submit(ctx, sub(org, draft(fmt.Sprintf("p%03d@example.org", i), "shared@example.net")))
				if err != nil {
					errs <- err
					return
				}
				ids[i] = res.MessageID
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := count(t, a, `SELECT count(*) FROM messages WHERE org_id = ?`, org); got != n {
			t.Fatalf("%d messages, want %d", got, n)
		}
		if got := count(t, a, `SELECT count(*) FROM recipients WHERE state = 'queued'`); got != 2*n {
			t.Fatalf("%d queued recipients, want %d", got, 2*n)
		}
		if got := count(t, a, `SELECT count(*) FROM events WHERE type = 'message.queued'`); got != 2*n {
			t.Fatalf("%d queued events, want %d", got, 2*n)
		}
		if got := count(t, a, `SELECT count(*) FROM audit_entries WHERE action = 'message.submit'`); got != n {
			t.Fatalf("%d audit entries, want %d", got, n)
		}
		rep, err := a.Audit.Verify(ctx, audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("audit chain after concurrent submits: %v %v", err, rep.Problems())
		}
	})
}

func TestSuppressedAndUnavailableLevelsAreNotQueued(t *testing.T) {
	t.Parallel()
	a, org := setup(t, store.SQLite)
	ctx := context.Background()
	if err := a.DB.Tx(ctx, func(tx *store.Tx) error {
		ix, err := a.Index.Email(ctx, tx, org, "Bounced@Example.org")
		if err != nil {
			return err
		}
		return store.Suppress(ctx, tx, org, ix, "hard bounce", "", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	res, err := a.Outbox.Submit(ctx, sub(org, draft("bounced@example.org", "ok@example.org")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Recipients[0].State != outbox.StateFailed || res.Recipients[1].State != outbox.StateQueued {
		t.Fatalf("suppression: %+v", res.Recipients)
	}
	s := sub(org, draft("portal@example.org"))
	s.Security = outbox.SecurityPortal
	res, err = a.Outbox.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Recipients[0]; r.State != outbox.StatePortal || r.Level != "portal" {
		t.Fatalf("portal requested: %+v; want in the portal at portal level, never queued for transport", r)
	}
}

func TestUnverifiedSenderDomainIsRefusedAndNothingStored(t *testing.T) {
	t.Parallel()
	a, org := setup(t, store.SQLite)
	d := draft("p@example.org")
	d.From = message.Address{Email: "someone@not-ours.example"}
	_, err := a.Outbox.Submit(context.Background(), sub(org, d))
	var fe *message.FieldError
	if !errors.As(err, &fe) || fe.Field != "from" {
		t.Fatalf("unverified domain: %v", err)
	}
	if got := count(t, a, `SELECT count(*) FROM messages`); got != 0 {
		t.Fatalf("%d messages stored", got)
	}
}

// TestIdempotencyRaceStoresOneMessage fires one key from many goroutines.
func TestIdempotencyRaceStoresOneMessage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		a, org := setup(t, d)
		ctx := context.Background()
		var wg sync.WaitGroup
		ids := make(chan string, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := sub(org, draft("p@example.org"))
				s.IdempotencyKey, s.RequestHash = "key-1", []byte("same request")
				res, err := a.Outbox.Submit(ctx, s)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- res.MessageID
			}()
		}
		wg.Wait()
		close(ids)
		first := ""
		for id := range ids {
			if first == "" {
				first = id
			}
			if id != first {
				t.Fatalf("one idempotency key produced messages %s and %s", first, id)
			}
		}
		if got := count(t, a, `SELECT count(*) FROM messages`); got != 1 {
			t.Fatalf("%d messages for one key", got)
		}
	})
}

// verifyDomain registers a sending domain; demo mode verifies it at once.
func verifyDomain(t testing.TB, a *app.App, org, domain string) {
	t.Helper()
	if _, _, err := a.Domains.Add(context.Background(), senderdomain.System(org, "test"), domain); err != nil {
		t.Fatal(err)
	}
}
