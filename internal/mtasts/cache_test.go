package mtasts_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/mtasts"
)

func TestCachedPolicyIsUsedWhileTheIDIsUnchanged(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	if _, st := e.lookup(t); st.Source != mtasts.SourceFetched {
		t.Fatalf("first lookup %+v, want fetched", st)
	}
	e.advance(time.Hour)
	p, st := e.lookup(t)
	if st.Source != mtasts.SourceCache || st.Mode != mtasts.ModeEnforce || !p.Matches("mx1.example.test") {
		t.Fatalf("second lookup %+v, want the cached enforce policy", st)
	}
	if n := e.fetches.Load(); n != 1 {
		t.Fatalf("policy host saw %d fetches, want 1", n)
	}
}

func TestNewIDRefetches(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.lookup(t)
	e.setID("2")
	e.respond(http.StatusOK, "text/plain", "version: STSv1\nmode: testing\nmx: new.example.test\nmax_age: 86400\n")
	p, st := e.lookup(t)
	if st.Source != mtasts.SourceFetched || st.ID != "2" || st.Mode != mtasts.ModeTesting || !p.Matches("new.example.test") {
		t.Fatalf("after id change: %+v", st)
	}
	if n := e.fetches.Load(); n != 2 {
		t.Fatalf("policy host saw %d fetches, want 2", n)
	}
	if _, st := e.lookup(t); st.Source != mtasts.SourceCache || st.ID != "2" {
		t.Fatalf("the new policy was not cached: %+v", st)
	}
}

func TestExpiredPolicyIsNotUsed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		want   mtasts.Source
	}{
		{"refetched when the host answers", http.StatusOK, mtasts.SourceFetched},
		{"dropped when the host fails", http.StatusInternalServerError, mtasts.SourceFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			e.lookup(t)
			e.advance(24*time.Hour + time.Second) // max_age is 86400
			e.respond(tt.status, "text/plain", enforce)
			_, st := e.lookup(t)
			if st.Source != tt.want {
				t.Fatalf("status %+v, want source %s", st, tt.want)
			}
			if n := e.fetches.Load(); n != 2 {
				t.Fatalf("policy host saw %d fetches, want 2", n)
			}
		})
	}
}

func TestCachedPolicySurvivesDiscoveryFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(e *env)
		kind  error
	}{
		{"fetch fails after an id change", func(e *env) {
			e.setID("2")
			e.respond(http.StatusServiceUnavailable, "text/plain", "")
		}, mtasts.ErrFetch},
		{"TXT lookup fails", func(e *env) { e.dns.SetServFail(txtName, true) }, mtasts.ErrDNS},
		{"TXT record removed", func(e *env) { e.dns.Remove(txtName, "TXT") }, mtasts.ErrNoRecord},
		{"new policy invalid", func(e *env) {
			e.setID("2")
			e.respond(http.StatusOK, "text/plain", "version: STSv2\n")
		}, mtasts.ErrPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			if _, st := e.lookup(t); st.Source != mtasts.SourceFetched {
				t.Fatalf("first lookup %+v, want fetched", st)
			}
			tt.fault(e)
			e.advance(time.Hour)
			p, st := e.lookup(t)
			if st.Source != mtasts.SourceCacheFallback || st.Mode != mtasts.ModeEnforce || st.ID != "1" || !errors.Is(st.Err, tt.kind) {
				t.Fatalf("status %+v, want the cached enforce policy and %v", st, tt.kind)
			}
			if !p.Matches("mx1.example.test") {
				t.Fatal("cached policy lost its MX patterns")
			}
		})
	}
}

func TestModeNoneWithdrawsACachedPolicy(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.lookup(t)
	e.setID("2")
	e.respond(http.StatusOK, "text/plain", "version: STSv1\nmode: none\nmax_age: 86400\n")
	if p, st := e.lookup(t); p != nil || st.Mode != mtasts.ModeNone || st.Source != mtasts.SourceFetched {
		t.Fatalf("status %+v, want mode none fetched", st)
	}
	// The domain now removes its record: the cached "none", not the old
	// enforce policy, is what applies.
	e.dns.Remove(txtName, "TXT")
	if p, st := e.lookup(t); p != nil || st.Mode != mtasts.ModeNone {
		t.Fatalf("status %+v, want mode none", st)
	}
}
