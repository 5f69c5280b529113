package dns_test

import (
	"context"
	"slices"
	"testing"

	"github.com/carepost/carepost/internal/dns"
)

func TestLookupMXSortsByPreferenceAndShufflesTies(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddMX("example.test", 20, "b.example.test")
	srv.AddMX("example.test", 10, "a1.example.test")
	srv.AddMX("example.test", 30, "c.example.test")
	srv.AddMX("example.test", 10, "A2.example.test")

	firsts := map[string]bool{}
	for range 64 {
		mxs, _, err := r.LookupMX(context.Background(), "example.test")
		if err != nil {
			t.Fatal(err)
		}
		prefs := []uint16{mxs[0].Pref, mxs[1].Pref, mxs[2].Pref, mxs[3].Pref}
		if !slices.Equal(prefs, []uint16{10, 10, 20, 30}) {
			t.Fatalf("preferences %v, want 10 10 20 30", prefs)
		}
		if mxs[2].Host != "b.example.test" || mxs[3].Host != "c.example.test" {
			t.Fatalf("hosts %v", mxs)
		}
		firsts[mxs[0].Host] = true
	}
	// Either of the two preference-10 hosts comes first; after 64 lookups
	// both have (the chance of not seeing one is 2^-63).
	if !firsts["a1.example.test"] || !firsts["a2.example.test"] {
		t.Fatalf("equal-preference hosts not shuffled; first hosts seen: %v", firsts)
	}
}

func TestNullMX(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddMX("nomail.example.test", 0, ".")
	srv.AddMX("mixed.example.test", 0, ".")
	srv.AddMX("mixed.example.test", 10, "mx.mixed.example.test")
	tests := []struct {
		domain string
		null   bool
	}{
		{"nomail.example.test", true},
		{"mixed.example.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			t.Parallel()
			mxs, _, err := r.LookupMX(context.Background(), tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			if dns.IsNullMX(mxs) != tt.null {
				t.Fatalf("IsNullMX(%v) = %v, want %v", mxs, !tt.null, tt.null)
			}
			if !mxs[0].IsNull() || mxs[0].Host != "." {
				t.Fatalf("first MX %+v is not the null MX", mxs[0])
			}
		})
	}
}

func TestInternationalizedNamesAreLookedUpAsALabels(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddMX("xn--bcher-kva.example.test", 10, "mx.xn--bcher-kva.example.test")
	mxs, _, err := r.LookupMX(context.Background(), "Bücher.Example.Test.")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx.xn--bcher-kva.example.test" {
		t.Fatalf("LookupMX(Bücher) = %v, %v", mxs, err)
	}
	if srv.Queries("xn--bcher-kva.example.test", "MX") != 1 {
		t.Fatal("the A-label name was not the one asked")
	}
}
