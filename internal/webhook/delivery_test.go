package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webhook"
)

func TestDeliveryEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{Allow: loopback})
		r := e.receiver(t)
		ep, secret := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		e.enqueue(t, orgA, event("evt_1", webhook.EventDelivered))

		list := e.waitFinal(t, orgA, ep.ID, 1)
		got := r.requests()
		if len(got) != 1 {
			t.Fatalf("receiver got %d requests, want 1", len(got))
		}
		req := got[0]
		if err := webhook.Verify(secret, req.header, req.body, time.Now()); err != nil {
			t.Fatalf("signature does not verify: %v (headers %v)", err, req.header)
		}
		if req.header.Get(webhook.HeaderID) != list[0].ID || req.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v, want webhook-id %s", req.header, list[0].ID)
		}
		var body struct {
			ID, Type, Timestamp string
			Data                map[string]string
		}
		if err := json.Unmarshal(req.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.ID != "evt_1" || body.Type != webhook.EventDelivered || body.Timestamp != "2026-03-01T12:00:00Z" || body.Data["message_id"] != "msg_1" {
			t.Fatalf("body %s", req.body)
		}
		dl := list[0]
		if dl.State != webhook.StateSucceeded || dl.Attempts != 1 || dl.LastStatusCode != 200 || dl.LastError != "" ||
			dl.EventID != "evt_1" || dl.EventType != webhook.EventDelivered || !dl.NextAttemptAt.IsZero() || dl.LastResponseTime <= 0 {
			t.Fatalf("delivery %+v", dl)
		}
		attempts, err := e.svc.Attempts(ctx, orgA, dl.ID)
		if err != nil || len(attempts) != 1 || attempts[0].StatusCode != 200 || attempts[0].N != 1 {
			t.Fatalf("attempts %+v, %v", attempts, err)
		}
		if _, err := e.svc.Attempts(ctx, orgB, dl.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("attempts from another org: %v, want ErrNotFound", err)
		}
	})
}

func TestRetriesKeepTheIDAndGrowTheDelay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		schedule := []time.Duration{0, time.Second, 2 * time.Second}
		e := setup(t, d, webhook.Options{Allow: loopback, Schedule: schedule, Jitter: -1})
		r := e.receiver(t, 500, 500)
		ep, secret := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		e.enqueue(t, orgA, event("evt_retry", webhook.EventBounced))

		dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
		if dl.State != webhook.StateSucceeded || dl.Attempts != 3 || dl.LastStatusCode != 200 {
			t.Fatalf("delivery %+v, want succeeded on attempt 3", dl)
		}
		got := r.requests()
		if len(got) != 3 {
			t.Fatalf("receiver got %d requests, want 3", len(got))
		}
		for i, req := range got {
			if id := req.header.Get(webhook.HeaderID); id != dl.ID {
				t.Errorf("request %d has webhook-id %s, want %s on every attempt", i+1, id, dl.ID)
			}
			if string(req.body) != string(got[0].body) {
				t.Errorf("request %d body differs from the first", i+1)
			}
			if err := webhook.Verify(secret, req.header, req.body, req.at); err != nil {
				t.Errorf("request %d: %v", i+1, err)
			}
		}
		for i := 1; i < len(got); i++ {
			if gap := got[i].at.Sub(got[i-1].at); gap < schedule[i] {
				t.Errorf("attempt %d came %s after attempt %d, want at least %s", i+1, gap, i, schedule[i])
			}
		}
		attempts, err := e.svc.Attempts(ctx, orgA, dl.ID)
		if err != nil || len(attempts) != 3 {
			t.Fatalf("attempts %+v, %v", attempts, err)
		}
		for i, want := range []int{500, 500, 200} {
			a := attempts[i]
			if a.N != i+1 || a.StatusCode != want || (want == 500) != (a.Error == "http status 500") {
				t.Errorf("attempt %d = %+v, want status %d", i+1, a, want)
			}
		}
	})
}

func TestExhaustedAfterTheSchedule(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, webhook.Options{Allow: loopback, Schedule: []time.Duration{0, 0, 0}})
		r := e.receiver(t, 503, 500, 404, 200)
		ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		e.enqueue(t, orgA, event("evt_x", webhook.EventFailed))

		dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
		if dl.State != webhook.StateExhausted || dl.Attempts != 3 || dl.LastStatusCode != 404 || dl.LastError != "http status 404" || !dl.NextAttemptAt.IsZero() {
			t.Fatalf("delivery %+v, want exhausted after 3 attempts", dl)
		}
		time.Sleep(300 * time.Millisecond) // a fourth attempt would come now
		if n := len(r.requests()); n != 3 {
			t.Fatalf("receiver got %d requests, want 3", n)
		}
	})
}

func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{Allow: loopback})
		r := e.receiver(t, 410)
		ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		e.enqueue(t, orgA, event("evt_1", webhook.EventQueued))

		dl := e.waitFinal(t, orgA, ep.ID, 1)[0]
		if dl.State != webhook.StateFailed || dl.Attempts != 1 || dl.LastStatusCode != 410 {
			t.Fatalf("delivery %+v, want failed after one 410", dl)
		}
		got, err := e.svc.GetEndpoint(ctx, orgA, ep.ID)
		if err != nil || got.Enabled || got.DisabledReason != webhook.DisabledGone {
			t.Fatalf("endpoint after 410: %+v, %v", got, err)
		}
		e.enqueue(t, orgA, event("evt_2", webhook.EventQueued))
		if list := e.deliveries(t, orgA, ep.ID); len(list) != 1 {
			t.Fatalf("a disabled endpoint got %d deliveries, want 1", len(list))
		}
		// Its owner turns it back on: deliveries resume.
		e.tx(t, func(tx *store.Tx) error {
			got, err = e.svc.UpdateEndpoint(ctx, tx, orgA, ep.ID, webhook.EndpointInput{URL: ep.URL})
			return err
		})
		if !got.Enabled || got.DisabledReason != "" {
			t.Fatalf("re-enabled endpoint %+v", got)
		}
		e.enqueue(t, orgA, event("evt_3", webhook.EventQueued))
		if list := e.waitFinal(t, orgA, ep.ID, 2); list[0].State != webhook.StateSucceeded || list[0].EventID != "evt_3" {
			t.Fatalf("after re-enabling: %+v", list)
		}
	})
}

func TestEventTypeFiltering(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, webhook.Options{Allow: loopback})
		bounces, all := e.receiver(t), e.receiver(t)
		epBounces, _ := e.create(t, orgA, webhook.EndpointInput{URL: bounces.url(t, ""), EventTypes: []string{webhook.EventBounced}})
		epAll, _ := e.create(t, orgA, webhook.EndpointInput{URL: all.url(t, "")})
		other := e.receiver(t)
		epOther, _ := e.create(t, orgB, webhook.EndpointInput{URL: other.url(t, "")})

		e.enqueue(t, orgA, event("evt_q", webhook.EventQueued))
		e.enqueue(t, orgA, event("evt_b", webhook.EventBounced))
		e.enqueue(t, orgA, event("evt_b", webhook.EventBounced)) // the same event again: ignored

		if list := e.waitFinal(t, orgA, epAll.ID, 2); list[0].EventID != "evt_b" || list[1].EventID != "evt_q" {
			t.Fatalf("all-events endpoint got %+v", list)
		}
		if list := e.waitFinal(t, orgA, epBounces.ID, 1); list[0].EventID != "evt_b" {
			t.Fatalf("bounces-only endpoint got %+v", list)
		}
		if n := len(bounces.requests()); n != 1 {
			t.Fatalf("bounces receiver got %d requests, want 1", n)
		}
		if n := len(all.requests()); n != 2 {
			t.Fatalf("all-events receiver got %d requests, want 2", n)
		}
		if list := e.deliveries(t, orgB, epOther.ID); len(list) != 0 || len(other.requests()) != 0 {
			t.Fatalf("another organization's endpoint got %d deliveries", len(list))
		}
	})
}

func TestRolledBackEnqueueSendsNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{Allow: loopback})
		r := e.receiver(t)
		ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: r.url(t, "")})
		boom := errors.New("the producer's transaction fails")
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			if err := e.svc.Enqueue(ctx, tx, orgA, event("evt_lost", webhook.EventQueued)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		// A committed event after it is delivered; had the rolled-back
		// one left a job, it would have been worked by then too.
		e.enqueue(t, orgA, event("evt_kept", webhook.EventQueued))
		list := e.waitFinal(t, orgA, ep.ID, 1)
		got := r.requests()
		if len(got) != 1 || list[0].EventID != "evt_kept" || got[0].header.Get(webhook.HeaderID) != list[0].ID {
			t.Fatalf("receiver got %d requests, log %+v", len(got), list)
		}
	})
}

func TestEnqueueValidatesEvents(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), webhook.Options{})
	e.create(t, orgA, webhook.EndpointInput{URL: "https://hooks.example.com/in"})
	big := make([]byte, 0, webhook.MaxPayload+16)
	big = append(big, `{"pad":"`...)
	for len(big) < webhook.MaxPayload {
		big = append(big, 'x')
	}
	big = append(big, `"}`...)
	for name, ev := range map[string]webhook.Event{
		"address in data": {ID: "e1", Type: webhook.EventBounced, Data: json.RawMessage(`{"to":"patient@example.com"}`)},
		"not an object":   {ID: "e1", Type: webhook.EventBounced, Data: json.RawMessage(`["msg_1"]`)},
		"not json":        {ID: "e1", Type: webhook.EventBounced, Data: json.RawMessage(`{"a":`)},
		"no data":         {ID: "e1", Type: webhook.EventBounced},
		"too large":       {ID: "e1", Type: webhook.EventBounced, Data: big},
		"unknown type":    {ID: "e1", Type: "message.opened.twice", Data: json.RawMessage(`{}`)},
		"id with dot":     {ID: "e.1", Type: webhook.EventBounced, Data: json.RawMessage(`{}`)},
		"empty id":        {Type: webhook.EventBounced, Data: json.RawMessage(`{}`)},
	} {
		err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
			return e.svc.Enqueue(context.Background(), tx, orgA, ev)
		})
		if !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
