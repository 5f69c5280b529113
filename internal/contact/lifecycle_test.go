package contact_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestConsentValidity(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		c    contact.Consent
		ok   bool
	}{
		{"none", contact.Consent{}, false},
		{"valid", contact.Consent{ID: "cns_1", GrantedAt: now.AddDate(-1, 0, 0), ExpiresAt: now.AddDate(1, 0, 0)}, true},
		{"expired", contact.Consent{ID: "cns_1", GrantedAt: now.AddDate(-2, 0, 0), ExpiresAt: now.AddDate(0, 0, -1)}, false},
		{"expires this instant", contact.Consent{ID: "cns_1", GrantedAt: now.AddDate(-2, 0, 0), ExpiresAt: now}, false},
		{"revoked", contact.Consent{ID: "cns_1", GrantedAt: now.AddDate(-1, 0, 0), ExpiresAt: now.AddDate(1, 0, 0), RevokedAt: now.Add(-time.Hour)}, false},
		{"revocation later", contact.Consent{ID: "cns_1", GrantedAt: now.AddDate(-1, 0, 0), ExpiresAt: now.AddDate(1, 0, 0), RevokedAt: now.Add(time.Hour)}, true},
		{"granted later", contact.Consent{ID: "cns_1", GrantedAt: now.Add(time.Hour), ExpiresAt: now.AddDate(1, 0, 0)}, false},
		{"expiry event only", contact.Consent{ID: "cns_1", GrantedAt: now.AddDate(-1, 0, 0)}, true},
	}
	for _, c := range cases {
		if got := contact.CanMarketPHI(contact.Contact{Consent: c.c}, now); got != c.ok {
			t.Errorf("%s: CanMarketPHI = %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestConsentGrantRevokeAndRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ctx := context.Background()
		a := e.owner(e.orgA)
		v, err := e.svc.Create(ctx, a, contact.Input{Email: ptr("pat@patients.test")})
		if err != nil {
			t.Fatal(err)
		}
		var fes message.FieldErrors
		if _, err := e.svc.Grant(ctx, a, v.ID, contact.Authorization{Method: contact.Written, TextVersion: "v1", Source: "front-desk"}); !errors.As(err, &fes) || fes[0].Field != "expires_at" {
			t.Fatalf("an authorization without expiry was accepted: %v", err)
		}
		g, err := e.svc.Grant(ctx, a, v.ID, contact.Authorization{Method: contact.Written, Text: "I authorize Riverside Clinic to …",
			Source: "front-desk", ExpiresAt: e.clock.Now().AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(g.TextVersion, "sha256:") {
			t.Fatalf("text version = %q", g.TextVersion)
		}
		if got, _ := e.svc.Get(ctx, a, v.ID); !got.ConsentValid || got.Consent.ID != g.ID {
			t.Fatalf("after grant: %+v", got.Consent)
		}
		if _, err := e.svc.Revoke(ctx, e.owner(e.orgB), g.ID, time.Time{}, "letter"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("organization B revoked A's authorization: %v", err)
		}
		if _, err := e.svc.Revoke(ctx, a, g.ID, time.Time{}, "letter"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Revoke(ctx, a, g.ID, time.Time{}, "letter"); !errors.Is(err, contact.ErrRevoked) {
			t.Fatalf("revoked twice: %v", err)
		}
		var c contact.Contact
		_ = e.svc.Scan(ctx, e.orgA, func(x contact.Contact) error { c = x; return nil })
		if contact.CanMarketPHI(c, e.clock.Now()) {
			t.Fatal("a revoked authorization still permits marketing")
		}
		list, err := e.svc.Authorizations(ctx, a, v.ID)
		if err != nil || len(list) != 1 || list[0].RevokeSource != "letter" {
			t.Fatalf("history = %+v %v", list, err)
		}
	})
}

func TestDeleteCryptoShreds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		e.workloadFields(t, e.orgA)
		ctx := context.Background()
		a := e.owner(e.orgA)
		v, err := e.svc.Create(ctx, a, newPatient(e))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RecordEvent(ctx, a, v.ID, "appointment_missed", time.Time{}, map[string]any{"department": "cardiology"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Grant(ctx, a, v.ID, contact.Authorization{Method: contact.Electronic, TextVersion: "v1", Source: "portal", ExpiryEvent: "end of programme"}); err != nil {
			t.Fatal(err)
		}
		// Keep the row's bytes, as a copy of the database would.
		row, err := store.GetContact(ctx, e.db.Reader(), e.orgA, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.OpenSealedPHI(ctx, e.orgA, v.ID, row.PHI); err != nil {
			t.Fatalf("before delete the kept bytes should open: %v", err)
		}
		if err := e.svc.Delete(ctx, e.owner(e.orgB), v.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("organization B deleted A's contact: %v", err)
		}
		if err := e.svc.Delete(ctx, a, v.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.OpenSealedPHI(ctx, e.orgA, v.ID, row.PHI); !errors.Is(err, contact.ErrShredded) {
			t.Fatalf("the kept bytes still open after delete: %v", err)
		}
		// Put the row back byte for byte: it still does not open, since its
		// key is gone.
		err = e.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO contacts (org_id, id, email_index, status, attrs, phi, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				row.OrgID, row.ID, row.EmailIndex, row.Status, row.Attrs, row.PHI, store.Micros(row.CreatedAt), store.Micros(row.UpdatedAt))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.OpenSealedPHI(ctx, e.orgA, v.ID, row.PHI); !errors.Is(err, contact.ErrShredded) {
			t.Fatalf("a restored row opened: %v", err)
		}
		if _, err := e.svc.Get(ctx, a, v.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a shredded contact reads: %v", err)
		}
		// The authorization is retained (HIPAA 164.530(j)), without PHI.
		var n int
		if err := e.db.Reader().QueryRow(ctx, `SELECT count(*) FROM contact_consents WHERE org_id = ? AND contact_id = ?`, e.orgA, v.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("authorizations after delete: %d %v", n, err)
		}
		if del := e.auditEntries(t, e.orgA, "contact.delete"); len(del) != 1 || del[0].TargetID != v.ID {
			t.Fatalf("delete audit = %+v", del)
		}
	})
}

func TestEventsListsExport(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		e.workloadFields(t, e.orgA)
		ctx := context.Background()
		a := e.owner(e.orgA)
		imp := e.importCSV(t, e.orgA, workloadCSV(30, 5), contact.ImportRequest{Mapping: workloadMapping(), Consent: consentTemplate(e.clock.Now())})
		if imp.Created != 30 {
			t.Fatalf("import = %+v", imp)
		}
		var ids []string
		_ = e.svc.Scan(ctx, e.orgA, func(c contact.Contact) error { ids = append(ids, c.ID); return nil })
		l, err := e.svc.CreateList(ctx, a, "Diabetes education", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetMembers(ctx, a, l.ID, ids[:10], contact.MemberSubscribed); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetMembers(ctx, a, l.ID, ids[:2], contact.MemberUnsubscribed); err != nil {
			t.Fatal(err)
		}
		n := 0
		_ = e.svc.ScanWith(ctx, e.orgA, contact.ScanOptions{ListID: l.ID}, func(contact.Contact) error { n++; return nil })
		if got, _ := e.svc.GetList(ctx, a, l.ID); n != 8 || got.Subscribed != 8 {
			t.Fatalf("list scan %d, count %d; want 8", n, got.Subscribed)
		}
		if err := e.svc.SetMembers(ctx, e.owner(e.orgB), l.ID, ids[:1], contact.MemberSubscribed); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("organization B changed A's list: %v", err)
		}

		// Events: name and time queryable, properties sealed and masked.
		for i := range 3 {
			if _, err := e.svc.RecordEvent(ctx, a, ids[i%2], "appointment_missed", e.clock.Now().Add(-time.Duration(i)*time.Hour),
				map[string]any{"clinic": "north"}); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := e.svc.EventCounts(ctx, e.orgA, "appointment_missed", e.clock.Now().Add(-24*time.Hour), time.Time{})
		if err != nil || counts[ids[0]] != 2 || counts[ids[1]] != 1 {
			t.Fatalf("event counts = %v %v", counts, err)
		}
		evs, err := e.svc.Events(ctx, marketer(e.orgA), ids[0], contact.EventQuery{})
		if err != nil || len(evs) != 2 || !evs[0].Masked || evs[0].Properties != nil {
			t.Fatalf("marketer events = %+v %v", evs, err)
		}
		if evs, _ := e.svc.Events(ctx, a, ids[0], contact.EventQuery{}); evs[0].Properties["clinic"] != "north" {
			t.Fatalf("reader events = %+v", evs)
		}

		// Export: PHI columns only with phi:read, both audited.
		var full, masked bytes.Buffer
		if n, err := e.svc.Export(ctx, a, &full, contact.ExportOptions{ListID: l.ID}); err != nil || n != 8 {
			t.Fatalf("export %d %v", n, err)
		}
		if n, err := e.svc.Export(ctx, marketer(e.orgA), &masked, contact.ExportOptions{
			Match: func(c contact.Contact) bool { return c.Fields["condition"].Text == "diabetes" }}); err != nil || n == 0 || n == 30 {
			t.Fatalf("segment export %d %v", n, err)
		}
		head := func(b *bytes.Buffer) []string { r, _ := csv.NewReader(bytes.NewReader(b.Bytes())).Read(); return r }
		if h := strings.Join(head(&full), ","); !strings.Contains(h, "email") || !strings.Contains(h, "condition") {
			t.Fatalf("full export header = %s", h)
		}
		if h := strings.Join(head(&masked), ","); strings.Contains(h, "email") || strings.Contains(h, "condition") || strings.Contains(masked.String(), "@patients.test") {
			t.Fatalf("export without phi:read carries PHI: %s", h)
		}
		if ex := e.auditEntries(t, e.orgA, "contact.export"); len(ex) != 2 || !strings.Contains(ex[0].Details, `"phi":"true"`) {
			t.Fatalf("export audit = %+v", ex)
		}
	})
}
