package segment_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const workload = `condition == "diabetes" and days_since(last_visit) > 180 and age >= 40`

// cohort makes, in org A, 12 contacts in the workload segment and 6 that
// each miss one condition.
func cohort(t *testing.T, e *env) (in, out []string) {
	t.Helper()
	var ps []patient
	for range 12 {
		ps = append(ps, patient{condition: "diabetes", lastVisit: "2026-01-10", birth: "1970-03-04", plan: "gold"})
	}
	ps = append(ps,
		patient{condition: "asthma", lastVisit: "2026-01-10", birth: "1970-03-04", plan: "gold"},
		patient{condition: "diabetes", lastVisit: "2026-11-20", birth: "1970-03-04", plan: "gold"},
		patient{condition: "diabetes", lastVisit: "2026-01-10", birth: "1999-03-04", plan: "gold"},
		patient{condition: "diabetes", birth: "1970-03-04", plan: "silver"}, // no last visit known
		patient{condition: "diabetes", lastVisit: "2026-01-10", plan: "silver"},
		patient{plan: "silver"},
	)
	ids := e.add(t, e.ownerA, ps...)
	return ids[:12], ids[12:]
}

func TestDynamicSegment(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		e.fields(t, e.ownerA)
		in, out := cohort(t, e)
		sg, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "Diabetics due", Kind: segment.Dynamic, Expression: workload})
		if err != nil {
			t.Fatal(err)
		}
		if sg.Version != 1 || !sg.UsesPHI || strings.Join(sg.Fields, ",") != "condition,last_visit,birth_date" {
			t.Fatalf("created %+v", sg)
		}
		if got := e.members(t, e.orgA, sg.ID); !slices.Equal(got, sorted(in)) {
			t.Fatalf("members %v, want %v", got, sorted(in))
		}
		for _, id := range in[:2] {
			if ok, err := e.svc.Contains(ctx, e.orgA, sg.ID, id); err != nil || !ok {
				t.Fatalf("Contains(%s) = %v, %v", id, ok, err)
			}
		}
		for _, id := range out {
			if ok, err := e.svc.Contains(ctx, e.orgA, sg.ID, id); err != nil || ok {
				t.Fatalf("Contains(%s) = %v, %v; want false", id, ok, err)
			}
		}
		// Preview: counts and a page, PHI masked for the marketer.
		p, err := e.svc.Preview(ctx, e.marketerA, sg.ID, "", 5)
		if err != nil {
			t.Fatal(err)
		}
		if p.Members.Hidden || p.Members.Value != 12 || p.Subscribed.Value != 12 || p.Consented.String() != "0" || len(p.Page) != 5 || p.Next == "" {
			t.Fatalf("preview %+v", p)
		}
		for _, v := range p.Page {
			if !v.Masked || v.Email == "" || strings.Contains(v.Email, "@") || v.Fields["condition"] == "diabetes" || v.Fields["plan"] != "gold" {
				t.Fatalf("marketer sees %+v", v)
			}
		}
		rest, err := e.svc.Preview(ctx, e.marketerA, sg.ID, p.Next, 100)
		if err != nil || len(rest.Page) != 7 || rest.Next != "" {
			t.Fatalf("second page: %d members, next %q, %v", len(rest.Page), rest.Next, err)
		}
		owner, err := e.svc.Preview(ctx, e.ownerA, sg.ID, "", 1)
		if err != nil || owner.Page[0].Masked || !strings.Contains(owner.Page[0].Email, "@") {
			t.Fatalf("owner preview %+v %v", owner, err)
		}
		// Another organization's id is not found, by every call.
		if _, err := e.svc.Get(ctx, e.ownerB, sg.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("org B Get: %v", err)
		}
		if _, err := e.svc.Contains(ctx, e.orgB, sg.ID, in[0]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("org B Contains: %v", err)
		}
		for _, err := range e.svc.Members(ctx, e.orgB, sg.ID) {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("org B Members: %v", err)
			}
		}
		// A new expression is a new version, evaluated at once.
		expr := `plan == "silver"`
		sg2, err := e.svc.Update(ctx, e.marketerA, sg.ID, segment.Patch{Expression: &expr, Base: 1})
		if err != nil || sg2.Version != 2 || sg2.UsesPHI {
			t.Fatalf("update: %+v %v", sg2, err)
		}
		if got := e.members(t, e.orgA, sg.ID); len(got) != 3 {
			t.Fatalf("after update: %d members, want 3", len(got))
		}
		if _, err := e.svc.Update(ctx, e.marketerA, sg.ID, segment.Patch{Expression: &expr, Base: 1}); !errors.Is(err, segment.ErrStale) {
			t.Fatalf("edit of version 1 after version 2: %v", err)
		}
		// Audited: definitions and the person's evaluations, never the expression.
		var actions []string
		for _, r := range e.auditActions(t, e.orgA) {
			if strings.HasPrefix(r.Action, "segment.") {
				actions = append(actions, r.Action)
				if strings.Contains(r.Details, "diabetes") {
					t.Fatalf("audit entry %s carries the expression: %v", r.Action, r.Details)
				}
			}
		}
		for _, want := range []string{"segment.create", "segment.evaluate", "segment.preview", "segment.update"} {
			if !slices.Contains(actions, want) {
				t.Errorf("no %s in %v", want, actions)
			}
		}
	})
}

func TestSmallCellFloor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		e.fields(t, e.ownerA)
		e.add(t, e.ownerA, patient{condition: "copd", plan: "gold"}, patient{condition: "copd", plan: "gold"},
			patient{condition: "copd", plan: "gold"}, patient{condition: "none", plan: "gold"})
		few, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "COPD", Kind: segment.Dynamic, Expression: `condition == "copd"`})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Preview(ctx, e.marketerA, few.ID, "", 20)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Members.Hidden || p.Members.String() != "fewer than 11" || p.Members.Value != 0 || len(p.Page) != 0 || !p.Subscribed.Hidden {
			t.Fatalf("marketer sees %+v (members %s)", p, p.Members)
		}
		var buf bytes.Buffer
		if _, err := e.svc.Export(ctx, e.marketerA, few.ID, &buf); !errors.Is(err, segment.ErrSmallCell) || buf.Len() != 0 {
			t.Fatalf("marketer export: %v, %d bytes", err, buf.Len())
		}
		// phi:read sees the count, the page and may export.
		p, err = e.svc.Preview(ctx, e.ownerA, few.ID, "", 20)
		if err != nil || p.Members.Hidden || p.Members.Value != 3 || len(p.Page) != 3 {
			t.Fatalf("owner sees %+v, %v", p, err)
		}
		n, err := e.svc.Export(ctx, e.ownerA, few.ID, &buf)
		rows, _ := csv.NewReader(&buf).ReadAll()
		if err != nil || n != 3 || len(rows) != 4 || !slices.Contains(rows[0], "email") {
			t.Fatalf("owner export: %d, %v, %v", n, err, rows)
		}
		// Zero is shown (it singles out nobody), and so is a group at the floor.
		none, _ := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "None", Kind: segment.Dynamic, Expression: `condition == "ckd"`})
		if p, _ := e.svc.Preview(ctx, e.marketerA, none.ID, "", 20); p.Members.Hidden || p.Members.String() != "0" {
			t.Fatalf("empty segment: %s", p.Members)
		}
		var ps []patient
		for range 11 {
			ps = append(ps, patient{condition: "ckd", plan: "bronze"})
		}
		e.add(t, e.ownerA, ps...)
		p, err = e.svc.Preview(ctx, e.marketerA, none.ID, "", 20)
		if err != nil || p.Members.Hidden || p.Members.Value != 11 || len(p.Page) != 11 {
			t.Fatalf("11 at the floor: %+v %v", p.Members, err)
		}
		buf.Reset()
		n, err = e.svc.Export(ctx, e.marketerA, none.ID, &buf)
		rows, _ = csv.NewReader(&buf).ReadAll()
		if err != nil || n != 11 || slices.Contains(rows[0], "email") || slices.Contains(rows[0], "condition") || !slices.Contains(rows[0], "plan") {
			t.Fatalf("marketer export at the floor: %d, %v, header %v", n, err, rows[0])
		}
	})
}

func TestStaticSegment(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		ids := e.add(t, e.ownerA, patient{}, patient{}, patient{})
		other := e.add(t, e.ownerB, patient{})
		st, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "Called back", Kind: segment.Static})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.AddMembers(ctx, e.marketerA, st.ID, []string{ids[0], ids[1], ids[0]}); err != nil || n != 2 {
			t.Fatalf("add: %d %v", n, err)
		}
		// Another organization's contact is refused and nothing is added.
		if _, err := e.svc.AddMembers(ctx, e.marketerA, st.ID, []string{ids[2], other[0]}); err == nil || !strings.Contains(err.Error(), "no such contact") {
			t.Fatalf("foreign contact: %v", err)
		}
		// A workflow adds inside its own transaction.
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error { return e.svc.AddStatic(ctx, tx, e.orgA, st.ID, []string{ids[2]}) })
		if err != nil {
			t.Fatal(err)
		}
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error { return e.svc.AddStatic(ctx, tx, e.orgA, st.ID, []string{ids[2]}) })
		if err != nil {
			t.Fatalf("adding again: %v", err)
		}
		if got := e.members(t, e.orgA, st.ID); !slices.Equal(got, sorted(ids)) {
			t.Fatalf("members %v", got)
		}
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error { return e.svc.AddStatic(ctx, tx, e.orgB, st.ID, []string{other[0]}) })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("org B AddStatic to A's segment: %v", err)
		}
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error { return e.svc.AddStatic(ctx, tx, e.orgA, st.ID, []string{other[0]}) })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AddStatic of org B's contact: %v", err)
		}
		// Several at once (a workflow batch's steps), one of them another
		// organization's: refused whole.
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error {
			return e.svc.AddStatic(ctx, tx, e.orgA, st.ID, []string{ids[2], ids[2], other[0]})
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AddStatic with org B's contact among them: %v", err)
		}
		if n, err := e.svc.RemoveMembers(ctx, e.marketerA, st.ID, []string{ids[1]}); err != nil || n != 1 {
			t.Fatalf("remove: %d %v", n, err)
		}
		if ok, _ := e.svc.Contains(ctx, e.orgA, st.ID, ids[1]); ok {
			t.Fatal("removed member still contained")
		}
		if ok, _ := e.svc.Contains(ctx, e.orgA, st.ID, ids[0]); !ok {
			t.Fatal("member not contained")
		}
		// A deleted contact leaves the segment.
		if err := e.app.Contacts.Delete(ctx, contact.As(e.ownerA), ids[0]); err != nil {
			t.Fatal(err)
		}
		if got := e.members(t, e.orgA, st.ID); !slices.Equal(got, []string{ids[2]}) {
			t.Fatalf("after delete: %v", got)
		}
		// Dynamic segments take no members.
		dyn, _ := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "All", Kind: segment.Dynamic, Expression: `status == "subscribed"`})
		if _, err := e.svc.AddMembers(ctx, e.marketerA, dyn.ID, ids[1:2]); !errors.Is(err, segment.ErrNotStatic) {
			t.Fatalf("add to dynamic: %v", err)
		}
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error { return e.svc.AddStatic(ctx, tx, e.orgA, dyn.ID, []string{ids[1]}) })
		if !errors.Is(err, segment.ErrNotStatic) {
			t.Fatalf("AddStatic to dynamic: %v", err)
		}
	})
}

func TestLookups(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		ids := e.add(t, e.ownerA, patient{}, patient{}, patient{}, patient{})
		a := contact.As(e.ownerA)
		// Missed an appointment: one recently, one long ago.
		if _, err := e.app.Contacts.RecordEvent(ctx, a, ids[0], "appointment_missed", e.clock.Now().AddDate(0, 0, -3), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Contacts.RecordEvent(ctx, a, ids[1], "appointment_missed", e.clock.Now().AddDate(0, 0, -300), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Contacts.RecordEvent(ctx, a, ids[1], "appointment_missed", e.clock.Now().AddDate(0, 0, -200), nil); err != nil {
			t.Fatal(err)
		}
		lst, err := e.app.Contacts.CreateList(ctx, a, "Newsletter", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.Contacts.SetMembers(ctx, a, lst.ID, ids[2:4], contact.MemberSubscribed); err != nil {
			t.Fatal(err)
		}
		if err := e.app.Contacts.SetMembers(ctx, a, lst.ID, ids[3:4], contact.MemberUnsubscribed); err != nil {
			t.Fatal(err)
		}
		err = e.app.DB.Tx(ctx, func(tx *store.Tx) error {
			_, err := store.RecordEngagement(ctx, tx, store.Engagement{OrgID: e.orgA, CampaignID: "cmp_spring", ContactID: ids[3], At: e.clock.Now().AddDate(0, 0, -2)})
			if err != nil {
				return err
			}
			// A privacy proxy's fetch is not an open.
			_, err = store.RecordEngagement(ctx, tx, store.Engagement{OrgID: e.orgA, CampaignID: "cmp_spring", ContactID: ids[2], Machine: true, At: e.clock.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for expr, want := range map[string][]string{
			`has_event("appointment_missed")`:          {ids[0], ids[1]},
			`has_event("appointment_missed", 30)`:      {ids[0]},
			`event_count("appointment_missed") >= 2`:   {ids[1]},
			`not has_event("appointment_missed", 365)`: {ids[2], ids[3]},
			`in_list("` + lst.ID + `")`:                {ids[2]},
			`opened("cmp_spring")`:                     {ids[3]},
			`opened(7) and not clicked()`:              {ids[3]},
			`opened() or in_list("` + lst.ID + `")`:    {ids[2], ids[3]},
		} {
			sg, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: expr, Kind: segment.Dynamic, Expression: expr})
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			if sg.UsesPHI {
				t.Errorf("%s: reads no PHI field but says it does", expr)
			}
			if got := e.members(t, e.orgA, sg.ID); !slices.Equal(got, sorted(want)) {
				t.Errorf("%s: members %v, want %v", expr, got, sorted(want))
			}
			for _, id := range ids {
				ok, err := e.svc.Contains(ctx, e.orgA, sg.ID, id)
				if err != nil || ok != slices.Contains(want, id) {
					t.Errorf("%s: Contains(%s) = %v %v", expr, id, ok, err)
				}
			}
		}
		// A list that does not exist is an error at the id.
		_, err = e.svc.Create(ctx, e.marketerA, segment.Input{Name: "x", Kind: segment.Dynamic, Expression: `in_list("lst_nope")`})
		var se *segment.Error
		if !errors.As(err, &se) || se.Column != 9 || !strings.Contains(se.Message, "no list") {
			t.Fatalf("unknown list: %v", err)
		}
	})
}

func TestExpressionErrorsOnSave(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	ctx := context.Background()
	e.fields(t, e.ownerA)
	_, err := e.svc.Create(ctx, e.marketerA, segment.Input{Name: "Typo", Kind: segment.Dynamic,
		Expression: "condition == \"diabetes\"\n  and days_since(lastvisit) > 180"})
	var se *segment.Error
	if !errors.As(err, &se) || se.Line != 2 || se.Column != 18 || !strings.Contains(se.Message, "did you mean last_visit?") ||
		!strings.HasSuffix(se.Snippet, "\n | .................^") {
		t.Fatalf("error %#v", err)
	}
	// Nothing was saved.
	if sgs, _ := e.svc.List(ctx, e.marketerA); len(sgs) != 0 {
		t.Fatalf("saved %v", sgs)
	}
	// A field of organization A is unknown in organization B.
	e.add(t, e.ownerB, patient{})
	if _, err := e.svc.Create(ctx, e.ownerB, segment.Input{Name: "x", Kind: segment.Dynamic, Expression: `condition == "x"`}); !errors.As(err, &se) {
		t.Fatalf("org B using org A's field: %v", err)
	}
	// Without segments:write nothing is defined.
	reader := auth.Principal{OrgID: e.orgA, UserID: "usr_reader", Perms: access.NewSet(access.ContactsRead)}
	if _, err := e.svc.Create(ctx, reader, segment.Input{Name: "x", Kind: segment.Dynamic, Expression: `plan == "x"`}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("reader creates: %v", err)
	}
}
