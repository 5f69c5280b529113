package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestValidateKeydir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // the key of the one problem expected, "" for none
		msg    string
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"wkd on a test port", func(c *Config) {
			c.Keydir.WKD, c.Keydir.WKDPort = true, 8443
			c.Keydir.WKDAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}, "", ""},
		{"gcm", func(c *Config) { c.Keydir.SMIMECipher = SMIMEAES256GCM }, "", ""},
		{"port zero", func(c *Config) { c.Keydir.WKDPort = 0 }, "keydir.wkd_port", "port"},
		{"timeout", func(c *Config) { c.Keydir.WKDTimeout = 0 }, "keydir.wkd_timeout", "positive"},
		{"cache", func(c *Config) { c.Keydir.WKDCacheTTL = -1 }, "keydir.wkd_cache_ttl", "positive"},
		{"allow with host bits", func(c *Config) { c.Keydir.WKDAllow = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")} }, "keydir.wkd_allow", "CIDR"},
		{"cipher", func(c *Config) { c.Keydir.SMIMECipher = "des-cbc" }, "keydir.smime_cipher", "not one of"},
		{"subject with CRLF", func(c *Config) { c.Keydir.NeutralSubject = "a\r\nBcc: x@y" }, "keydir.neutral_subject", "printable ASCII"},
		{"empty subject", func(c *Config) { c.Keydir.NeutralSubject = "" }, "keydir.neutral_subject", "printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			tt.change(c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Key != tt.key || !strings.Contains(ve.Problems[0].Msg, tt.msg) {
				t.Fatalf("Validate = %v, want one problem %s containing %q", err, tt.key, tt.msg)
			}
		})
	}
}
