package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webhook"
)

func TestDeliveriesArePaged(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{Allow: loopback})
		r := e.receiver(t)
		ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		for i := range 5 {
			e.enqueue(t, orgA, event(fmt.Sprintf("evt_%d", i), webhook.EventQueued))
			time.Sleep(2 * time.Millisecond) // ids are ordered by millisecond
		}
		e.waitFinal(t, orgA, ep.ID, 5)
		var pages [][]string
		cursor := ""
		for {
			list, next, err := e.svc.Deliveries(ctx, orgA, ep.ID, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			var events []string
			for _, dl := range list {
				events = append(events, dl.EventID)
			}
			pages = append(pages, events)
			if next == "" {
				break
			}
			cursor = next
		}
		if got := fmt.Sprint(pages); got != "[[evt_4 evt_3] [evt_2 evt_1] [evt_0]]" {
			t.Fatalf("pages %s, want newest first in pages of 2", got)
		}
		if _, _, err := e.svc.Deliveries(ctx, orgA, ep.ID, "not-a-cursor", 2); !errors.Is(err, webhook.ErrInvalid) {
			t.Fatalf("malformed cursor: %v, want ErrInvalid", err)
		}
		// Deleting the endpoint deletes its log.
		last := e.deliveries(t, orgA, ep.ID)[0]
		e.tx(t, func(tx *store.Tx) error { return e.svc.DeleteEndpoint(ctx, tx, orgA, ep.ID) })
		if _, err := e.svc.Delivery(ctx, orgA, last.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delivery of a deleted endpoint: %v, want ErrNotFound", err)
		}
	})
}

// TestRotatedSecretSignsWithBoth: during the overlap a receiver holding
// either secret verifies; after it, only the new one.
func TestRotatedSecretSignsWithBoth(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{Allow: loopback})
		r := e.receiver(t)
		ep, oldSecret := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		var newSecret string
		e.tx(t, func(tx *store.Tx) error {
			var err error
			newSecret, err = e.svc.RotateSecret(ctx, tx, orgA, ep.ID)
			return err
		})
		if newSecret == oldSecret || !strings.HasPrefix(newSecret, webhook.SecretPrefix) {
			t.Fatalf("rotation gave %q", newSecret)
		}
		e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
		e.waitFinal(t, orgA, ep.ID, 1)
		req := r.requests()[0]
		if n := len(strings.Fields(req.header.Get(webhook.HeaderSignature))); n != 2 {
			t.Fatalf("webhook-signature has %d signatures, want 2", n)
		}
		for _, s := range []string{oldSecret, newSecret} {
			if err := webhook.Verify(s, req.header, req.body, time.Now()); err != nil {
				t.Fatalf("verify during overlap: %v", err)
			}
		}
	})
}

func TestRotationWithoutOverlap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), webhook.Options{Allow: loopback, SecretOverlap: -1})
	r := e.receiver(t)
	ep, oldSecret := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
	var newSecret string
	e.tx(t, func(tx *store.Tx) error {
		var err error
		newSecret, err = e.svc.RotateSecret(ctx, tx, orgA, ep.ID)
		return err
	})
	e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
	e.waitFinal(t, orgA, ep.ID, 1)
	req := r.requests()[0]
	if err := webhook.Verify(newSecret, req.header, req.body, time.Now()); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if err := webhook.Verify(oldSecret, req.header, req.body, time.Now()); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("old secret without overlap: %v, want ErrSignature", err)
	}
}

// TestDataKeyRotationReencryptsSecrets: the endpoints table is registered
// with the keyring, so rotating the organization's data key moves the
// secrets and deliveries still sign with the same secret.
func TestDataKeyRotationReencryptsSecrets(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{Allow: loopback})
		r := e.receiver(t)
		ep, secret := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		e.tx(t, func(tx *store.Tx) error { _, err := e.svc.RotateSecret(ctx, tx, orgA, ep.ID); return err })
		e.tx(t, func(tx *store.Tx) error { _, err := e.kr.Rotate(ctx, tx, orgA); return err })
		if n, err := e.kr.Reencrypt(ctx, orgA, 100); err != nil || n != 1 {
			t.Fatalf("reencrypt moved %d rows, %v; want the endpoint", n, err)
		}
		var v int
		if err := store.Scan(e.db.Reader().QueryRow(ctx, `SELECT dek_version FROM webhook_endpoints WHERE id = ?`, ep.ID), &v); err != nil || v != 2 {
			t.Fatalf("endpoint at data key v%d, %v; want v2", v, err)
		}
		e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
		if dl := e.waitFinal(t, orgA, ep.ID, 1)[0]; dl.State != webhook.StateSucceeded {
			t.Fatalf("delivery after key rotation: %+v", dl)
		}
		req := r.requests()[0]
		if err := webhook.Verify(secret, req.header, req.body, time.Now()); err != nil {
			t.Fatalf("previous secret after data-key rotation: %v", err)
		}
	})
}

// TestClockDrivesTimestamps: webhook-timestamp, the attempt log and the
// delivery's times come from Options.Clock, the attempt's time rather than
// the event's.
func TestClockDrivesTimestamps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2025, 7, 4, 9, 30, 0, 0, time.UTC)
	e := setup(t, storetest.Default(), webhook.Options{
		Allow: loopback, Schedule: []time.Duration{0, 0}, Clock: func() time.Time { return at },
	})
	r := e.receiver(t, 500)
	ep, secret := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
	e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
	dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
	if dl.State != webhook.StateSucceeded || !dl.CreatedAt.Equal(at) || !dl.UpdatedAt.Equal(at) {
		t.Fatalf("delivery %+v, want succeeded at %s", dl, at)
	}
	for i, req := range r.requests() {
		if ts := req.header.Get(webhook.HeaderTimestamp); ts != fmt.Sprint(at.Unix()) {
			t.Errorf("request %d: webhook-timestamp %s, want %d", i+1, ts, at.Unix())
		}
		if err := webhook.Verify(secret, req.header, req.body, at); err != nil {
			t.Errorf("request %d at its own time: %v", i+1, err)
		}
		if err := webhook.Verify(secret, req.header, req.body, time.Now()); !errors.Is(err, webhook.ErrTimestamp) {
			t.Errorf("request %d verified today: %v, want ErrTimestamp", i+1, err)
		}
	}
	attempts, err := e.svc.Attempts(ctx, orgA, dl.ID)
	if err != nil || len(attempts) != 2 || !attempts[0].At.Equal(at) || !attempts[1].At.Equal(at) {
		t.Fatalf("attempts %+v, %v", attempts, err)
	}
}
