package mtasts_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/mtasts"
	"github.com/carepost/carepost/internal/testpki"
)

func TestFetchRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cert    func(t *testing.T, ca *testpki.CA) tls.Certificate
		prepare func(e *env)
		kind    error
		reason  string
		timeout time.Duration // of the fetch; default generous
	}{
		{name: "self-signed certificate", kind: mtasts.ErrFetch, reason: "not signed by a trusted authority",
			cert: func(t *testing.T, _ *testpki.CA) tls.Certificate {
				return testpki.SelfSigned(t, []string{policyHost}, testpki.Options{})
			}},
		{name: "certificate for another name", kind: mtasts.ErrFetch, reason: "not valid for the policy host",
			cert: func(t *testing.T, ca *testpki.CA) tls.Certificate {
				return ca.Leaf(t, []string{"www.example.test"}, testpki.Options{})
			}},
		{name: "expired certificate", kind: mtasts.ErrFetch, reason: "invalid or expired",
			cert: func(t *testing.T, ca *testpki.CA) tls.Certificate {
				return ca.Leaf(t, []string{policyHost}, testpki.Options{
					NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
			}},
		{name: "redirect", kind: mtasts.ErrFetch, reason: "HTTP status 302",
			prepare: func(e *env) { e.respond(http.StatusFound, "text/plain", "") }},
		{name: "not found", kind: mtasts.ErrFetch, reason: "HTTP status 404",
			prepare: func(e *env) { e.respond(http.StatusNotFound, "text/plain", "") }},
		{name: "wrong media type", kind: mtasts.ErrFetch, reason: "not text/plain",
			prepare: func(e *env) { e.respond(http.StatusOK, "text/html", enforce) }},
		{name: "oversize body", kind: mtasts.ErrFetch, reason: "larger than 65536",
			prepare: func(e *env) {
				e.respond(http.StatusOK, "text/plain", enforce+"x: "+strings.Repeat("y", 64<<10)+"\n")
			}},
		{name: "invalid policy", kind: mtasts.ErrPolicy, reason: "missing max_age",
			prepare: func(e *env) {
				e.respond(http.StatusOK, "text/plain", "version: STSv1\nmode: enforce\nmx: mx.example.test\n")
			}},
		{name: "no policy host", kind: mtasts.ErrFetch, reason: "policy host not found",
			prepare: func(e *env) { e.dns.Remove(policyHost, "A") }},
		{name: "stalled policy host", kind: mtasts.ErrFetch, reason: "timeout", timeout: 500 * time.Millisecond,
			prepare: func(e *env) { e.mu.Lock(); e.stall = true; e.mu.Unlock() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cert func(*testpki.CA) tls.Certificate
			if tt.cert != nil {
				cert = func(ca *testpki.CA) tls.Certificate { return tt.cert(t, ca) }
			}
			timeout := 10 * time.Second
			if tt.timeout > 0 {
				timeout = tt.timeout
			}
			e := setupTimeout(t, cert, timeout)
			if tt.prepare != nil {
				tt.prepare(e)
			}
			p, st := e.lookup(t)
			if p != nil || st.Source != mtasts.SourceFailed || !errors.Is(st.Err, tt.kind) {
				t.Fatalf("policy %v, status %+v; want failed with %v", p, st, tt.kind)
			}
			if msg := st.Err.Error(); !strings.Contains(msg, tt.reason) || !strings.Contains(msg, domain) {
				t.Fatalf("error %q should say %q and name the domain", msg, tt.reason)
			}
			if e.others.Load() != 0 {
				t.Fatal("a redirect was followed")
			}
		})
	}
}
