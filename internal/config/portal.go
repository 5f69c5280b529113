package config

import (
	"strings"
	"time"
	"unicode"
)

// Portal is the [portal] section: the secure portal recipients open
// messages in (docs/PORTAL.md). Expiry and notification text are the
// defaults of organizations that have not set their own.
type Portal struct {
	// DefaultExpiry is how long a portal message can be opened, counted
	// from its handoff, for organizations without their own setting.
	// Default: "30d".
	DefaultExpiry Duration `toml:"default_expiry" doc:"how long a portal message can be opened, counted from its handoff, for organizations without their own setting"`
	// NotificationText is the paragraph of the notification email after
	// the sender organization's name, for organizations without their own
	// text; it must never carry PHI. Default: "Sign in to the secure portal to read it. For your privacy, the message itself is not sent by email.".
	NotificationText string `toml:"notification_text" doc:"paragraph of the notification email after the sender organization's name, for organizations without their own text; it must never carry PHI"`
	// NotificationFrom is the local part of the address notifications and
	// one-time codes come from, at the original message's sender domain.
	// Default: "no-reply".
	NotificationFrom string `toml:"notification_from" doc:"local part of the address notifications and one-time codes come from, at the original message's sender domain"`
	// CodeLength is the number of digits of a one-time code (6 to 8).
	// Default: 8.
	CodeLength int `toml:"code_length" doc:"number of digits of a one-time code (6 to 8)"`
	// CodeTTL is how long a one-time code can be used (1m to 1h).
	// Default: "10m".
	CodeTTL Duration `toml:"code_ttl" doc:"how long a one-time code can be used (1m to 1h)"`
	// CodeAttempts is how many wrong entries one code survives (1 to 10).
	// Default: 5.
	CodeAttempts int `toml:"code_attempts" doc:"how many wrong entries one code survives (1 to 10)"`
	// CodesPerHour is how many codes one portal message may send in an
	// hour (1 to 20). Default: 5.
	CodesPerHour int `toml:"codes_per_hour" doc:"how many codes one portal message may send in an hour (1 to 20)"`
	// MaxFailures is how many failed proofs in a row (codes, passphrase,
	// account) lock a portal message for lockout (1 to 100). Default: 10.
	MaxFailures int `toml:"max_failures" doc:"how many failed proofs in a row (codes, passphrase, account) lock a portal message for lockout (1 to 100)"`
	// Lockout is how long a portal message stays locked after max_failures.
	// Default: "15m".
	Lockout Duration `toml:"lockout" doc:"how long a portal message stays locked after max_failures"`
	// SessionIdleTimeout ends a portal session after this much inactivity
	// (1m to 30m). Default: "10m".
	SessionIdleTimeout Duration `toml:"session_idle_timeout" doc:"ends a portal session after this much inactivity (1m to 30m)"`
	// SessionLifetime ends a portal session this long after the proof,
	// whatever the activity (5m to 12h). Default: "1h".
	SessionLifetime Duration `toml:"session_lifetime" doc:"ends a portal session this long after the proof, whatever the activity (5m to 12h)"`
}

// DefaultNotificationText is the default of portal.notification_text.
const DefaultNotificationText = "Sign in to the secure portal to read it. For your privacy, the message itself is not sent by email."

func defaultPortal() Portal {
	return Portal{
		DefaultExpiry:      Duration(30 * 24 * time.Hour),
		NotificationText:   DefaultNotificationText,
		NotificationFrom:   "no-reply",
		CodeLength:         8,
		CodeTTL:            Duration(10 * time.Minute),
		CodeAttempts:       5,
		CodesPerHour:       5,
		MaxFailures:        10,
		Lockout:            Duration(15 * time.Minute),
		SessionIdleTimeout: Duration(10 * time.Minute),
		SessionLifetime:    Duration(time.Hour),
	}
}

// MaxPortalExpiry bounds portal.default_expiry and organizations' own
// expiry.
const MaxPortalExpiry = Duration(366 * 24 * time.Hour)

func (c *Config) validatePortal(ch *check) {
	p := c.Portal
	between := func(key string, d, lo, hi Duration) {
		if d < lo || d > hi {
			ch.add(key, "%s is not between %s and %s", d, lo, hi)
		}
	}
	between("portal.default_expiry", p.DefaultExpiry, Duration(time.Hour), MaxPortalExpiry)
	between("portal.code_ttl", p.CodeTTL, Duration(time.Minute), Duration(time.Hour))
	between("portal.lockout", p.Lockout, Duration(time.Minute), Duration(24*time.Hour))
	between("portal.session_idle_timeout", p.SessionIdleTimeout, Duration(time.Minute), Duration(30*time.Minute))
	between("portal.session_lifetime", p.SessionLifetime, Duration(5*time.Minute), Duration(12*time.Hour))
	ints := []struct {
		key       string
		v, lo, hi int
	}{{"portal.code_length", p.CodeLength, 6, 8}, {"portal.code_attempts", p.CodeAttempts, 1, 10},
		{"portal.codes_per_hour", p.CodesPerHour, 1, 20}, {"portal.max_failures", p.MaxFailures, 1, 100}}
	for _, n := range ints {
		if n.v < n.lo || n.v > n.hi {
			ch.add(n.key, "%d is not between %d and %d", n.v, n.lo, n.hi)
		}
	}
	if msg := NotificationTextProblem(p.NotificationText); msg != "" {
		ch.add("portal.notification_text", "%s", msg)
	}
	if !localPart(p.NotificationFrom) {
		ch.add("portal.notification_from", "must be the local part of an address: 1 to 64 of a-z, 0-9, '.', '-', '_'")
	}
}

// NotificationTextProblem says what is wrong with a notification text, or
// "" when it is acceptable: 1 to 1000 characters of printable text and
// line breaks. (Whether it carries PHI is checked where the detectors
// live, package portal.)
func NotificationTextProblem(s string) string {
	if strings.TrimSpace(s) == "" || len([]rune(s)) > 1000 {
		return "must be 1 to 1000 characters"
	}
	for _, r := range s {
		if r != '\n' && !unicode.IsPrint(r) {
			return "must be printable text and line breaks only"
		}
	}
	return ""
}

func localPart(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789.-_") == ""
}
