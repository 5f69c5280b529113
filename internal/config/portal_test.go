package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidatePortal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // the key of the one problem expected, "" for none
		msg    string
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"a week, six digits", func(c *Config) { c.Portal.DefaultExpiry, c.Portal.CodeLength = Duration(7*24*time.Hour), 6 }, "", ""},
		{"expiry too long", func(c *Config) { c.Portal.DefaultExpiry = Duration(400 * 24 * time.Hour) }, "portal.default_expiry", "between"},
		{"expiry too short", func(c *Config) { c.Portal.DefaultExpiry = Duration(time.Minute) }, "portal.default_expiry", "between"},
		{"five-digit codes", func(c *Config) { c.Portal.CodeLength = 5 }, "portal.code_length", "between 6 and 8"},
		{"nine-digit codes", func(c *Config) { c.Portal.CodeLength = 9 }, "portal.code_length", "between 6 and 8"},
		{"code ttl", func(c *Config) { c.Portal.CodeTTL = Duration(2 * time.Hour) }, "portal.code_ttl", "between"},
		{"attempts", func(c *Config) { c.Portal.CodeAttempts = 0 }, "portal.code_attempts", "between"},
		{"codes per hour", func(c *Config) { c.Portal.CodesPerHour = 50 }, "portal.codes_per_hour", "between"},
		{"failures", func(c *Config) { c.Portal.MaxFailures = 0 }, "portal.max_failures", "between"},
		{"idle too long", func(c *Config) { c.Portal.SessionIdleTimeout = Duration(time.Hour) }, "portal.session_idle_timeout", "between"},
		{"lifetime", func(c *Config) { c.Portal.SessionLifetime = Duration(24 * time.Hour) }, "portal.session_lifetime", "between"},
		{"empty text", func(c *Config) { c.Portal.NotificationText = " " }, "portal.notification_text", "1 to 1000"},
		{"text with a header break", func(c *Config) { c.Portal.NotificationText = "Hi\r\nBcc: x@y" }, "portal.notification_text", "printable"},
		{"from with an @", func(c *Config) { c.Portal.NotificationFrom = "a@b" }, "portal.notification_from", "local part"},
		{"from with a dot at the end", func(c *Config) { c.Portal.NotificationFrom = "secure." }, "portal.notification_from", "local part"},
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
