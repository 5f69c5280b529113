package connector

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/auth"
)

// Limits on one connector.
const (
	MaxNameLen    = 100
	MaxRanges     = 100
	MaxPins       = 20
	MaxNames      = 20
	MaxBundleSize = 64 << 10
	// MinPrefixV4 and MinPrefixV6 are the widest source ranges accepted.
	// Google's and Microsoft's published ranges are /19 and narrower, /36
	// and narrower for IPv6; anything near /0 is "relay for the internet".
	MinPrefixV4 = 8
	MinPrefixV6 = 32
)

// Input is what an administrator sets on a connector (the REST API body).
type Input struct {
	Name       string   `json:"name"`
	IPRanges   []string `json:"ip_ranges"`
	CertSHA256 []string `json:"cert_sha256"`
	ClientCA   string   `json:"client_ca"`
	CertNames  []string `json:"cert_names"`
	TenantID   string   `json:"tenant_id"`
	// RequireTLS defaults to true.
	RequireTLS *bool `json:"require_tls"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled"`
}

var (
	errCAPrivateKey = errors.New("holds a private key: paste only the CA certificates, and treat that key as exposed")
	errCABlock      = errors.New("may hold only PEM CERTIFICATE blocks")
	errCAParse      = errors.New("is not a PEM bundle of X.509 certificates")
	errCANotCA      = errors.New("holds a certificate that is not a CA; pin a server's own certificate with cert_sha256 instead")
)

func invalid(field, format string, args ...any) error {
	return &auth.InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks in and returns the connector it describes, without id,
// organization or times. Errors are *auth.InputError naming the field; they
// never echo a value.
func Validate(in Input) (Connector, error) {
	c := Connector{RequireTLS: in.RequireTLS == nil || *in.RequireTLS, Enabled: in.Enabled == nil || *in.Enabled}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return Connector{}, invalid("name", "give a name of 1 to %d characters without control characters", MaxNameLen)
	}
	c.Name = name
	var err error
	if c.IPRanges, err = validateRanges(in.IPRanges); err != nil {
		return Connector{}, err
	}
	if c.CertSHA256, err = validatePins(in.CertSHA256); err != nil {
		return Connector{}, err
	}
	if err := validateCA(&c, in.ClientCA, in.CertNames); err != nil {
		return Connector{}, err
	}
	if in.TenantID != "" {
		if !isUUID(in.TenantID) {
			return Connector{}, invalid("tenant_id", "must be a Microsoft 365 tenant id (a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47)")
		}
		c.TenantID = strings.ToLower(in.TenantID)
	}
	if len(c.IPRanges) == 0 && !c.usesCert() {
		return Connector{}, invalid("ip_ranges", "give source ranges, a client certificate (cert_sha256 or client_ca), or both")
	}
	if c.usesCert() && !c.RequireTLS {
		return Connector{}, invalid("require_tls", "a connector identified by a client certificate always requires TLS")
	}
	return c, nil
}

func validateRanges(in []string) ([]netip.Prefix, error) {
	if len(in) > MaxRanges {
		return nil, invalid("ip_ranges", "at most %d ranges", MaxRanges)
	}
	var out []netip.Prefix
	for i, s := range in {
		field := fmt.Sprintf("ip_ranges[%d]", i)
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, invalid(field, "not an IP address or CIDR range")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p != p.Masked() {
			return nil, invalid(field, "the range has bits set beyond the prefix length; did you mean %s?", p.Masked())
		}
		if (p.Addr().Is4() && p.Bits() < MinPrefixV4) || (p.Addr().Is6() && p.Bits() < MinPrefixV6) {
			return nil, invalid(field, "the range is wider than /%d (IPv4) or /%d (IPv6): list your servers' ranges, not the internet", MinPrefixV4, MinPrefixV6)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// validatePins accepts hex digests with or without colons, any case.
func validatePins(in []string) ([]string, error) {
	if len(in) > MaxPins {
		return nil, invalid("cert_sha256", "at most %d fingerprints", MaxPins)
	}
	var out []string
	for i, s := range in {
		h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			return nil, invalid(fmt.Sprintf("cert_sha256[%d]", i), "must be a SHA-256 fingerprint: 64 hexadecimal digits")
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

func validateCA(c *Connector, bundle string, names []string) error {
	if bundle == "" {
		if len(names) > 0 {
			return invalid("cert_names", "names are checked on certificates verified against client_ca; set client_ca too")
		}
		return nil
	}
	if len(bundle) > MaxBundleSize {
		return invalid("client_ca", "at most %d bytes", MaxBundleSize)
	}
	pool, err := parseCABundle(bundle)
	if err != nil {
		return invalid("client_ca", "the CA bundle %s", err.Error())
	}
	// A CA vouches for every certificate it issued; without names, any
	// customer of a public CA would match.
	if len(names) == 0 {
		return invalid("cert_names", "give the DNS names the client certificate must be valid for (e.g. mail.protection.outlook.com)")
	}
	if len(names) > MaxNames {
		return invalid("cert_names", "at most %d names", MaxNames)
	}
	for i, n := range names {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
		if !isHostname(n) {
			return invalid(fmt.Sprintf("cert_names[%d]", i), "not a DNS host name")
		}
		if !slices.Contains(c.CertNames, n) {
			c.CertNames = append(c.CertNames, n)
		}
	}
	c.ClientCA, c.roots = bundle, pool
	return nil
}

// isHostname checks RFC 1123 host name syntax: letters, digits and
// hyphens in labels of 1 to 63 octets, at most 253 in all.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isUUID checks the 8-4-4-4-12 hexadecimal form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if s[i] != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])):
			return false
		}
	}
	return true
}
