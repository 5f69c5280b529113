package policy_test

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestGatewayTagRemovedFromSubjectAndThreadTopic: a message relayed from
// Microsoft 365 carries the tag in an encoded Subject and again in
// Thread-Topic; both lose it, the body and every other field stay byte for
// byte, and a Thread-Topic without the tag is left alone.
func TestGatewayTagRemovedFromSubjectAndThreadTopic(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	const rest = "From: Dr. Lee <lee@clinic.example>\r\nTo: pat@example.org\r\n" +
		"DKIM-Signature: v=1; a=rsa-sha256; d=tenant.onmicrosoft.com; h=from:subject; b=abc\r\n" +
		"Thread-Index: AQHZ1234\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
	raw := []byte("Subject: =?utf-8?q?=5BSecure=5D_R=C3=A9sultats?=\r\nThread-Topic: [Secure] =?utf-8?q?R=C3=A9sultats?=\r\n" + rest)
	parsed, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := e.msg("x", "x")
	m.Parsed = parsed
	ev, err := e.engine.Evaluate(e.ctx, m)
	if err != nil || !ev.Tagged {
		t.Fatalf("tagged %v, %v", ev != nil && ev.Tagged, err)
	}
	out, err := ev.StripSubjectTag(raw)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := message.HeaderFields(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fields {
		v, err := message.DecodeHeaderText(f.Value)
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name] = v
	}
	if got["Subject"] != "Résultats" || got["Thread-Topic"] != "Résultats" {
		t.Fatalf("Subject %q, Thread-Topic %q", got["Subject"], got["Thread-Topic"])
	}
	if !strings.HasSuffix(string(out), rest) || strings.Contains(strings.ToLower(string(out)), "secure") {
		t.Fatalf("stripped message:\n%s", out)
	}

	// Only the tag goes: a Thread-Topic without it is kept as it was.
	raw = []byte("Subject: [secure] Results\r\nThread-Topic: Results\r\n" + rest)
	parsed, _ = message.Inspect(raw, message.Limits{})
	m.Parsed = parsed
	ev, _ = e.engine.Evaluate(e.ctx, m)
	if out, err = ev.StripSubjectTag(raw); err != nil || string(out) != "Subject: Results\r\nThread-Topic: Results\r\n"+rest {
		t.Fatalf("stripped %q, %v", out, err)
	}
	if policy.StripTag("[secure]", "[secure]") != "" {
		t.Fatal("a subject that is only the tag should become empty")
	}
}
