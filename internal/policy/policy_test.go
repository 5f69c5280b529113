package policy

import "testing"

func TestDecideNeverLowersAndAssumesPHI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   Input
		want Level
		phi  bool
	}{
		{"default is PHI over verified TLS", Input{Security: "auto"}, VerifiedTLS, true},
		{"empty security is auto", Input{}, VerifiedTLS, true},
		{"non-PHI source may go opportunistic", Input{NonPHI: true}, Opportunistic, false},
		{"non-PHI but tls asked", Input{NonPHI: true, Security: "tls"}, VerifiedTLS, false},
		{"non-PHI but REQUIRETLS", Input{NonPHI: true, RequireTLS: true}, VerifiedTLS, false},
		{"e2e asked", Input{Security: "e2e"}, E2E, true},
		{"portal asked, even for non-PHI", Input{Security: "portal", NonPHI: true}, Portal, false},
	}
	for _, c := range cases {
		d := Decide(c.in)
		if d.Level != c.want || d.PHI != c.phi || d.Rule == "" {
			t.Errorf("%s: %+v, want level %s phi %v", c.name, d, c.want, c.phi)
		}
	}
	if !Portal.AtLeast(VerifiedTLS) || Opportunistic.AtLeast(VerifiedTLS) || Max(Opportunistic, E2E) != E2E {
		t.Fatal("level order wrong")
	}
}

func TestFloorMethods(t *testing.T) {
	t.Parallel()
	for in, want := range map[Input]string{
		{}:                                 "verified-tls,portal",
		{NonPHI: true}:                     "opportunistic",
		{Security: "e2e"}:                  "portal",
		{Security: "portal", NonPHI: true}: "portal",
		{TLSOnly: true, NonPHI: true}:      "verified-tls",
		{TLSOnly: true, Security: "e2e"}:   "",
	} {
		d := Decide(in)
		if got := MethodList(d.Methods); got != want || d.Drop != in.TLSOnly || len(d.Reasons) == 0 {
			t.Errorf("%+v: methods %s (drop %v, %d reasons), want %s", in, got, d.Drop, len(d.Reasons), want)
		}
	}
}

func TestMethodsForIsTheFallbackChain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		level        Level
		tlsOnly, key bool
		want         string
	}{
		{Opportunistic, false, false, "opportunistic"},
		{Opportunistic, true, false, "verified-tls"},
		{VerifiedTLS, false, false, "verified-tls,portal"},
		{VerifiedTLS, false, true, "verified-tls,e2e,portal"},
		{VerifiedTLS, true, true, "verified-tls"},
		{E2E, false, true, "e2e,portal"},
		{E2E, false, false, "portal"},
		{E2E, true, true, ""},
		{Portal, false, true, "portal"},
		{Portal, true, false, ""},
	}
	for _, c := range cases {
		if got := MethodList(methodsFor(c.level, c.tlsOnly, c.key)); got != c.want {
			t.Errorf("methodsFor(%s, tlsOnly %v, key %v) = %q, want %q", c.level, c.tlsOnly, c.key, got, c.want)
		}
	}
}
