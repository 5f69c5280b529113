package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Problem is one thing wrong with a Config.
type Problem struct {
	Key string // dotted key: "http.listen"
	Msg string // what is wrong: `"foo" is not host:port`
}

func (p Problem) String() string { return p.Key + ": " + p.Msg }

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	if len(parts) == 1 {
		return "invalid configuration: " + parts[0]
	}
	return fmt.Sprintf("invalid configuration (%d problems): %s", len(parts), strings.Join(parts, "; "))
}

// check collects problems.
type check []Problem

func (ch *check) add(key, format string, args ...any) {
	*ch = append(*ch, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// atLeast reports a duration below min.
func (ch *check) atLeast(key string, d, min Duration) {
	if d < min {
		ch.add(key, "%s is below the minimum %s", d, min)
	}
}

// positive reports a duration that is zero or negative.
func (ch *check) positive(key string, d Duration) {
	if d <= 0 {
		ch.add(key, "%s must be positive", d)
	}
}

// oneOf reports a value not among allowed.
func (ch *check) oneOf(key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	ch.add(key, "%q is not one of %s", value, strings.Join(allowed, ", "))
}

// Validate reports every problem with c at once, as a *ValidationError, or
// nil. It works on a resolved or unresolved Config, and never echoes a
// password.
func (c *Config) Validate() error {
	var ch check
	c.validateStorage(&ch)
	c.validateHTTP(&ch)
	c.validateSMTP(&ch)
	c.validateAuth(&ch)
	c.validateKeydir(&ch)
	c.validateDelivery(&ch)
	c.validatePortal(&ch)
	c.validateMarketing(&ch)

	ch.atLeast("audit.retention", c.Audit.Retention, MinRetention) // HIPAA 164.316(b)(2)(i)
	ch.atLeast("audit.checkpoint_interval", c.Audit.CheckpointInterval, Duration(time.Second))
	if c.Jobs.Workers < 1 || c.Jobs.Workers > 10000 {
		ch.add("jobs.workers", "%d is not between 1 and 10000", c.Jobs.Workers)
	}
	if c.Jobs.CampaignWorkers < 0 || c.Jobs.CampaignWorkers > 10000 {
		ch.add("jobs.campaign_workers", "%d is not between 0 (twice the processors) and 10000", c.Jobs.CampaignWorkers)
	}
	ch.atLeast("jobs.fetch_poll_interval", c.Jobs.FetchPollInterval, Duration(50*time.Millisecond))
	ch.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ch.oneOf("log.format", c.Log.Format, "text", "json")

	if len(ch) == 0 {
		return nil
	}
	return &ValidationError{Problems: ch}
}

// envName is what an environment variable name may be (POSIX portable set).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c *Config) validateStorage(ch *check) {
	if c.Data.Dir == "" {
		ch.add("data.dir", "must not be empty")
	}
	db := c.Database
	if db.URL != "" && db.URLFile != "" {
		ch.add("database.url_file", "set only one of database.url and database.url_file")
	}
	if scheme, _, ok := strings.Cut(db.URL, "://"); ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql", "sqlite", "file":
		default:
			ch.add("database.url", "%q: unsupported scheme %q (use postgres://, sqlite:// or a file path)", redactURL(db.URL), scheme)
		}
	}
	if db.MaxConns < 1 || db.MaxConns > 1000 {
		ch.add("database.max_conns", "%d is not between 1 and 1000", db.MaxConns)
	}

	k := c.Keys
	if k.KEKFile != "" && k.KEKEnv != "" {
		ch.add("keys.kek_env", "set only one of keys.kek_file and keys.kek_env")
	}
	if k.KEKEnv != "" && !envName.MatchString(k.KEKEnv) {
		ch.add("keys.kek_env", "%q is not an environment variable name", k.KEKEnv)
	}
	if k.RotationInterval < 0 {
		ch.add("keys.rotation_interval", "%s is negative (0 disables rotation)", k.RotationInterval)
	}
	ch.positive("keys.current_ttl", k.CurrentTTL)
}

func (c *Config) validateHTTP(ch *check) {
	h := c.HTTP
	if _, port, err := net.SplitHostPort(h.Listen); err != nil {
		ch.add("http.listen", "%q is not host:port", h.Listen)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		ch.add("http.listen", "%q: port %q is not a number from 0 to 65535", h.Listen, port)
	}
	ch.oneOf("http.tls", h.TLS, TLSSelfSigned, TLSFiles, TLSOff)
	if h.TLS == TLSFiles {
		if h.CertFile == "" {
			ch.add("http.cert_file", "required when http.tls is files")
		}
		if h.KeyFile == "" {
			ch.add("http.key_file", "required when http.tls is files")
		}
	}
	if h.PublicURL != "" {
		validatePublicURL(ch, h.PublicURL, h.TLS)
	}
	ch.positive("http.read_header_timeout", h.ReadHeaderTimeout)
	ch.positive("http.read_timeout", h.ReadTimeout)
	ch.positive("http.write_timeout", h.WriteTimeout)
	ch.positive("http.idle_timeout", h.IdleTimeout)
	ch.positive("http.shutdown_timeout", h.ShutdownTimeout)
	if h.MaxBody <= 0 {
		ch.add("http.max_body", "%s must be positive", h.MaxBody)
	}
	for _, p := range h.TrustedProxies {
		if !p.IsValid() {
			ch.add("http.trusted_proxies", "invalid CIDR")
		} else if p != p.Masked() {
			ch.add("http.trusted_proxies", "%s has bits set beyond the prefix length; did you mean %s?", p, p.Masked())
		}
	}
}

func validatePublicURL(ch *check, raw, tlsMode string) {
	shown := redactURL(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		ch.add("http.public_url", "%q is not an absolute URL", shown)
		return
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && tlsMode == TLSOff:
	case u.Scheme == "http":
		ch.add("http.public_url", "%q must be https:// unless http.tls is off", shown)
	default:
		ch.add("http.public_url", "%q must be an https:// URL", shown)
	}
	if u.User != nil {
		ch.add("http.public_url", "%q must not contain a user name or password", shown)
	}
}
