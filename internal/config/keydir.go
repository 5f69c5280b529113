package config

import (
	"net/netip"
	"strings"
	"time"
)

// S/MIME content encryption values for Keydir.SMIMECipher.
const (
	SMIMEAES256CBC = "aes256-cbc"
	SMIMEAES256GCM = "aes256-gcm"
)

// Keydir is the [keydir] section: the recipient key directory and
// end-to-end encryption (OpenPGP and S/MIME; docs/E2E.md).
type Keydir struct {
	// WKD is whether to look up a recipient's OpenPGP key in the Web Key
	// Directory of their domain when the directory has none
	// (draft-koch-openpgp-webkey-service). A lookup tells the recipient's
	// domain that someone is about to write to that address.
	// Default: false.
	WKD bool `toml:"wkd" doc:"whether to look up a recipient's OpenPGP key in the Web Key Directory of their domain when the directory has none"`
	// WKDPort is the HTTPS port of Web Key Directory lookups; only tests
	// change it. Default: 443.
	WKDPort int `toml:"wkd_port" doc:"HTTPS port of Web Key Directory lookups; only tests change it"`
	// WKDTimeout is the bound on one Web Key Directory lookup, both
	// methods together. Default: "5s".
	WKDTimeout Duration `toml:"wkd_timeout" doc:"bound on one Web Key Directory lookup, both methods together"`
	// WKDCacheTTL is how long a node remembers a Web Key Directory answer
	// (a key, or that there is none) before asking again. Default: "1h".
	WKDCacheTTL Duration `toml:"wkd_cache_ttl" doc:"how long a node remembers a Web Key Directory answer (a key, or that there is none) before asking again"`
	// WKDAllow lists address ranges Web Key Directory lookups may reach
	// although the SSRF guard refuses them by default (loopback, private,
	// link-local), for a directory on an internal network. Default: [].
	WKDAllow []netip.Prefix `toml:"wkd_allow" doc:"address ranges Web Key Directory lookups may reach although the SSRF guard refuses them by default (loopback, private, link-local)"`
	// SMIMETrustFile is a PEM bundle of the certificate authorities
	// recipients' S/MIME certificates must chain to; empty means the
	// system's roots. Default: "".
	SMIMETrustFile string `toml:"smime_trust_file" doc:"PEM bundle of the certificate authorities recipients' S/MIME certificates must chain to; empty means the system's roots"`
	// SMIMECipher is the S/MIME content encryption: aes256-cbc
	// (EnvelopedData, read by every client) or aes256-gcm
	// (AuthEnvelopedData, RFC 5083). Default: "aes256-cbc".
	SMIMECipher string `toml:"smime_cipher" doc:"S/MIME content encryption: aes256-cbc (EnvelopedData, read by every client) or aes256-gcm (AuthEnvelopedData, RFC 5083)"`
	// SMIMEOAEP is whether to transport S/MIME content keys with
	// RSAES-OAEP (SHA-256) instead of RSAES-PKCS1-v1_5. Default: false.
	SMIMEOAEP bool `toml:"smime_oaep" doc:"whether to transport S/MIME content keys with RSAES-OAEP (SHA-256) instead of RSAES-PKCS1-v1_5"`
	// NeutralSubject is the Subject shown outside an encrypted message;
	// the real one is protected inside (printable ASCII). Default: "...".
	NeutralSubject string `toml:"neutral_subject" doc:"Subject shown outside an encrypted message; the real one is protected inside (printable ASCII)"`
}

func defaultKeydir() Keydir {
	return Keydir{
		WKDPort:        443,
		WKDTimeout:     Duration(5 * time.Second),
		WKDCacheTTL:    Duration(time.Hour),
		SMIMECipher:    SMIMEAES256CBC,
		NeutralSubject: "...",
	}
}

func (c *Config) validateKeydir(ch *check) {
	k := c.Keydir
	if k.WKDPort < 1 || k.WKDPort > 65535 {
		ch.add("keydir.wkd_port", "%d is not a port from 1 to 65535", k.WKDPort)
	}
	ch.positive("keydir.wkd_timeout", k.WKDTimeout)
	ch.positive("keydir.wkd_cache_ttl", k.WKDCacheTTL)
	for _, p := range k.WKDAllow {
		if !p.IsValid() || p != p.Masked() {
			ch.add("keydir.wkd_allow", "%s is not a CIDR with no bits set beyond its prefix length", p)
		}
	}
	ch.oneOf("keydir.smime_cipher", k.SMIMECipher, SMIMEAES256CBC, SMIMEAES256GCM)
	s := k.NeutralSubject
	ok := s != "" && len(s) <= 200
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= ' ' && s[i] <= '~'
	}
	if !ok || strings.TrimSpace(s) != s {
		ch.add("keydir.neutral_subject", "must be 1 to 200 printable ASCII characters without surrounding spaces")
	}
}
