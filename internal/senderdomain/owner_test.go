package senderdomain_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestADomainHasOneOwnerAndTheRefusalDoesNotSayWho(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, nil)
		s := e.app.Domains
		dom, _ := add(t, s, admin(e.orgA), "riverside.example")

		for _, name := range []string{"riverside.example", "RIVERSIDE.example.", "taken.example"} {
			if name == "taken.example" {
				add(t, s, admin(e.orgA), name)
			}
			_, _, err := s.Add(ctx, admin(e.orgB), name)
			msg := inputMsg(err)
			if msg == "" || !strings.Contains(msg, "cannot be added") {
				t.Fatalf("org B adding %s: %v, want an input error", name, err)
			}
			if strings.Contains(err.Error(), e.orgA.ID) || strings.Contains(err.Error(), e.orgA.Name) || strings.Contains(err.Error(), dom.ID) {
				t.Fatalf("the refusal names the owner: %v", err)
			}
		}
		if _, _, err := s.Add(ctx, admin(e.orgA), "riverside.example"); !strings.Contains(inputMsg(err), "your organization") {
			t.Fatalf("org A adding its own domain again: %v", err)
		}
		if list, err := s.List(ctx, admin(e.orgB)); err != nil || len(list) != 0 {
			t.Fatalf("org B's list: %v, %v", list, err)
		}
	})
}

func TestAnExpiredPendingClaimIsReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), nil)
	s := e.app.Domains
	squatted, _ := add(t, s, admin(e.orgA), "squatted.example")
	owned, recs := add(t, s, admin(e.orgA), "owned.example")
	e.publish(recs)
	if _, _, err := s.Check(ctx, admin(e.orgA), owned.ID); err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(6 * 24 * time.Hour)
	if _, _, err := s.Add(ctx, admin(e.orgB), "squatted.example"); inputMsg(err) == "" {
		t.Fatalf("a six-day-old claim was taken over: %v", err)
	}
	e.clock.Advance(2 * 24 * time.Hour)
	if _, _, err := s.Add(ctx, admin(e.orgB), "owned.example"); inputMsg(err) == "" {
		t.Fatalf("a verified domain was taken over: %v", err)
	}
	got, _ := add(t, s, admin(e.orgB), "squatted.example")
	if got.OrgID != e.orgB.ID {
		t.Fatalf("taken over by %s", got.OrgID)
	}
	if _, err := s.Get(ctx, admin(e.orgA), squatted.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("org A still has the released claim: %v", err)
	}
	if !strings.Contains(e.auditActions(t, e.orgA.ID), "domain.release") {
		t.Fatal("the release is not in org A's audit chain")
	}
}

func TestAnotherOrganizationCannotReachADomain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), nil)
	s := e.app.Domains
	dom, recs := add(t, s, admin(e.orgA), "riverside.example")
	e.publish(recs)
	b := admin(e.orgB)
	if _, err := s.Get(ctx, b, dom.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Records(ctx, b, dom.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Records: %v", err)
	}
	if _, _, err := s.Check(ctx, b, dom.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Check: %v", err)
	}
	if err := s.Delete(ctx, b, dom.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete: %v", err)
	}
	if _, err := s.ByName(ctx, b, "riverside.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ByName: %v", err)
	}
	if got, err := s.Get(ctx, admin(e.orgA), dom.ID); err != nil || got.Status != senderdomain.StatusPending {
		t.Fatalf("org B's attempts changed org A's domain: %+v, %v", got, err)
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), nil)
	s := e.app.Domains
	dom, _ := add(t, s, admin(e.orgA), "riverside.example")
	settings := admin(e.orgA, access.SettingsWrite)
	if _, err := s.List(ctx, settings); err != nil {
		t.Fatalf("settings:write list: %v", err)
	}
	if _, err := s.Records(ctx, settings, dom.ID); err != nil {
		t.Fatalf("settings:write records: %v", err)
	}
	if _, _, err := s.Add(ctx, settings, "other.example"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("settings:write add: %v", err)
	}
	if _, _, err := s.Check(ctx, settings, dom.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("settings:write check: %v", err)
	}
	sender := admin(e.orgA, access.MessagesSend)
	if _, err := s.List(ctx, sender); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("messages:send list: %v", err)
	}
	if err := s.Delete(ctx, sender, dom.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("messages:send delete: %v", err)
	}
}

func TestDemoModeVerifiesOnlyWhileOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, storetest.Default(), func(c *config.Config) { c.Demo.Enabled = true })
	dom, _ := add(t, e.app.Domains, admin(e.orgA), "demo.example")
	if dom.Status != senderdomain.StatusVerified || dom.VerifiedBy != senderdomain.VerifiedByDemo {
		t.Fatalf("demo add: %+v", dom)
	}
	if ok, _ := e.app.Domains.Verified(ctx, e.app.DB.Reader(), e.orgA.ID, "demo.example"); !ok {
		t.Fatal("not Verified in demo mode")
	}
	if _, err := e.app.Domains.Signer(ctx, e.orgA.ID, "demo.example"); err != nil {
		t.Fatalf("demo signer: %v", err)
	}
	if got := e.auditActions(t, e.orgA.ID); !strings.HasSuffix(got, "domain.add domain.verify") {
		t.Fatalf("audit: %s", got)
	}

	// The same database with demo mode off: pending until DNS proves it.
	off := e.service(t, senderdomain.Options{})
	if got, _ := off.Get(ctx, admin(e.orgA), dom.ID); got.Status != senderdomain.StatusPending {
		t.Fatalf("demo verification outlived demo mode: %+v", got)
	}
	if ok, _ := off.Verified(ctx, e.app.DB.Reader(), e.orgA.ID, "demo.example"); ok {
		t.Fatal("Verified without demo mode")
	}
	if _, err := off.Signer(ctx, e.orgA.ID, "demo.example"); !errors.Is(err, senderdomain.ErrNotVerified) {
		t.Fatalf("signer without demo mode: %v", err)
	}
	recs, err := off.Records(ctx, admin(e.orgA), dom.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(recs)
	if got, _, err := off.Check(ctx, admin(e.orgA), dom.ID); err != nil || got.Status != senderdomain.StatusVerified || got.VerifiedBy != senderdomain.VerifiedByDNS {
		t.Fatalf("DNS check after demo: %+v, %v", got, err)
	}
}
