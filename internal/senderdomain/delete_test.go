package senderdomain_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestPrivateKeysAreNotInTheDatabaseFile(t *testing.T) {
	t.Parallel()
	e := setup(t, store.SQLite, nil)
	s := e.app.Domains
	dom, recs := add(t, s, admin(e.orgA), "riverside.example")
	e.publish(recs)
	if _, _, err := s.Check(context.Background(), admin(e.orgA), dom.ID); err != nil {
		t.Fatal(err)
	}
	rsaDER, edDER, keys := e.storedKeys(t, e.orgA.ID, dom.ID)
	secrets := map[string][]byte{
		"RSA PKCS #8":            rsaDER,
		"RSA PKCS #8 base64":     []byte(base64.StdEncoding.EncodeToString(rsaDER)),
		"RSA private exponent":   keys.RSA.D.Bytes(),
		"RSA prime":              keys.RSA.Primes[0].Bytes(),
		"Ed25519 PKCS #8":        edDER,
		"Ed25519 PKCS #8 base64": []byte(base64.StdEncoding.EncodeToString(edDER)),
		"Ed25519 seed":           keys.Ed25519.Seed(),
	}
	var raw []byte
	for _, f := range []string{"carepost.db", "carepost.db-wal"} {
		b, err := os.ReadFile(filepath.Join(e.app.Config.Data.Dir, f))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if !bytes.Contains(raw, []byte("riverside.example")) {
		t.Fatal("the test reads the wrong files: the domain name is not in them")
	}
	for what, secret := range secrets {
		if bytes.Contains(raw, secret) {
			t.Errorf("the database file holds the %s in the clear", what)
		}
	}
}

func TestDeleteWaitsForQueuedMail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, nil)
		s := e.app.Domains
		dom, _ := verifiedDomain(t, e, s)
		queue(t, e, e.orgA.ID, "riverside.example", "queued")
		queue(t, e, e.orgA.ID, "riverside.example", "delivered")
		var inUse *senderdomain.InUseError
		if err := s.Delete(ctx, admin(e.orgA), dom.ID); !errors.As(err, &inUse) || inUse.Undelivered != 1 {
			t.Fatalf("delete with mail queued: %v", err)
		}
		if _, err := s.Signer(ctx, e.orgA.ID, "riverside.example"); err != nil {
			t.Fatalf("the refused delete changed something: %v", err)
		}
		if err := e.app.DB.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE recipients SET state = 'bounced' WHERE org_id = ?`, e.orgA.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, admin(e.orgA), dom.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, admin(e.orgA), dom.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if !strings.HasSuffix(e.auditActions(t, e.orgA.ID), "domain.delete") {
			t.Fatalf("audit: %s", e.auditActions(t, e.orgA.ID))
		}
		// The name is free again, for anyone.
		add(t, s, admin(e.orgB), "riverside.example")
	})
}

// queue stores a message from domain with one recipient in state.
func queue(t *testing.T, e *env, org, domain, state string) {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	msg := "msg_" + state
	err := e.app.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.InsertMessage(ctx, tx, store.MessageRow{ID: msg, OrgID: org, Source: "api", SubmitterType: "apikey",
			SubmitterID: "key", MailFrom: "appointments@" + domain, FromDomain: domain, Security: "auto", Content: []byte{1},
			DEKVersion: 1, Tags: "[]", Metadata: "{}", Recipients: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		return store.InsertRecipients(ctx, tx, []store.RecipientRow{{ID: "rcpt_" + state, OrgID: org, MessageID: msg, Kind: "to",
			Address: []byte{1}, AddressIndex: []byte(state), Domain: "patient.example", State: state, Level: "tls", Rule: "default",
			NextAttemptAt: now, DEKVersion: 1, UpdatedAt: now}})
	})
	if err != nil {
		t.Fatal(err)
	}
}
