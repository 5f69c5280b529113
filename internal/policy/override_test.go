package policy_test

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestContentRulesRaise(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	e.save(func(d *policy.Document) {
		d.ContentRules = append(d.ContentRules,
			policy.ContentRule{Name: "ssn-portal", Detectors: []string{"ssn"}, Level: policy.Portal},
			policy.ContentRule{Name: "two-dx", Detectors: []string{"icd10"}, MinCount: 2, Level: policy.E2E},
			policy.ContentRule{Name: "images", Detectors: []string{"attachment"}, Level: policy.E2E})
		d.Detectors.AttachmentTypes = []string{"image/*"}
	})
	cases := []struct {
		name, text string
		atts       []message.Attachment
		level      policy.Level
		rule       string
	}{
		{"SSN", ssnText, nil, policy.Portal, "content:ssn-portal"},
		{"one code", "Diagnosis: E11.9", nil, policy.VerifiedTLS, "content:phi"},
		{"two codes", "Diagnosis: E11.9 and I10", nil, policy.E2E, "content:two-dx"},
		{"image", plainText, []message.Attachment{{Filename: "x.png", ContentType: "image/png", Content: []byte("png")}}, policy.E2E, "content:images"},
		{"nothing", plainText, nil, policy.VerifiedTLS, "default"},
	}
	for _, c := range cases {
		got := e.decide(e.msg("Results", c.text, c.atts...), "pat@example.org")[0]
		if got.Level != c.level || !hasRule(got, c.rule) {
			t.Errorf("%s: %+v, want %s by %s", c.name, got, c.level, c.rule)
		}
		for _, r := range got.Reasons {
			if strings.Contains(r.Detail, "536") || strings.Contains(r.Detail, "E11") {
				t.Errorf("%s: a reason carries content: %q", c.name, r.Detail)
			}
		}
	}
}

func TestOverridesMostSpecificWinsButNeverLowers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		e.save(func(d *policy.Document) {
			d.ContentRules = append(d.ContentRules, policy.ContentRule{Name: "ssn-portal", Detectors: []string{"ssn"}, Level: policy.Portal})
			d.Overrides = []policy.Override{
				{Name: "Partner network", RecipientDomain: "partner.example", Level: policy.Portal},
				{Name: "Partner lab", RecipientDomain: "lab.partner.example", Level: policy.E2E},
				{Name: "Records desk", Recipient: "Records@Partner.Example", Level: policy.VerifiedTLS},
				{Name: "Owners", SenderGroup: "owner", Level: policy.E2E},
			}
		})
		got := e.decide(e.msg("Results", plainText), "someone@partner.example", "x@lab.partner.example", "records@partner.example", "pat@example.org")
		want := []struct {
			level         policy.Level
			rule, shadows string
		}{
			{policy.Portal, "override:Partner network", "override:Owners"},
			// The longer domain is more specific than its parent.
			{policy.E2E, "override:Partner lab", "override:Partner network"},
			// The address is more specific than its domain and the sender's
			// group: it relaxes what they asked, down to the floor.
			{policy.VerifiedTLS, "override:Records desk", "override:Partner network"},
			// No recipient override: the sender's group decides.
			{policy.E2E, "override:Owners", ""},
		}
		for i, w := range want {
			if got[i].Level != w.level || !hasRule(got[i], w.rule) || (w.shadows != "" && !hasRule(got[i], w.shadows)) {
				t.Errorf("recipient %d: %+v, want %s by %s over %s", i, got[i], w.level, w.rule, w.shadows)
			}
		}
		// An override never lowers what content requires.
		got = e.decide(e.msg("Results", ssnText), "records@partner.example")
		if got[0].Level != policy.Portal || got[0].Rule == "" || !strings.HasPrefix(got[0].Rule, "content rule ssn-portal") {
			t.Fatalf("override lowered a content rule: %+v", got[0])
		}
	})
}

func TestTLSOnlySourcesDropNeverPortal(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	e.keys["pat@example.org"] = "smime"
	m := e.msg("Time for your check-up", plainText)
	m.TLSOnly = true
	got := e.decide(m, "pat@example.org", "pat@gmail.com")
	if got[0].Level != policy.VerifiedTLS || methods(got[0].Methods...) != "verified-tls" || !got[0].Drop {
		t.Fatalf("TLS-only: %+v", got[0])
	}
	if got[1].Level != policy.Portal || len(got[1].Methods) != 0 || !got[1].Drop || !hasRule(got[1], policy.RuleTLSOnly) {
		t.Fatalf("TLS-only to an always-portal domain: %+v, want no method and drop", got[1])
	}
	m.NonPHI = true
	if got := e.decide(m, "pat@gmail.com")[0]; got.Level != policy.VerifiedTLS || methods(got.Methods...) != "verified-tls" || !got.Drop {
		t.Fatalf("TLS-only non-PHI: %+v", got)
	}
}

func TestFallbackChainOrder(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	e.keys["keyed@example.org"] = "openpgp"
	got := e.decide(e.msg("Results", plainText), "keyed@example.org", "pat@example.org")
	if methods(got[0].Methods...) != "verified-tls,e2e,portal" || !hasRule(got[0], policy.RuleFallback) {
		t.Fatalf("with a key: %+v", got[0])
	}
	if methods(got[1].Methods...) != "verified-tls,portal" {
		t.Fatalf("without a key: %+v", got[1])
	}
	e.save(func(d *policy.Document) { d.E2EFallback = false })
	if got := e.decide(e.msg("Results", plainText), "keyed@example.org")[0]; methods(got.Methods...) != "verified-tls,portal" {
		t.Fatalf("e2e fallback off: %+v", got)
	}
}

func TestPinnedPartnersNeedVerifiedTLS(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	if _, err := e.engine.PutPin(e.ctx, e.actor, store.TransportPin{OrgID: e.org, Domain: "Partner.Example", MXPattern: "*.partner.example"}, true); err != nil {
		t.Fatal(err)
	}
	m := e.msg("Newsletter", plainText)
	m.NonPHI = true
	got := e.decide(m, "a@partner.example", "a@other.example")
	if got[0].Level != policy.VerifiedTLS || !hasRule(got[0], policy.RulePin) || got[1].Level != policy.Opportunistic {
		t.Fatalf("pinned: %+v / %+v", got[0], got[1])
	}
}
