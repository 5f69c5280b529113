package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

type domainRecords struct {
	Domain struct {
		ID, Domain, Status string
		Selectors          struct{ RSA, Ed25519 string }
		LastCheck          *struct {
			Checks []struct{ Kind, Status string }
		} `json:"last_check"`
	}
	Records []struct {
		Kind, Name, Type, Value, Zone string
		Required                      bool
	}
}

type domainCheck struct {
	Verified bool
	Checks   []struct{ Kind, Status, Detail string }
	Warnings []struct{ Kind, Status string }
}

func TestDomainsAddPublishVerify(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		r := e.Do(t, e.A.Key, "POST", v1+"/domains", map[string]any{"domain": "Clinic.Example.ORG"})
		if r.Status != http.StatusCreated {
			t.Fatalf("add: %d %s", r.Status, r.Body)
		}
		var added domainRecords
		r.JSON(t, &added)
		if added.Domain.Domain != "clinic.example.org" || added.Domain.Status != "pending" {
			t.Fatalf("added %+v", added.Domain)
		}
		kinds := map[string]bool{}
		for _, rec := range added.Records {
			kinds[rec.Kind] = rec.Required
			if !strings.HasPrefix(rec.Zone, rec.Name+". IN TXT \"") {
				t.Errorf("zone line %q", rec.Zone)
			}
		}
		if !kinds["dkim-rsa"] || !kinds["dkim-ed25519"] || kinds["dmarc"] {
			t.Fatalf("records %+v", added.Records)
		}

		// The same name, from the other organization: refused without a name.
		r = e.Do(t, e.B.Key, "POST", v1+"/domains", map[string]any{"domain": "clinic.example.org"})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"domain"`) ||
			strings.Contains(string(r.Body), e.A.Org.ID) || strings.Contains(string(r.Body), e.A.Org.Name) {
			t.Fatalf("org B adds org A's domain: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "POST", v1+"/domains", map[string]any{"domain": "192.0.2.1"}); r.Status != http.StatusBadRequest {
			t.Fatalf("an IP address: %d %s", r.Status, r.Body)
		}

		path := v1 + "/domains/" + added.Domain.ID
		var res domainCheck
		e.Do(t, e.A.Key, "POST", path+"/verify", nil).JSON(t, &res)
		if res.Verified || len(res.Checks) != 4 {
			t.Fatalf("verify before publishing: %+v", res)
		}
		for _, rec := range added.Records {
			e.DNS.AddTXT(rec.Name, rec.Value)
		}
		r = e.Do(t, e.A.Key, "POST", path+"/verify", nil)
		r.JSON(t, &res)
		if r.Status != http.StatusOK || !res.Verified {
			t.Fatalf("verify after publishing: %d %s", r.Status, r.Body)
		}
		if len(res.Warnings) != 1 || res.Warnings[0].Kind != "spf" || res.Warnings[0].Status != "missing" {
			t.Fatalf("warnings %+v: want SPF missing only", res.Warnings)
		}
		var got domainRecords
		e.Do(t, e.A.Key, "GET", path, nil).JSON(t, &got)
		if got.Domain.Status != "verified" || got.Domain.LastCheck == nil || len(got.Records) != len(added.Records) {
			t.Fatalf("GET after verify: %+v", got)
		}
		var list struct{ Domains []struct{ ID string } }
		e.Do(t, e.B.Key, "GET", v1+"/domains", nil).JSON(t, &list)
		if len(list.Domains) != 0 {
			t.Fatalf("org B lists %+v", list.Domains)
		}
	})
}

func TestDomainsPermissionsAndSendingRule(t *testing.T) {
	t.Parallel()
	// One recipient a minute per destination domain, on a clock that does
	// not move: of two messages, the second waits for the next window for
	// the whole test, whatever delivery does with the first.
	e := apitest.NewWith(t, storetest.Default(), func(c *config.Config) { c.Delivery.RatePerDomain = 1 })
	// Sending needs a verified From domain.
	r := e.Do(t, e.A.Key, "POST", v1+"/messages", sendBody("clinic@unverified.example", "patient@example.org"))
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "verified") {
		t.Fatalf("send from an unknown domain: %d %s", r.Status, r.Body)
	}
	sender := e.Sender(t, e.A) // adds and verifies a.example through the API
	// Two recipients (the first may bounce and be suppressed before the
	// second is submitted, so not the same address twice).
	send(t, e, e.A)
	if r := e.Do(t, e.A.Key, "POST", v1+"/messages", sendBody(sender, "second.patient@example.org")); r.Status != http.StatusAccepted {
		t.Fatalf("second send: %d %s", r.Status, r.Body)
	}

	var list struct{ Domains []struct{ ID, Domain string } }
	settings := e.KeyWith(t, e.A, "settings:write")
	if r := e.Do(t, settings, "GET", v1+"/domains", nil); r.Status != http.StatusOK {
		t.Fatalf("settings:write lists: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &list)
	}
	if len(list.Domains) != 1 || !strings.HasSuffix(sender, "@"+list.Domains[0].Domain) {
		t.Fatalf("domains %+v for sender %s", list.Domains, sender)
	}
	path := v1 + "/domains/" + list.Domains[0].ID
	if r := e.Do(t, settings, "POST", path+"/verify", nil); r.Status != http.StatusForbidden {
		t.Fatalf("settings:write verifies: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, e.KeyWith(t, e.A, "messages:send"), "GET", path, nil); r.Status != http.StatusForbidden {
		t.Fatalf("messages:send reads a domain: %d %s", r.Status, r.Body)
	}
	// The second message is still waiting: the domain stays.
	if r := e.Do(t, e.A.Key, "DELETE", path, nil); r.Status != http.StatusConflict || r.ErrorCode() != "domain_in_use" {
		t.Fatalf("delete with mail queued: %d %s", r.Status, r.Body)
	}
}
