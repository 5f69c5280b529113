package senderdomain

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NameError says why a name cannot be a sender domain. Msg is written for a
// person and never echoes the input.
type NameError struct{ Msg string }

func (e *NameError) Error() string { return e.Msg }

func nameErr(msg string) error { return &NameError{Msg: msg} }

// maxInput bounds what is handed to IDNA at all; a longer input cannot map
// to a 253-octet name.
const maxInput = 1024

// specialUse are top-level names that never belong to a sender on the
// public Internet: RFC 6761 section 6.3 (localhost) and 6.4 (invalid), RFC
// 6762 (local, multicast DNS), RFC 7686 (onion), arpa (RFC 3172, reverse
// mapping and home.arpa) and ICANN's private-use "internal". The RFC 2606
// names test and example stay allowed: tests and demos use them.
var specialUse = map[string]bool{"localhost": true, "invalid": true, "local": true, "onion": true, "arpa": true, "internal": true}

// NormalizeDomain returns the sender-domain form of name: lower-case
// A-labels (IDNA2008 lookup rules via UTS 46, RFC 5891 section 5), without
// a trailing dot. It refuses IP addresses and address literals, single
// labels, labels outside letters, digits and inner hyphens (RFC 1123
// section 2.1; no underscores: a sender domain is a host name, RFC 5321
// section 2.3.5), labels over 63 and names over 253 octets (RFC 1035
// section 2.3.4), an all-digit top-level label (RFC 3696 section 2) and
// special-use names. This is the form outbound From domains take (package
// message), so the two compare with ==.
func NormalizeDomain(name string) (string, error) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	switch {
	case name == "":
		return "", nameErr("enter a domain name such as example.org")
	case len(name) > maxInput || !utf8.ValidString(name):
		return "", nameErr("not a domain name")
	case strings.HasPrefix(name, "["):
		return "", nameErr("an address literal cannot be a sender domain; enter a domain name")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "", nameErr("an IP address cannot be a sender domain; enter a domain name")
	}
	a, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", nameErr("not a valid domain name (IDNA2008)")
	}
	a = strings.ToLower(a)
	if len(a) > 253 {
		return "", nameErr("longer than 253 characters")
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", nameErr("needs at least two labels, such as example.org")
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return "", err
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "", nameErr("the last label cannot be all digits")
	}
	if specialUse[tld] {
		return "", nameErr("a special-use name (." + tld + ") cannot send mail on the Internet")
	}
	return a, nil
}

// checkLabel applies the LDH rule of RFC 1123 section 2.1 to one A-label.
func checkLabel(l string) error {
	if l == "" || len(l) > 63 {
		return nameErr("each label must be 1 to 63 characters")
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return nameErr("a label cannot start or end with a hyphen")
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return nameErr("only letters, digits and hyphens are allowed")
		}
	}
	return nil
}
