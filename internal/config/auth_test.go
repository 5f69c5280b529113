package config

import (
	"errors"
	"testing"
)

func TestPasskeyRelyingPartyID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		publicURL, rpID string
		want            string // PasskeyRPID; "" for passkeys off
		bad             bool   // Validate reports auth.webauthn_rp_id
	}{
		{"https://mail.example.org", "", "mail.example.org", false},
		{"https://Mail.Example.org:8443", "", "mail.example.org", false},
		{"https://127.0.0.1:8443", "", "", false}, // an IP address cannot be an RP ID
		{"https://[::1]", "", "", false},
		{"https://localhost:8443", "", "localhost", false},
		{"https://mail.example.org", "example.org", "example.org", false},
		{"https://mail.example.org", "mail.example.org", "mail.example.org", false},
		{"https://mail.example.org", "other.example", "other.example", true},
		{"https://mail.example.org", "ample.org", "ample.org", true}, // a suffix, but not a domain of it
		{"https://mail.example.org", "https://example.org", "https://example.org", true},
		{"https://mail.example.org", "example.org:443", "example.org:443", true},
		{"https://10.0.0.5", "10.0.0.5", "10.0.0.5", true},
	}
	for _, tt := range tests {
		c := Defaults()
		c.HTTP.PublicURL, c.Auth.WebAuthnRPID = tt.publicURL, tt.rpID
		c.Resolve()
		eq(t, tt.publicURL+" "+tt.rpID+" PasskeyRPID", c.PasskeyRPID(), tt.want)
		var ve *ValidationError
		err := c.Validate()
		got := errors.As(err, &ve) && len(ve.Problems) == 1 && ve.Problems[0].Key == "auth.webauthn_rp_id"
		if got != tt.bad {
			t.Errorf("%s with rp id %q: Validate = %v, want a problem: %v", tt.publicURL, tt.rpID, err, tt.bad)
		}
	}
	c := Defaults()
	c.HTTP.PublicURL = "https://mail.example.org:8443/console"
	eq(t, "PublicOrigin", c.PublicOrigin(), "https://mail.example.org:8443")
}
