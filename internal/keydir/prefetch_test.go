package keydir_test

import (
	"context"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestPrefetchAnswersAsHasValidKey: a KeySet read for a batch gives every
// address the answer HasValidKey gives (a valid key, an expired one, none,
// another organization's), answers "no key" from what it read (a key bound
// afterwards is not seen through the set, and is through the service), and
// leaves addresses it was not read for to the service.
func TestPrefetchAnswersAsHasValidKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil, nil)
		ctx := context.Background()
		_, valid := pgpKey(t, keyOpts{email: jane, created: time.Now().Add(-time.Minute), lifetime: 24 * time.Hour})
		if _, err := e.svc.Add(ctx, e.actor(e.orgA), valid, ""); err != nil {
			t.Fatal(err)
		}
		_, soon := pgpKey(t, keyOpts{email: "short@patients.example", created: time.Now().Add(-time.Minute), lifetime: time.Hour})
		if _, err := e.svc.Add(ctx, e.actor(e.orgA), soon, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Hour) // the short key has expired
		_, other := pgpKey(t, keyOpts{email: "b-only@patients.example", created: time.Now().Add(-time.Minute), lifetime: 24 * time.Hour})
		if _, err := e.svc.Add(ctx, e.actor(e.orgB), other, ""); err != nil {
			t.Fatal(err)
		}

		batch := []string{"Jane@Patients.example", "short@patients.example", "b-only@patients.example", "none@patients.example"}
		ks, err := e.svc.Prefetch(ctx, e.orgA, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, addr := range append(batch, "not-in-batch@patients.example") {
			wantKind, want, err := e.svc.HasValidKey(ctx, e.orgA, addr)
			if err != nil {
				t.Fatal(err)
			}
			kind, got, err := ks.HasValidKey(ctx, e.orgA, addr)
			if err != nil || got != want || kind != wantKind {
				t.Errorf("%s: set says %q %v %v, the service %q %v", addr, kind, got, err, wantKind, want)
			}
		}
		if _, ok, _ := ks.HasValidKey(ctx, e.orgA, jane); !ok {
			t.Fatal("the valid key is not seen through the set")
		}
		// Organization B's own key, asked through A's set, is B's answer.
		if _, ok, _ := ks.HasValidKey(ctx, e.orgB, "b-only@patients.example"); !ok {
			t.Fatal("a question for another organization is answered from A's set")
		}

		// A key bound after the read: the set answered from what it read.
		_, late := pgpKey(t, keyOpts{email: "none@patients.example", created: e.clock.Now().Add(-time.Minute), lifetime: 24 * time.Hour})
		if _, err := e.svc.Add(ctx, e.actor(e.orgA), late, ""); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := ks.HasValidKey(ctx, e.orgA, "none@patients.example"); ok {
			t.Fatal("the set read the directory again for an address it had read")
		}
		if _, ok, _ := e.svc.HasValidKey(ctx, e.orgA, "none@patients.example"); !ok {
			t.Fatal("the service does not see the new key")
		}
		if ks, err = e.svc.Prefetch(ctx, e.orgA, batch); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := ks.HasValidKey(ctx, e.orgA, "none@patients.example"); !ok {
			t.Fatal("a new read does not see the new key")
		}
	})
}
