package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // the key of the one problem expected, "" for none
		msg    string
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"submission disabled", func(c *Config) { c.Submission.Listen, c.Submission.TLSListen = ListenOff, "" }, "", ""},
		{"gateway disabled", func(c *Config) { c.Gateway.Listen = ListenOff }, "", ""},
		{"random ports for tests", func(c *Config) { c.Submission.Listen, c.Gateway.Listen = "127.0.0.1:0", "127.0.0.1:0" }, "", ""},
		{"listen not host:port", func(c *Config) { c.Submission.Listen = "587" }, "submission.listen", `"0" to disable`},
		{"tls_listen port", func(c *Config) { c.Submission.TLSListen = "127.0.0.1:70000" }, "submission.tls_listen", "port"},
		{"gateway listen", func(c *Config) { c.Gateway.Listen = "mx" }, "gateway.listen", "host:port"},
		{"cert without key", func(c *Config) { c.Submission.CertFile = "c.pem" }, "submission.key_file", "both"},
		{"gateway key without cert", func(c *Config) { c.Gateway.KeyFile = "k.pem" }, "gateway.key_file", "both"},
		{"tls off borrows the development certificate", func(c *Config) { c.HTTP.TLS = TLSOff }, "", ""},
		{"size at the outbox limit", func(c *Config) { c.Submission.MaxSize = MaxSMTPMessageSize }, "", ""},
		{"size above the outbox limit", func(c *Config) { c.Submission.MaxSize = MaxSMTPMessageSize + 1 }, "submission.max_size", "25MiB"},
		{"size zero", func(c *Config) { c.Gateway.MaxSize = 0 }, "gateway.max_size", "between"},
		{"recipients", func(c *Config) { c.Submission.MaxRecipients = 0 }, "submission.max_recipients", "between 1 and 1000"},
		{"rate unlimited", func(c *Config) { c.Submission.RatePerMinute = 0 }, "", ""},
		{"rate negative", func(c *Config) { c.Submission.RatePerMinute = -1 }, "submission.rate_per_minute", "negative"},
		{"read timeout", func(c *Config) { c.Gateway.ReadTimeout = 0 }, "gateway.read_timeout", "positive"},
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
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("Validate = %v, want one problem with %s", err, tt.key)
			}
			if p := ve.Problems[0]; p.Key != tt.key || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem = %s, want %s: ...%s...", p, tt.key, tt.msg)
			}
		})
	}
}

func TestSMTPListenFromEnvironment(t *testing.T) {
	t.Parallel()
	c, err := Load("", []string{"CAREPOST_SUBMISSION_LISTEN=" + ListenOff, "CAREPOST_GATEWAY_LISTEN=0.0.0.0:25"})
	if err != nil {
		t.Fatal(err)
	}
	if ListenEnabled(c.Submission.Listen) || c.Gateway.Listen != "0.0.0.0:25" {
		t.Fatalf("submission.listen %q, gateway.listen %q", c.Submission.Listen, c.Gateway.Listen)
	}
}

func TestSMTPHostname(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.HTTP.PublicURL = "https://mail.example.org:8443/console"
	for configured, want := range map[string]string{"": "mail.example.org", "mx.example.org": "mx.example.org"} {
		if got := c.SMTPHostname(configured); got != want {
			t.Errorf("SMTPHostname(%q) = %q, want %q", configured, got, want)
		}
	}
	c.HTTP.PublicURL = ""
	if got := c.SMTPHostname(""); got != "localhost" {
		t.Errorf("without a public URL: %q", got)
	}
}
