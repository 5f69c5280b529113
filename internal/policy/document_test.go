package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/phi"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestValidateNamesEveryField(t *testing.T) {
	t.Parallel()
	d := policy.Default()
	d.MinConfidence = "sure"
	d.ContentRules = append(d.ContentRules,
		policy.ContentRule{Name: "phi", Detectors: []string{"ssn"}, Level: policy.Portal},
		policy.ContentRule{Name: "Bad Name", Detectors: []string{"regex:nope", "phone"}, MinCount: -1, MinConfidence: "x", In: "footer", Level: policy.Opportunistic},
		policy.ContentRule{Name: "empty", Level: "strong"})
	d.Detectors.Patterns = []phi.Pattern{{Name: "member-id", Regex: "(unclosed"}}
	d.SubjectTag = "[\x01]"
	d.AlwaysPortalDomains = []string{"gmail.com", "not a domain"}
	d.Overrides = []policy.Override{
		{Name: "", Recipient: "pat@example.org", Level: policy.Portal},
		{Name: "two", Recipient: "a@example.org", RecipientDomain: "example.org", Level: policy.Portal},
		{Name: "bad address", Recipient: "nope", Level: policy.Portal},
		{Name: "dup", Recipient: "PAT@example.org", Level: policy.E2E},
		{Name: "low", RecipientDomain: "example.org", Level: policy.Opportunistic},
	}
	err := d.Validate()
	var fes message.FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("err = %v", err)
	}
	got := map[string]bool{}
	for _, fe := range fes {
		got[fe.Field] = true
		if strings.Contains(fe.Msg, "not a domain") || strings.Contains(fe.Msg, "unclosed") || strings.Contains(fe.Msg, "pat@") {
			t.Errorf("%s echoes its value: %s", fe.Field, fe.Msg)
		}
	}
	for _, f := range []string{"min_confidence", "content_rules[1].name", "content_rules[2].name", "content_rules[2].detectors[0]",
		"content_rules[2].detectors[1]", "content_rules[2].min_count", "content_rules[2].min_confidence", "content_rules[2].in",
		"content_rules[2].level", "content_rules[3].detectors", "content_rules[3].level", "detectors.patterns[0].regex", "subject_tag",
		"always_portal_domains[1]", "overrides[0].name", "overrides[1]", "overrides[2].recipient", "overrides[3].recipient", "overrides[4].level"} {
		if !got[f] {
			t.Errorf("no error for %s", f)
		}
	}
	for f := range got {
		if f == "content_rules[0].name" || f == "always_portal_domains[0]" {
			t.Errorf("valid field reported: %s", f)
		}
	}
	if def := policy.Default(); def.Validate() != nil {
		t.Fatalf("the default does not validate: %v", def.Validate())
	}
}

func TestSaveVersionsSealsAndAudits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		cur, err := e.engine.Policy(e.ctx, e.org)
		if err != nil || cur.Version != 0 || cur.SubjectTag != "[secure]" {
			t.Fatalf("default: %+v %v", cur, err)
		}
		cur.Overrides = []policy.Override{{Name: "Prefers portal", Recipient: "pat@example.org", Level: policy.Portal}}
		v1, err := e.engine.Save(e.ctx, e.actor, e.org, cur)
		if err != nil || v1.Version != 1 {
			t.Fatalf("save: %+v %v", v1, err)
		}
		v1.SubjectTag = "[enc]"
		v2, err := e.engine.Save(e.ctx, e.actor, e.org, v1)
		if err != nil || v2.Version != 2 {
			t.Fatalf("save v2: %+v %v", v2, err)
		}
		// Saving on top of a version that is no longer current is refused.
		if _, err := e.engine.Save(e.ctx, e.actor, e.org, v1); !errors.Is(err, policy.ErrStale) {
			t.Fatalf("stale save: %v", err)
		}
		// The change applies at once on this node.
		if got := e.decide(e.msg("[enc] Results", plainText), "x@example.org")[0]; got.Level != policy.E2E {
			t.Fatalf("new tag not applied: %+v", got)
		}
		if got := e.decide(e.msg("Results", plainText), "pat@example.org")[0]; got.Level != policy.Portal {
			t.Fatalf("override not applied: %+v", got)
		}
		// The document is sealed: no address in the clear.
		var n int
		if err := store.Scan(e.app.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM policy_versions WHERE org_id = ?`, e.org), &n); err != nil || n != 2 {
			t.Fatalf("%d versions, %v", n, err)
		}
		row, err := store.CurrentPolicy(e.ctx, e.app.DB.Reader(), e.org)
		if err != nil || strings.Contains(string(row.Document), "pat@example.org") || strings.Contains(string(row.Document), "gmail") {
			t.Fatalf("document stored in the clear (%v)", err)
		}
		// Invalid documents are refused and store nothing.
		bad := v2
		bad.ContentRules[0].Level = "none"
		if _, err := e.engine.Save(e.ctx, e.actor, e.org, bad); err == nil {
			t.Fatal("invalid document saved")
		}
		var actions []string
		rows, err := e.app.DB.Reader().Query(context.Background(), `SELECT action, details FROM audit_entries WHERE chain = ? AND action LIKE 'policy.%' ORDER BY seq`, e.org)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a, details string
			if err := rows.Scan(&a, &details); err != nil {
				t.Fatal(err)
			}
			actions = append(actions, a+" "+details)
		}
		if len(actions) != 2 || !strings.Contains(actions[1], `"version":"2"`) || strings.Contains(strings.Join(actions, ""), "pat@") {
			t.Fatalf("audit: %v", actions)
		}
	})
}

func TestPinsValidateAndAudit(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	p, err := e.engine.PutPin(e.ctx, e.actor, store.TransportPin{OrgID: e.org, Domain: "Lab.Example", MXPattern: "*.Lab.Example",
		CertSHA256: strings.Repeat("AB:", 31) + "AB"}, true)
	if err != nil || p.Domain != "lab.example" || p.MXPattern != "*.lab.example" || p.CertSHA256 != strings.Repeat("ab", 32) {
		t.Fatalf("put: %+v %v", p, err)
	}
	if _, err := e.engine.PutPin(e.ctx, e.actor, store.TransportPin{OrgID: e.org, Domain: "lab.example"}, true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create twice: %v", err)
	}
	if _, err := e.engine.PutPin(e.ctx, e.actor, store.TransportPin{OrgID: e.org, Domain: "other.example"}, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update a missing pin: %v", err)
	}
	_, err = e.engine.PutPin(e.ctx, e.actor, store.TransportPin{OrgID: e.org, Domain: "x", MXPattern: "mx..bad", CertSHA256: "zz"}, true)
	var fes message.FieldErrors
	if !errors.As(err, &fes) || len(fes) != 3 {
		t.Fatalf("invalid pin: %v", err)
	}
	if err := e.engine.DeletePin(e.ctx, e.actor, e.org, "LAB.example"); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.DeletePin(e.ctx, e.actor, e.org, "lab.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}
