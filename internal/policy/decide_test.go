package policy_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const (
	ssnText   = "Patient SSN 536-22-8411, see attached."
	plainText = "Your appointment is confirmed for next Tuesday."
)

func TestEngineKeepsTheFloor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		// PHI is assumed whatever the content: verified TLS, then the portal.
		got := e.decide(e.msg("Appointment", plainText), "pat@example.org")[0]
		if got.Level != policy.VerifiedTLS || !got.PHI || methods(got.Methods...) != "verified-tls,portal" || got.Drop || got.Rule != "default: treated as PHI" {
			t.Fatalf("default: %+v", got)
		}
		// A source declaring no PHI goes opportunistic only if nothing is found.
		m := e.msg("Appointment", plainText)
		m.NonPHI = true
		if got := e.decide(m, "pat@example.org")[0]; got.Level != policy.Opportunistic || got.PHI || methods(got.Methods...) != "opportunistic" {
			t.Fatalf("non-PHI source, clean content: %+v", got)
		}
		m = e.msg("Appointment", ssnText)
		m.NonPHI = true
		got = e.decide(m, "pat@example.org")[0]
		if got.Level != policy.VerifiedTLS || !got.PHI || !hasRule(got, policy.RuleContentPHI) {
			t.Fatalf("non-PHI source with an SSN: %+v", got)
		}
		// The submitter raises, never lowers.
		m = e.msg("Appointment", plainText)
		m.Security = "e2e"
		if got := e.decide(m, "pat@example.org")[0]; got.Level != policy.E2E || methods(got.Methods...) != "portal" {
			t.Fatalf("security e2e without a key: %+v", got)
		}
		m.NonPHI, m.Security, m.RequireTLS = true, "auto", true
		if got := e.decide(m, "pat@example.org")[0]; got.Level != policy.VerifiedTLS || got.Rule != "REQUIRETLS requested (RFC 8689)" {
			t.Fatalf("REQUIRETLS: %+v", got)
		}
		// Content that was not inspected counts as unscanned PHI.
		m = policy.Message{OrgID: e.org, NonPHI: true}
		if got := e.decide(m, "pat@example.org")[0]; got.Level != policy.VerifiedTLS || !got.PHI || !hasRule(got, policy.RuleUnscanned) {
			t.Fatalf("unscanned: %+v", got)
		}
	})
}

func TestSubjectTagRaisesAndIsStripped(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	e.keys["keyed@example.org"] = "openpgp"
	m := e.msg("[SECURE] Lab results", plainText)
	ev, err := e.engine.Evaluate(e.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for rcpt, want := range map[string]string{"pat@example.org": "portal", "keyed@example.org": "e2e,portal"} {
		got, err := ev.Decide(e.ctx, rcpt)
		if err != nil || got.Level != policy.E2E || methods(got.Methods...) != want || !hasRule(got, policy.RuleSubjectTag) {
			t.Fatalf("%s: %+v %v, want e2e with methods %s", rcpt, got, err, want)
		}
	}
	raw, err := ev.StripSubjectTag(rawOf(t, m))
	if err != nil {
		t.Fatal(err)
	}
	p, err := message.Inspect(raw, message.Limits{})
	if err != nil || p.Subject != "Lab results" {
		t.Fatalf("subject after stripping: %q, %v", p.Subject, err)
	}
	if got := policy.StripTag("Re: results [secure] for you", "[Secure]"); got != "Re: results for you" {
		t.Fatalf("StripTag = %q", got)
	}
	// An untagged message is left as it is.
	plain := e.msg("Lab results", plainText)
	ev, _ = e.engine.Evaluate(e.ctx, plain)
	if raw, _ := ev.StripSubjectTag(rawOf(t, plain)); string(raw) != string(rawOf(t, plain)) || ev.Tagged {
		t.Fatal("an untagged message was edited")
	}
}

func TestSubjectPHIIsFlagged(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	got := e.decide(e.msg("Results for DOB 04/12/1961", plainText), "pat@example.org")[0]
	if !got.SubjectFlagged || !hasRule(got, policy.RuleSubjectPHI) {
		t.Fatalf("PHI in the subject not flagged: %+v", got)
	}
	if got := e.decide(e.msg("Results", "DOB 04/12/1961"), "pat@example.org")[0]; got.SubjectFlagged {
		t.Fatalf("PHI in the body flagged the subject: %+v", got)
	}
}

func TestAlwaysPortalDomains(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	got := e.decide(e.msg("Results", plainText), "pat@gmail.com", "pat@mail.yahoo.com", "pat@notgmail.com")
	if got[0].Level != policy.Portal || methods(got[0].Methods...) != "portal" || !hasRule(got[0], policy.RulePortalDomain) {
		t.Fatalf("gmail.com: %+v", got[0])
	}
	if got[1].Level != policy.Portal {
		t.Fatalf("a subdomain of an always-portal domain: %+v", got[1])
	}
	if got[2].Level != policy.VerifiedTLS {
		t.Fatalf("notgmail.com is not gmail.com: %+v", got[2])
	}
	// Without PHI the list does not apply.
	m := e.msg("Newsletter", plainText)
	m.NonPHI = true
	if got := e.decide(m, "pat@gmail.com")[0]; got.Level != policy.Opportunistic || !hasRule(got, policy.RulePortalDomain) {
		t.Fatalf("non-PHI to gmail.com: %+v", got)
	}
	// The list is the organization's to change.
	e.save(func(d *policy.Document) { d.AlwaysPortalDomains = []string{"Patients.Example"} })
	got = e.decide(e.msg("Results", plainText), "pat@gmail.com", "pat@patients.example")
	if got[0].Level != policy.VerifiedTLS || got[1].Level != policy.Portal {
		t.Fatalf("after changing the list: %+v / %+v", got[0], got[1])
	}
}

// rawOf rebuilds the message behind m the way e.msg built it.
func rawOf(t *testing.T, m policy.Message) []byte {
	t.Helper()
	d := message.Draft{From: message.Address{Email: "dr@clinic.example"}, To: []message.Address{{Email: "pat@example.org"}},
		Subject: m.Parsed.Subject, Text: m.Parsed.Text}
	raw, err := message.Build(d, message.BuildOptions{MessageID: "fixed@clinic.example", Date: time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
