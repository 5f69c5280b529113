package keydir_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

const jane = "jane@patients.example"

func TestUploadRefusesUnusableKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil, nil)
		ctx := context.Background()
		other := testpki.NewCA(t, "Untrusted CA")
		pemOf := func(ca *testpki.CA, o testpki.Options) []byte {
			c, _ := testpki.PEM(t, ca.Leaf(t, nil, o))
			return c
		}
		_, expired := pgpKey(t, keyOpts{email: jane, created: time.Now().Add(-48 * time.Hour), lifetime: time.Hour})
		_, revoked := pgpKey(t, keyOpts{email: jane, revoke: true})
		_, valid := pgpKey(t, keyOpts{email: jane})
		tests := []struct {
			name, email string
			data        []byte
			msg         string
		}{
			{"expired OpenPGP key", "", expired, "expired"},
			{"revoked OpenPGP key", "", revoked, "revoked"},
			{"address not on the key", "john@patients.example", valid, "no valid"},
			{"untrusted chain", "", pemOf(other, testpki.Options{RSA: true, Email: []string{jane}}), "does not chain"},
			{"expired certificate", "", pemOf(e.ca, testpki.Options{RSA: true, Email: []string{jane}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}), "expired"},
			{"certificate for another address", jane, pemOf(e.ca, testpki.Options{RSA: true, Email: []string{"john@patients.example"}}), "not issued for this address"},
			{"EC certificate", "", pemOf(e.ca, testpki.Options{Email: []string{jane}}), "key agreement"},
			{"neither kind", "", []byte("hello"), "send an OpenPGP public key"},
		}
		for _, tt := range tests {
			_, err := e.svc.Add(ctx, e.actor(e.orgA), tt.data, tt.email)
			var in *auth.InputError
			if !errors.As(err, &in) || !strings.Contains(in.Msg, tt.msg) {
				t.Errorf("%s: %v, want an input error containing %q", tt.name, err, tt.msg)
			}
		}
		if l, err := e.svc.List(ctx, e.actor(e.orgA), ""); err != nil || len(l) != 0 {
			t.Fatalf("refused uploads stored: %+v, %v", l, err)
		}
	})
}

func TestKeysAreCheckedWhenUsed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil, nil)
		ctx := context.Background()
		a := e.actor(e.orgA)
		_, short := pgpKey(t, keyOpts{email: jane, created: time.Now().Add(-time.Minute), lifetime: 2 * time.Hour})
		pe, err := e.svc.Add(ctx, a, short, "")
		if err != nil || pe.Status != keydir.StatusValid || pe.Kind != keydir.KindPGP || len(pe.Emails) != 1 || pe.Emails[0] != jane {
			t.Fatalf("add: %+v, %v", pe, err)
		}
		certPEM, _ := testpki.PEM(t, e.ca.Leaf(t, nil, testpki.Options{RSA: true, Email: []string{"john@patients.example"}, NotAfter: time.Now().Add(3 * time.Hour)}))
		se, err := e.svc.Add(ctx, a, certPEM, "John@Patients.example")
		if err != nil || se.Kind != keydir.KindSMIME || se.Algorithm != "rsa2048" {
			t.Fatalf("add certificate: %+v, %v", se, err)
		}
		for _, c := range []struct{ addr, kind string }{{jane, "pgp"}, {"JOHN@patients.example", "smime"}} {
			if kind, ok, err := e.svc.HasValidKey(ctx, e.orgA, c.addr); err != nil || !ok || kind != c.kind {
				t.Fatalf("HasValidKey(%s) = %q %v %v", c.addr, kind, ok, err)
			}
		}
		// Organization B sees none of it.
		if _, ok, err := e.svc.HasValidKey(ctx, e.orgB, jane); ok || err != nil {
			t.Fatalf("organization B has A's key: %v %v", ok, err)
		}
		if _, err := e.svc.Get(ctx, e.actor(e.orgB), pe.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B reads A's entry: %v", err)
		}
		if err := e.svc.Delete(ctx, e.actor(e.orgB), pe.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B deletes A's entry: %v", err)
		}

		// Time passes: the OpenPGP key expires, then the certificate.
		e.clock.Advance(150 * time.Minute)
		if _, ok, _ := e.svc.HasValidKey(ctx, e.orgA, jane); ok {
			t.Fatal("an expired OpenPGP key is still used")
		}
		if _, _, err := e.svc.Encrypt(ctx, e.orgA, jane, []byte("From: a@b.example\r\n\r\nx\r\n")); !errors.Is(err, keydir.ErrNoKey) {
			t.Fatalf("Encrypt to an expired key: %v", err)
		}
		if g, _ := e.svc.Get(ctx, a, pe.ID); g.Status != keydir.StatusExpired {
			t.Fatalf("status after expiry %+v", g)
		}
		e.clock.Advance(time.Hour)
		if _, ok, _ := e.svc.HasValidKey(ctx, e.orgA, "john@patients.example"); ok {
			t.Fatal("an expired certificate is still used")
		}
		if err := e.svc.Delete(ctx, a, se.ID); err != nil {
			t.Fatal(err)
		}
		if l, _ := e.svc.List(ctx, a, ""); len(l) != 1 || l[0].ID != pe.ID {
			t.Fatalf("after delete %+v", l)
		}
	})
}

func TestRevokedReuploadStopsUse(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil, nil)
	ctx := context.Background()
	a := e.actor(e.orgA)
	ent, pub := pgpKey(t, keyOpts{email: jane})
	first, err := e.svc.Add(ctx, a, pub, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ent.RevokeKey(0, "compromised laptop", nil); err != nil {
		t.Fatal(err)
	}
	revoked := armoredOf(t, ent)
	if _, err := e.svc.Add(ctx, a, revoked, ""); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked re-upload: %v", err)
	}
	if _, ok, _ := e.svc.HasValidKey(ctx, e.orgA, jane); ok {
		t.Fatal("the stored copy of a revoked key is still used")
	}
	g, err := e.svc.Get(ctx, a, first.ID)
	if err != nil || g.Status != keydir.StatusRevoked {
		t.Fatalf("entry after revocation %+v, %v", g, err)
	}
	// The audit log has the add and the update, and no address.
	entries, err := store.AuditRecords(ctx, e.app.DB.Reader(), e.orgA, 0, 1<<40, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "recipient_key.") {
			actions = append(actions, en.Action)
			if strings.Contains(en.Details, "@") {
				t.Errorf("audit details carry an address: %s", en.Details)
			}
		}
	}
	if strings.Join(actions, " ") != "recipient_key.add recipient_key.update" {
		t.Fatalf("audited %v", actions)
	}
}
