package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalid marks input the caller must correct: a bad URL, an unknown
// event type, a payload that is too large. The API edge answers it with a
// client error; the wrapped message says what is wrong without echoing the
// input.
var ErrInvalid = errors.New("invalid webhook input")

// MaxURLLen bounds an endpoint URL.
const MaxURLLen = 2048

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// validateURL checks an endpoint URL when it is created or changed and
// returns it normalized. It refuses what the guard would refuse later where
// that is already certain (an IP literal in a forbidden range), so the
// owner sees a clear message instead of a delivery log full of failures;
// host names are checked at dial time only, when they resolve. Error
// messages never repeat the URL: it may hold a token.
func validateURL(raw string, allowHTTP bool, g guard) (string, error) {
	if raw == "" {
		return "", invalid("URL is empty")
	}
	if len(raw) > MaxURLLen {
		return "", invalid("URL is longer than %d bytes", MaxURLLen)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f {
			return "", invalid("URL contains a space or control character")
		}
	}
	if strings.Contains(raw, "#") {
		return "", invalid("URL must not have a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", invalid("URL does not parse")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return "", invalid("URL must use https")
	default:
		return "", invalid("URL scheme must be https")
	}
	if u.Opaque != "" || u.Host == "" {
		return "", invalid("URL needs a host")
	}
	if u.User != nil {
		return "", invalid("URL must not carry a user name or password")
	}
	if err := checkPort(u.Port(), u.Host); err != nil {
		return "", err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", invalid("URL host must not have an IPv6 zone")
		}
		if err := g.check(a); err != nil {
			return "", invalid("URL host is an address webhooks may not reach (%v)", err)
		}
	} else if err := checkHostname(host); err != nil {
		return "", err
	}
	return u.String(), nil
}

func checkPort(port, host string) error {
	if port == "" {
		if strings.HasSuffix(host, ":") {
			return invalid("URL port is empty")
		}
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return invalid("URL port must be a number from 1 to 65535")
	}
	return nil
}

// checkHostname accepts DNS names made of letters, digits, hyphens and
// underscores in dot-separated labels of at most 63 bytes (RFC 1123 section
// 2.1, RFC 1035 section 2.3.4), with an optional final dot. Internationalized
// names must be given in their A-label (xn--) form.
func checkHostname(host string) error {
	name := strings.TrimSuffix(host, ".")
	if name == "" || len(name) > 253 {
		return invalid("URL host must be a DNS name of 1 to 253 bytes")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return invalid("URL host has an empty or over-long label")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return invalid("URL host label must not start or end with a hyphen")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return invalid("URL host must be letters, digits, hyphens and dots (IDNs in xn-- form)")
			}
		}
	}
	// Labels that are all numbers are an IPv4 address in a form netip
	// refuses (octal, hex, fewer than four parts) but some resolvers
	// accept: 0177.1 and 0x7f.0.0.1 are 127.0.0.1.
	if allNumeric(name) {
		return invalid("URL host looks like a numeric address in a non-standard form")
	}
	return nil
}

func allNumeric(name string) bool {
	for _, label := range strings.Split(name, ".") {
		digits := label
		if len(label) > 1 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
			digits = label[2:]
			if strings.Trim(digits, "0123456789abcdefABCDEF") != "" {
				return false
			}
			continue
		}
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return false
		}
	}
	return true
}
