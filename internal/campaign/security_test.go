package campaign_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/pgp/pgptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestTrackingOnlyForOrdinaryEmailAndTLSOnlyDrops sends one campaign with
// the organization's policy and one "TLS only, else drop", each to a
// patient at a domain that gets verified TLS and one at an always-portal
// domain (gmail.com, where PHI goes to the portal by default policy). The
// TLS message is tracked; the portal one carries no pixel and no redirect;
// the TLS-only campaign drops the portal recipient instead of notifying it;
// every message has DKIM-ready list headers.
func TestTrackingOnlyForOrdinaryEmailAndTLSOnlyDrops(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ids := e.contacts(person{local: "ada", consent: true}, person{local: "ben", domain: "gmail.com", consent: true})

		auto := e.send(e.create(nil))
		rs := e.recipients(auto.ID)
		tls, portal := rs[ids["ada"]], rs[ids["ben"]]
		if tls.State != "sent" || portal.State != "sent" {
			t.Fatalf("auto campaign: %+v %+v", tls, portal)
		}
		if st := e.state(portal.MessageID); st.State != outbox.StatePortal {
			t.Fatalf("gmail.com recipient is %s (%s), want portal", st.State, st.LastReason)
		}
		tracked, plain := e.parsed(tls.MessageID), e.parsed(portal.MessageID)
		if !strings.Contains(tracked.HTML, "/t/o/") || !strings.Contains(tracked.HTML, "/t/c/") || !strings.Contains(tracked.Text, "/t/c/") {
			t.Error("the TLS message has no open pixel or click redirects")
		}
		if strings.Contains(tracked.HTML+tracked.Text, "clinic.example/book") {
			t.Error("the TLS message kept a link untracked")
		}
		if strings.Contains(plain.HTML+plain.Text, "/t/o/") || strings.Contains(plain.HTML+plain.Text, "/t/c/") {
			t.Error("the portal message carries tracking")
		}
		if !strings.Contains(plain.HTML, "clinic.example/book") {
			t.Error("the portal message lost its links")
		}
		for _, m := range []*message.Parsed{tracked, plain} {
			if !strings.HasPrefix(header(m, "List-Unsubscribe"), "<https://") || header(m, "List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("a campaign message lacks its RFC 8058 headers: %q %q", header(m, "List-Unsubscribe"), header(m, "List-Unsubscribe-Post"))
			}
		}
		rep := e.report(auto.ID, e.admin())
		if rep.Methods["tls"].N != 1 || rep.Methods["portal"].N != 1 || rep.Delivery["portal"].N != 1 {
			t.Fatalf("auto report methods %+v delivery %+v", rep.Methods, rep.Delivery)
		}

		only := e.send(e.create(func(in *campaign.Input) { s := campaign.SecurityTLSOnly; in.Security = &s }))
		rs = e.recipients(only.ID)
		if st := e.state(rs[ids["ben"]].MessageID); st.State != outbox.StateFailed || !strings.Contains(st.LastReason, "dropped by policy") {
			t.Fatalf("TLS-only gmail.com recipient is %s (%s), want failed: dropped", st.State, st.LastReason)
		}
		if n := e.count(`SELECT count(*) FROM portal_items WHERE message_id = ?`, rs[ids["ben"]].MessageID); n != 0 {
			t.Fatal("a TLS-only campaign's recipient went to the portal")
		}
		if st := e.state(rs[ids["ada"]].MessageID); st.State == outbox.StateFailed || st.State == outbox.StatePortal {
			t.Fatalf("TLS-only verified recipient is %s", st.State)
		}
		rep = e.report(only.ID, e.admin())
		if rep.Methods["dropped"].N != 1 || rep.Delivery["dropped"].N != 1 || rep.Methods["tls"].N != 1 || rep.Methods["portal"].N != 0 {
			t.Fatalf("TLS-only report methods %+v delivery %+v", rep.Methods, rep.Delivery)
		}
	})
}

// header is the unfolded value of a message's first field name.
func header(m *message.Parsed, name string) string {
	for _, h := range m.Header {
		if strings.EqualFold(h.Name, name) {
			return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(h.Value, "\r\n", ""), "\t", " "))
		}
	}
	return ""
}

// TestKeyHoldersGetE2EBeforeThePortal: the batch reads its recipients'
// keys at once (keydir.KeySet), and the policy still offers end-to-end
// encryption before the portal exactly to the patient whose key is in
// the directory.
func TestKeyHoldersGetE2EBeforeThePortal(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ids := e.contacts(person{local: "ada", consent: true}, person{local: "cat", consent: true})
		if _, err := e.a.Keydir.Add(context.Background(), keydir.System(e.org, "test"), pgptest.PublicKey(t, "cat@patients.test", e.clock.Now().Add(-time.Minute)), ""); err != nil {
			t.Fatal(err)
		}

		rs := e.recipients(e.send(e.create(nil)).ID)
		for local, wantE2E := range map[string]bool{"ada": false, "cat": true} {
			row := e.state(rs[ids[local]].MessageID)
			ps, err := store.RecipientPoliciesByID(context.Background(), e.a.DB.Reader(), []string{row.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(ps[row.ID].Methods, "e2e"); got != wantE2E {
				t.Errorf("%s: methods %q, e2e offered %v, want %v", local, ps[row.ID].Methods, got, wantE2E)
			}
		}
	})
}
