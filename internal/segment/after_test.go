package segment_test

import (
	"context"
	"slices"
	"testing"

	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestMembersAfter: the member stream started after any member's id is
// the tail of the whole stream, for a dynamic and a static segment, so
// paging by the last id read yields every member once.
func TestMembersAfter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		e.fields(t, e.ownerA)
		ctx := context.Background()
		var ps []patient
		for i := range 9 {
			plan := "ppo"
			if i%3 != 0 {
				plan = "hmo"
			}
			ps = append(ps, patient{plan: plan})
		}
		ids := e.add(t, e.ownerA, ps...)
		dyn, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "HMO", Kind: segment.Dynamic, Expression: `plan == "hmo"`})
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "Picked", Kind: segment.Static})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddMembers(ctx, e.marketerA, st.ID, ids[:5]); err != nil {
			t.Fatal(err)
		}
		for _, sg := range []string{dyn.ID, st.ID} {
			all := e.members(t, e.orgA, sg)
			if len(all) < 5 {
				t.Fatalf("segment %s: %d members", sg, len(all))
			}
			var paged []string
			cursor := ""
			for {
				var page []string
				for id, err := range e.svc.MembersAfter(ctx, e.orgA, sg, cursor) {
					if err != nil {
						t.Fatal(err)
					}
					page = append(page, id)
					if len(page) == 2 {
						break
					}
				}
				paged = append(paged, page...)
				if len(paged) > len(all) {
					t.Fatalf("segment %s: paging read %v, more than its members %v", sg, paged, all)
				}
				if len(page) < 2 {
					break
				}
				cursor = page[len(page)-1]
			}
			if !slices.Equal(paged, all) {
				t.Fatalf("segment %s paged by 2: %v, want %v", sg, paged, all)
			}
		}
	})
}
