package contact_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func newPatient(e *env) contact.Input {
	return contact.Input{Email: ptr("Jane.Roe@Example.org"), Phone: ptr("+1 (555) 010-0199"), FirstName: ptr("Jane"),
		LastName: ptr("Roe"), Timezone: ptr("America/Chicago"), Locale: ptr("en-us"),
		Fields: map[string]any{"condition": "diabetes", "birth_date": "1961-04-02", "plan": "gold"}}
}

func TestCreateReadMaskAndAudit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ctx := context.Background()
		e.workloadFields(t, e.orgA)
		if _, err := e.svc.CreateField(ctx, e.owner(e.orgA), contact.FieldInput{Key: "channel", Type: contact.TypeText, PHI: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		in := newPatient(e)
		in.Fields["channel"] = "email"
		v, err := e.svc.Create(ctx, e.owner(e.orgA), in)
		if err != nil {
			t.Fatal(err)
		}
		if v.Email != "Jane.Roe@example.org" || v.Phone != "+15550100199" || v.Locale != "en-US" || v.Status != contact.Subscribed {
			t.Fatalf("normalized view = %+v", v)
		}

		// A marketer (no phi:read) sees PHI masked, non-PHI in clear, and
		// is not audited for a read of PHI it did not see.
		m, err := e.svc.Get(ctx, marketer(e.orgA), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Email != access.Masked || m.FirstName != access.Masked || m.Fields["condition"] != access.Masked || !m.Masked {
			t.Fatalf("marketer sees %+v", m)
		}
		if m.Fields["channel"] != "email" || m.Timezone != "America/Chicago" {
			t.Fatalf("marketer lost non-PHI: %+v", m)
		}
		if n := len(e.auditEntries(t, e.orgA, "contact.phi.read")); n != 0 {
			t.Fatalf("masked read audited %d times", n)
		}

		// A reader with phi:read sees it, and the read is audited: one
		// entry naming the contact and the fields, no values.
		r, err := e.svc.Get(ctx, e.owner(e.orgA), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Fields["condition"] != "diabetes" || r.Fields["birth_date"] != "1961-04-02" || r.LastName != "Roe" {
			t.Fatalf("reader sees %+v", r)
		}
		reads := e.auditEntries(t, e.orgA, "contact.phi.read")
		if len(reads) != 1 || reads[0].TargetID != v.ID || !strings.Contains(reads[0].Details, "condition") {
			t.Fatalf("read audit = %+v", reads)
		}
		if strings.Contains(reads[0].Details, "diabetes") || strings.Contains(reads[0].Details, "Roe") {
			t.Fatalf("audit entry carries PHI: %s", reads[0].Details)
		}

		// Email lookup goes through the blind index, case-insensitively.
		page, err := e.svc.Search(ctx, e.owner(e.orgA), contact.Query{Email: "jane.roe@EXAMPLE.org"})
		if err != nil || len(page.Contacts) != 1 || page.Contacts[0].ID != v.ID {
			t.Fatalf("lookup by email: %+v %v", page, err)
		}
		if page, _ := e.svc.Search(ctx, e.owner(e.orgB), contact.Query{Email: "jane.roe@example.org"}); len(page.Contacts) != 0 {
			t.Fatal("organization B found A's contact by address")
		}
		if _, err := e.svc.Get(ctx, e.owner(e.orgB), v.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("organization B read A's contact: %v", err)
		}
		// Non-PHI fields filter; PHI fields cannot be searched.
		if page, err := e.svc.Search(ctx, marketer(e.orgA), contact.Query{Fields: map[string]string{"channel": "email"}}); err != nil || len(page.Contacts) != 1 {
			t.Fatalf("search by non-PHI field: %+v %v", page, err)
		}
		var fes message.FieldErrors
		if _, err := e.svc.Search(ctx, e.owner(e.orgA), contact.Query{Fields: map[string]string{"condition": "diabetes"}}); !errors.As(err, &fes) {
			t.Fatalf("search by PHI field: %v", err)
		}
		// The same address again is a conflict.
		if _, err := e.svc.Create(ctx, e.owner(e.orgA), contact.Input{Email: ptr("JANE.ROE@example.org")}); !errors.Is(err, contact.ErrEmailTaken) {
			t.Fatalf("duplicate address: %v", err)
		}
	})
}

func TestUpdateAndStatusSuppresses(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ctx := context.Background()
		e.workloadFields(t, e.orgA)
		v, err := e.svc.Create(ctx, e.owner(e.orgA), newPatient(e))
		if err != nil {
			t.Fatal(err)
		}
		u, err := e.svc.Update(ctx, e.owner(e.orgA), v.ID, contact.Input{LastName: ptr("Doe"),
			Fields: map[string]any{"condition": nil, "zip": "60601"}, Status: ptr(contact.Bounced)})
		if err != nil {
			t.Fatal(err)
		}
		if u.LastName != "Doe" || u.FirstName != "Jane" || u.Fields["zip"] != "60601" || u.Fields["condition"] != nil {
			t.Fatalf("updated = %+v", u)
		}
		// A bounced contact's address is on the delivery suppression list.
		ix, err := e.index.Lookup(ctx, e.db.Reader(), e.orgA, "email", "jane.roe@example.org")
		if err != nil {
			t.Fatal(err)
		}
		sup, err := store.Suppressed(ctx, e.db.Reader(), e.orgA, [][]byte{ix})
		if err != nil || sup[string(ix)] == "" {
			t.Fatalf("bounced contact not suppressed: %v %v", sup, err)
		}
		var scanned contact.Contact
		if err := e.svc.Scan(ctx, e.orgA, func(c contact.Contact) error { scanned = c; return nil }); err != nil {
			t.Fatal(err)
		}
		if contact.Sendable(scanned) || scanned.Suppression == "" {
			t.Fatalf("bounced contact is sendable: %+v", scanned)
		}
		// Back to subscribed by hand: still suppressed, still not sendable.
		if _, err := e.svc.Update(ctx, e.owner(e.orgA), v.ID, contact.Input{Status: ptr(contact.Subscribed)}); err != nil {
			t.Fatal(err)
		}
		_ = e.svc.Scan(ctx, e.orgA, func(c contact.Contact) error { scanned = c; return nil })
		if contact.Sendable(scanned) {
			t.Fatal("a suppressed address became sendable")
		}
		if _, err := e.svc.Update(ctx, e.owner(e.orgB), v.ID, contact.Input{LastName: ptr("X")}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("organization B updated A's contact: %v", err)
		}
	})
}
