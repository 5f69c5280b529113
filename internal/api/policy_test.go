package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

type explained struct {
	PolicyVersion int  `json:"policy_version"`
	PHI           bool `json:"phi"`
	Recipients    []struct {
		Email, State, Reason string
		Decision             struct {
			Level, Rule    string
			Methods        []string
			Drop           bool
			SubjectFlagged bool `json:"subject_flagged"`
			Reasons        json.RawMessage
		}
	}
}

type recorded struct {
	Recipients []struct {
		Email, State, Level, Rule, Reason string
		Policy                            struct {
			Methods        []string
			Drop           bool
			SubjectFlagged bool `json:"subject_flagged"`
			Reasons        json.RawMessage
		}
	}
}

// writes counts the rows a submission by organization A adds (River's
// own periodic jobs come and go on their own, so jobs are not counted:
// the outbox inserts them only in the commit explain never reaches).
func writes(t *testing.T, e *apitest.Env) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"messages", "recipients", "events", "policy_versions", "webhook_events"} {
		out[table] = countRows(t, e, table)
	}
	var n int
	if err := store.Scan(e.App.DB.Reader().QueryRow(t.Context(), `SELECT count(*) FROM audit_entries WHERE chain = ?`, e.A.Org.ID), &n); err != nil {
		t.Fatal(err)
	}
	out["audit_entries"] = n
	return out
}

// TestExplainAgreesWithSubmitAndWritesNothing: for each message, the dry
// run answers exactly what sending it then records per recipient, and the
// dry run itself adds no row anywhere.
func TestExplainAgreesWithSubmitAndWritesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		from := e.Sender(t, e.A)
		// An organization rule: an SSN goes by portal.
		var doc map[string]any
		e.Do(t, e.A.Key, "GET", v1+"/policy", nil).JSON(t, &doc)
		doc["content_rules"] = append(doc["content_rules"].([]any), map[string]any{"name": "ssn-portal", "detectors": []string{"ssn"}, "level": "portal"})
		if r := e.Do(t, e.A.Key, "PUT", v1+"/policy", doc); r.Status != http.StatusOK {
			t.Fatalf("put policy: %d %s", r.Status, r.Body)
		}
		// Each message has its own recipients: delivery runs meanwhile, and
		// a bounce would suppress an address (suppressions are not policy,
		// so explain does not show them).
		bodies := map[string]map[string]any{
			"plain":  sendBody(from, "pat-plain@example.org", "pat@gmail.com"),
			"tagged": sendBody(from, "pat-tagged@example.org"),
			"ssn":    sendBody(from, "pat-ssn@example.org", "lab@partner.example"),
		}
		bodies["tagged"]["subject"] = "[secure] Your results"
		bodies["ssn"]["text"] = "SSN 536-22-8411 on file."
		levels := map[string][]string{"plain": {"verified-tls", "portal"}, "tagged": {"e2e"}, "ssn": {"portal", "portal"}}
		// Every dry run first, while nothing else writes (delivery starts
		// with the first message sent).
		before := writes(t, e)
		answers := map[string]explained{}
		for name, body := range bodies {
			r := e.Do(t, e.A.Key, "POST", v1+"/policy/explain", body)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: explain %d %s", name, r.Status, r.Body)
			}
			var ex explained
			r.JSON(t, &ex)
			if ex.PolicyVersion != 1 || !ex.PHI || len(ex.Recipients) != len(levels[name]) {
				t.Fatalf("%s: explanation %s", name, r.Body)
			}
			for i, want := range levels[name] {
				if ex.Recipients[i].Decision.Level != want {
					t.Fatalf("%s: recipient %d explained at %s, want %s", name, i, ex.Recipients[i].Decision.Level, want)
				}
			}
			answers[name] = ex
		}
		if after := writes(t, e); !reflect.DeepEqual(before, after) {
			t.Fatalf("explain wrote rows: %v → %v", before, after)
		}
		for name, body := range bodies {
			ex := answers[name]
			s := e.Do(t, e.A.Key, "POST", v1+"/messages", body)
			var sub submitted
			s.JSON(t, &sub)
			if s.Status != http.StatusAccepted || len(sub.Recipients) != len(ex.Recipients) {
				t.Fatalf("%s: send %d %s", name, s.Status, s.Body)
			}
			var rec recorded
			e.Do(t, e.A.Key, "GET", v1+"/messages/"+sub.ID, nil).JSON(t, &rec)
			if len(rec.Recipients) != len(ex.Recipients) {
				t.Fatalf("%s: %d recipients recorded, %d explained", name, len(rec.Recipients), len(ex.Recipients))
			}
			for i, x := range ex.Recipients {
				got := rec.Recipients[i]
				if got.Email != x.Email || got.Level != x.Decision.Level || got.Rule != x.Decision.Rule ||
					!reflect.DeepEqual(got.Policy.Methods, x.Decision.Methods) || got.Policy.Drop != x.Decision.Drop ||
					got.Policy.SubjectFlagged != x.Decision.SubjectFlagged || !jsonEqual(t, got.Policy.Reasons, x.Decision.Reasons) {
					t.Errorf("%s recipient %d:\nexplained %+v\nrecorded  %+v", name, i, x, got)
				}
				// The state is the one submission answered (delivery may
				// have moved a queued recipient on since).
				if answered := sub.Recipients[i]; answered.State != x.State || answered.Level != x.Decision.Level {
					t.Errorf("%s recipient %d: explained %s at %s, submission answered %s at %s", name, i, x.State, x.Decision.Level, answered.State, answered.Level)
				}
				if x.State != "queued" && got.Reason != x.Reason {
					t.Errorf("%s recipient %d: explained reason %q, recorded %q", name, i, x.Reason, got.Reason)
				}
			}
		}
	})
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestExplainShowsEachRule(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	body := sendBody(from, "pat@example.org", "pat@gmail.com")
	body["subject"] = "[SECURE] Results for DOB 04/12/1961"
	var ex explained
	r := e.Do(t, e.A.Key, "POST", v1+"/policy/explain", body)
	r.JSON(t, &ex)
	if len(ex.Recipients) != 2 || ex.Recipients[0].Decision.Level != "e2e" || ex.Recipients[0].State != "portal" ||
		!strings.Contains(string(ex.Recipients[0].Decision.Reasons), `"subject.tag"`) || !ex.Recipients[0].Decision.SubjectFlagged {
		t.Fatalf("tagged: %s", r.Body)
	}
	if ex.Recipients[1].Decision.Level != "portal" || !strings.Contains(string(ex.Recipients[1].Decision.Reasons), `"domain.always-portal"`) {
		t.Fatalf("gmail.com: %s", r.Body)
	}
	if strings.Contains(string(r.Body), "04/12/1961") || strings.Contains(string(r.Body), "1961") {
		t.Fatalf("the explanation carries content: %s", r.Body)
	}
	// The tag is gone from what is stored and delivered.
	s := e.Do(t, e.A.Key, "POST", v1+"/messages", body)
	var sub submitted
	s.JSON(t, &sub)
	var content struct{ Subject string }
	e.Do(t, e.A.Key, "GET", v1+"/messages/"+sub.ID+"/content", nil).JSON(t, &content)
	if content.Subject != "Results for DOB 04/12/1961" {
		t.Fatalf("stored subject %q", content.Subject)
	}
	// Explain needs messages:send or policy:write, and validates like send.
	reader := e.KeyWith(t, e.A, "reports:read")
	if r := e.Do(t, reader, "POST", v1+"/policy/explain", body); r.Status != http.StatusForbidden {
		t.Fatalf("reports:read explained: %d", r.Status)
	}
	body["to"] = []string{"not an address"}
	if r := e.Do(t, e.A.Key, "POST", v1+"/policy/explain", body); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"to[0]`) {
		t.Fatalf("bad recipient: %d %s", r.Status, r.Body)
	}
}

func TestPolicyDocumentCRUD(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		var doc map[string]any
		r := e.Do(t, e.A.Key, "GET", v1+"/policy", nil)
		r.JSON(t, &doc)
		if r.Status != http.StatusOK || doc["version"].(float64) != 0 || doc["subject_tag"] != "[secure]" || doc["e2e_fallback"] != true {
			t.Fatalf("default policy: %d %s", r.Status, r.Body)
		}
		// A PUT may leave fields out: they keep their defaults.
		r = e.Do(t, e.A.Key, "PUT", v1+"/policy", map[string]any{"subject_tag": "[enc]",
			"overrides": []any{map[string]any{"name": "Prefers portal", "recipient": "pat@example.org", "level": "portal"}}})
		var saved map[string]any
		r.JSON(t, &saved)
		if r.Status != http.StatusOK || saved["version"].(float64) != 1 || saved["subject_tag"] != "[enc]" || len(saved["always_portal_domains"].([]any)) == 0 {
			t.Fatalf("put: %d %s", r.Status, r.Body)
		}
		var n int
		if err := store.Scan(e.App.DB.Reader().QueryRow(t.Context(), `SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'policy.update' AND details LIKE '%"version":"1"%'`, e.A.Org.ID), &n); err != nil || n != 1 {
			t.Fatalf("policy.update audit entries: %d %v", n, err)
		}
		// Errors name every field at fault; nothing is saved.
		bad := map[string]any{"min_confidence": "sure", "content_rules": []any{map[string]any{"name": "x", "detectors": []string{"phone"}, "level": "opportunistic"}},
			"always_portal_domains": []string{"not a domain"}}
		r = e.Do(t, e.A.Key, "PUT", v1+"/policy", bad)
		var fe struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		r.JSON(t, &fe)
		fields := map[string]bool{}
		for _, f := range fe.Errors {
			fields[f.Field] = true
		}
		for _, f := range []string{"min_confidence", "content_rules[0].detectors[0]", "content_rules[0].level", "always_portal_domains[0]"} {
			if !fields[f] {
				t.Errorf("no error for %s: %s", f, r.Body)
			}
		}
		if r.Status != http.StatusBadRequest || strings.Contains(string(r.Body), "not a domain") {
			t.Fatalf("invalid put: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "PUT", v1+"/policy", map[string]any{"colour": "blue"}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"colour"`) {
			t.Fatalf("unknown field: %d %s", r.Status, r.Body)
		}
		// Editing a version that is no longer current is refused.
		if r := e.Do(t, e.A.Key, "PUT", v1+"/policy", map[string]any{"version": 7}); r.Status != http.StatusConflict || r.ErrorCode() != "stale_version" {
			t.Fatalf("stale put: %d %s", r.Status, r.Body)
		}
		// Organization B has its own policy.
		var other map[string]any
		e.Do(t, e.B.Key, "GET", v1+"/policy", nil).JSON(t, &other)
		if other["version"].(float64) != 0 || other["subject_tag"] != "[secure]" {
			t.Fatalf("organization B sees %v", other)
		}
		// Senders may not change the policy; auditors read it, masked.
		sender := e.KeyWith(t, e.A, "messages:send")
		if r := e.Do(t, sender, "PUT", v1+"/policy", map[string]any{}); r.Status != http.StatusForbidden {
			t.Fatalf("sender put: %d", r.Status)
		}
		if r := e.Do(t, sender, "GET", v1+"/policy", nil); r.Status != http.StatusForbidden {
			t.Fatalf("sender get: %d", r.Status)
		}
		auditor := e.KeyWith(t, e.A, "audit:read")
		r = e.Do(t, auditor, "GET", v1+"/policy", nil)
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), "pat@example.org") || !strings.Contains(string(r.Body), "@example.org") {
			t.Fatalf("auditor get: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, e.A.Key, "GET", v1+"/policy", nil); !strings.Contains(string(r.Body), "pat@example.org") {
			t.Fatalf("policy:write sees masked addresses: %s", r.Body)
		}
	})
}
