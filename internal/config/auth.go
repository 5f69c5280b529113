package config

import (
	"net"
	"net/url"
	"strings"
)

// Auth is the [auth] section: sign-in settings that depend on where people
// reach carepost.
type Auth struct {
	// WebAuthnRPID is the relying party ID passkeys are bound to: the host
	// of http.public_url or a registrable suffix of it (W3C WebAuthn Level
	// 3 section 5.1.4.1), e.g. "example.org" for https://mail.example.org.
	// Empty means the host of http.public_url; when that host is an IP
	// address, passkeys are off (an RP ID must be a domain) and TOTP
	// remains. Changing it later makes every registered passkey unusable.
	// Default: "".
	WebAuthnRPID string `toml:"webauthn_rp_id" doc:"relying party ID passkeys are bound to: the host of http.public_url or a registrable suffix of it"`
}

// PasskeyRPID is the WebAuthn relying party ID in force: auth.webauthn_rp_id,
// else the host of http.public_url, else "" (passkeys off) when that host is
// an IP address or the URL cannot be read.
func (c *Config) PasskeyRPID() string {
	if c.Auth.WebAuthnRPID != "" {
		return strings.ToLower(c.Auth.WebAuthnRPID)
	}
	u, err := url.Parse(c.HTTP.PublicURL)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// PublicOrigin is the web origin of http.public_url (scheme://host[:port]),
// the one origin passkey ceremonies and SSO redirects may come from.
func (c *Config) PublicOrigin() string {
	u, err := url.Parse(c.HTTP.PublicURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (c *Config) validateAuth(ch *check) {
	id := c.Auth.WebAuthnRPID
	if id == "" {
		return
	}
	if strings.ContainsAny(id, ":/?#@ ") || net.ParseIP(id) != nil || strings.Trim(id, ".") != id || !strings.Contains(id, ".") && id != "localhost" {
		ch.add("auth.webauthn_rp_id", "%q must be a domain name without scheme or port, such as example.org", id)
		return
	}
	u, err := url.Parse(c.HTTP.PublicURL)
	if err != nil {
		return // http.public_url reports it
	}
	host, id := strings.ToLower(u.Hostname()), strings.ToLower(id)
	if host != id && !strings.HasSuffix(host, "."+id) {
		ch.add("auth.webauthn_rp_id", "%q must be the host of http.public_url (%s) or a domain it belongs to", id, host)
	}
}
