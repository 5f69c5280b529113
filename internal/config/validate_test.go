package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestValidateReportsEveryProblem breaks many keys at once and expects one
// error naming each of them.
func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Data.Dir = ""
	c.Database.MaxConns = 0
	c.HTTP.Listen = "foo"
	c.HTTP.TLS = TLSFiles // without cert_file and key_file: two problems
	c.HTTP.PublicURL = "http://mail.example.org"
	c.HTTP.MaxBody = 0
	c.Audit.Retention = Duration(365 * day)
	c.Jobs.FetchPollInterval = Duration(time.Millisecond)
	c.Log.Level = "verbose"
	c.Log.Format = "xml"

	want := []string{
		"data.dir", "database.max_conns", "http.listen", "http.cert_file", "http.key_file",
		"http.public_url", "http.max_body", "audit.retention", "jobs.fetch_poll_interval", "log.level", "log.format",
	}
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(ve.Problems), len(want), err)
	}
	for i, key := range want {
		if i < len(ve.Problems) && ve.Problems[i].Key != key {
			t.Errorf("problem %d is about %s, want %s", i, ve.Problems[i].Key, key)
		}
		if !strings.Contains(err.Error(), key+": ") {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	if !strings.Contains(err.Error(), `http.listen: "foo" is not host:port`) {
		t.Errorf("error = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // the key of the one problem expected, "" for none
		msg    string // part of its message
	}{
		{"url and url_file", func(c *Config) { c.Database.URL, c.Database.URLFile = "postgres://db/x", "/run/db" },
			"database.url_file", "only one"},
		{"unsupported database scheme hides the password", func(c *Config) { c.Database.URL = "mysql://u:hunter2@db/x" },
			"database.url", "mysql://u:xxxxx@db/x"},
		{"sqlite URL", func(c *Config) { c.Database.URL = "sqlite:///var/lib/carepost/db" }, "", ""},
		{"max_conns too large", func(c *Config) { c.Database.MaxConns = 1001 }, "database.max_conns", "1001"},
		{"kek file and env", func(c *Config) { c.Keys.KEKFile, c.Keys.KEKEnv = "/k", "CAREPOST_KEK" }, "keys.kek_env", "only one"},
		{"kek_env not a name", func(c *Config) { c.Keys.KEKEnv = "MY-KEK" }, "keys.kek_env", "not an environment variable name"},
		{"rotation disabled", func(c *Config) { c.Keys.RotationInterval = 0 }, "", ""},
		{"rotation negative", func(c *Config) { c.Keys.RotationInterval = -1 }, "keys.rotation_interval", "negative"},
		{"current_ttl zero", func(c *Config) { c.Keys.CurrentTTL = 0 }, "keys.current_ttl", "positive"},
		{"listen port", func(c *Config) { c.HTTP.Listen = "127.0.0.1:99999" }, "http.listen", "port"},
		{"listen port zero for tests", func(c *Config) { c.HTTP.Listen = "127.0.0.1:0" }, "", ""},
		{"tls mode", func(c *Config) { c.HTTP.TLS = "on" }, "http.tls", `"on" is not one of self-signed, files, off`},
		{"tls files with both", func(c *Config) { c.HTTP.TLS, c.HTTP.CertFile, c.HTTP.KeyFile = TLSFiles, "c.pem", "k.pem" }, "", ""},
		{"plain public URL with tls off", func(c *Config) { c.HTTP.TLS, c.HTTP.PublicURL = TLSOff, "http://mail.example.org" }, "", ""},
		{"public URL not absolute", func(c *Config) { c.HTTP.PublicURL = "mail.example.org" }, "http.public_url", "absolute"},
		{"public URL scheme", func(c *Config) { c.HTTP.PublicURL = "ftp://mail.example.org" }, "http.public_url", "https://"},
		{"public URL user", func(c *Config) { c.HTTP.PublicURL = "https://u:pw@mail.example.org" }, "http.public_url", "u:xxxxx@"},
		{"timeout zero", func(c *Config) { c.HTTP.ReadHeaderTimeout = 0 }, "http.read_header_timeout", "positive"},
		{"proxy with host bits", func(c *Config) { c.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")} },
			"http.trusted_proxies", "did you mean 10.0.0.0/8"},
		{"retention at the minimum", func(c *Config) { c.Audit.Retention = Duration(2192 * day) }, "", ""},
		{"retention a day short", func(c *Config) { c.Audit.Retention = Duration(2191 * day) }, "audit.retention", "2191d is below the minimum 2192d"},
		{"checkpoint 1s", func(c *Config) { c.Audit.CheckpointInterval = Duration(time.Second) }, "", ""},
		{"checkpoint too short", func(c *Config) { c.Audit.CheckpointInterval = Duration(time.Millisecond) }, "audit.checkpoint_interval", "minimum 1s"},
		{"no workers", func(c *Config) { c.Jobs.Workers = 0 }, "jobs.workers", "between 1"},
		{"poll 50ms", func(c *Config) { c.Jobs.FetchPollInterval = Duration(50 * time.Millisecond) }, "", ""},
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
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error shows a password: %v", err)
			}
		})
	}
}
