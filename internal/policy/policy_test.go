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
