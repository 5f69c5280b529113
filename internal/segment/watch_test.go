package segment_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// recorder is an Observer that keeps what it heard.
type recorder struct {
	mu      sync.Mutex
	entered []string
}

func (r *recorder) SegmentEntered(_ context.Context, _ *store.Tx, _, _ string, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entered = append(r.entered, ids...)
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := sorted(r.entered)
	r.entered = nil
	return out
}

// TestSweepTellsExactlyWhoEntered sweeps a dynamic segment whose members
// and last-seen members span several pages of the merge: the first sweep
// is a silent baseline; after a bulk update the observer hears exactly
// the contacts that started matching, the ones that stopped are counted
// as left, and what the watch saw equals the members now; a sweep with
// nothing changed tells nobody. Another organization's id sweeps nothing.
func TestSweepTellsExactlyWhoEntered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		rec := &recorder{}
		e.svc.Observe(rec)
		e.fields(t, e.ownerA)
		const n = 2600
		plans := func(gold func(i int) bool) []patient {
			ps := make([]patient, n)
			for i := range ps {
				ps[i].plan = "basic"
				if gold(i) {
					ps[i].plan = "gold"
				}
			}
			return ps
		}
		ids := e.add(t, e.ownerA, plans(func(i int) bool { return i%2 == 0 })...)
		sg, err := e.svc.Create(ctx, e.ownerA, segment.Input{Name: "Gold", Kind: segment.Dynamic, Expression: `plan == "gold"`})
		if err != nil {
			t.Fatal(err)
		}
		ref := segment.Ref{OrgID: e.orgA, SegmentID: sg.ID}

		res, err := e.svc.Sweep(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if res.Baselines != 1 || res.Members != n/2 || res.Entered != 0 || len(rec.take()) != 0 {
			t.Fatalf("baseline sweep: %+v", res)
		}

		e.add(t, e.ownerA, plans(func(i int) bool { return i%3 == 0 })...)
		var entered []string
		left := 0
		for i, id := range ids {
			switch {
			case i%3 == 0 && i%2 != 0:
				entered = append(entered, id)
			case i%2 == 0 && i%3 != 0:
				left++
			}
		}
		if res, err = e.svc.Sweep(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if got := rec.take(); !slices.Equal(got, sorted(entered)) {
			t.Fatalf("observer heard %d contacts, want the %d that started matching", len(got), len(entered))
		}
		if res.Entered != len(entered) || res.Left != left || res.Baselines != 0 {
			t.Fatalf("sweep after the update: %+v, want %d entered and %d left", res, len(entered), left)
		}
		var seen []string
		for after := ""; ; {
			page, err := store.SegmentEntriesPage(ctx, e.app.DB.Reader(), e.orgA, sg.ID, after, 500)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, page...)
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1]
		}
		if want := e.members(t, e.orgA, sg.ID); !slices.Equal(seen, want) {
			t.Fatalf("the watch saw %d contacts, the segment has %d", len(seen), len(want))
		}

		if res, err = e.svc.Sweep(ctx, ref); err != nil || res.Entered != 0 || res.Left != 0 || len(rec.take()) != 0 {
			t.Fatalf("sweep with nothing changed: %+v %v", res, err)
		}
		if res, err = e.svc.Sweep(ctx, segment.Ref{OrgID: e.orgB, SegmentID: sg.ID}); err != nil || res.Segments != 0 {
			t.Fatalf("another organization's id: %+v %v", res, err)
		}
	})
}
