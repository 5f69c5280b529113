package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webhook"
)

// TestGuardRefusesLoopbackAtDialTime registers a host name (validation
// cannot know where it points) that resolves to the loopback receiver: the
// dial-time guard refuses it and the receiver never hears from carepost.
func TestGuardRefusesLoopbackAtDialTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, webhook.Options{Schedule: []time.Duration{0, 0}})
		r := e.receiver(t)
		ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "localhost")})
		e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))

		dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
		if dl.State != webhook.StateExhausted || dl.Attempts != 2 || dl.LastStatusCode != 0 || dl.LastError != "address not allowed" {
			t.Fatalf("delivery %+v, want exhausted with 'address not allowed'", dl)
		}
		if n := len(r.requests()); n != 0 {
			t.Fatalf("the loopback receiver got %d requests", n)
		}
	})
}

func TestGuardRefusesLoopbackLiteralAtCreation(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), webhook.Options{})
	r := e.receiver(t)
	err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		_, _, err := e.svc.CreateEndpoint(context.Background(), tx, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		return err
	})
	if !errors.Is(err, webhook.ErrInvalid) {
		t.Fatalf("https://127.0.0.1 endpoint: %v, want ErrInvalid", err)
	}
}

// TestAllowedRangeIsReached: an administrator who allows 127.0.0.0/8 gets
// deliveries to the loopback receiver, by literal and by name.
func TestAllowedRangeIsReached(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, webhook.Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		r := e.receiver(t)
		byIP, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		byName, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "localhost")})
		e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
		for _, ep := range []webhook.Endpoint{byIP, byName} {
			if dl := e.waitFinal(t, orgA, ep.ID, 1)[0]; dl.State != webhook.StateSucceeded {
				t.Fatalf("delivery to %s: %+v", ep.URL, dl)
			}
		}
		if n := len(r.requests()); n != 2 {
			t.Fatalf("receiver got %d requests, want 2", n)
		}
	})
}

// TestUntrustedCertificateIsAFailure: https means a verified certificate;
// a receiver whose certificate chains to no trusted root gets nothing.
func TestUntrustedCertificateIsAFailure(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), webhook.Options{Allow: loopback, Schedule: []time.Duration{0}})
	other := setup(t, storetest.Default(), webhook.Options{})
	r := other.receiver(t) // certificate from another CA
	ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
	e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
	dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
	if dl.State != webhook.StateExhausted || dl.LastError != "tls certificate not trusted" {
		t.Fatalf("delivery %+v, want exhausted on the certificate", dl)
	}
	if n := len(r.requests()); n != 0 {
		t.Fatalf("receiver with an untrusted certificate got %d requests", n)
	}
}

// TestRedirectsAreNotFollowed: a receiver cannot send carepost elsewhere
// after its URL was validated.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), webhook.Options{Allow: loopback, Schedule: []time.Duration{0}})
	target := e.receiver(t)
	redirect := e.redirector(t, target.url(t, ""))
	ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: redirect.url(t, "")})
	e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))
	dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
	if dl.State != webhook.StateExhausted || dl.LastStatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("delivery %+v, want exhausted on the 307", dl)
	}
	if n, m := len(redirect.requests()), len(target.requests()); n != 1 || m != 0 {
		t.Fatalf("the redirecting receiver got %d requests and its target %d, want 1 and 0", n, m)
	}
}
