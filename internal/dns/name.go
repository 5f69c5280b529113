package dns

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// lookupProfile maps names the way a lookup must (UTS 46 mapping, IDNA2008
// rules, RFC 5891 section 5) but allows underscores, which the service
// labels of TLSA and MTA-STS names carry ("_25._tcp.", "_mta-sts.").
// StrictDomainName(false) must come after MapForLookup, which turns it on.
var lookupProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(false),
)

// ToASCII returns name as lower-case A-labels without a trailing dot, the
// form every name takes in this package: "Bücher.Example." becomes
// "xn--bcher-kva.example". It refuses what cannot be a host or service name.
func ToASCII(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", errors.New("empty name")
	}
	if !utf8.ValidString(name) {
		// The IDNA profile would encode U+FFFD into the A-label.
		return "", errors.New("name is not valid UTF-8")
	}
	a, err := lookupProfile.ToASCII(name)
	if err != nil {
		return "", err
	}
	// RFC 1035 section 2.3.4: 255 octets on the wire, 253 in text form.
	if len(a) > 253 {
		return "", errors.New("name longer than 253 octets")
	}
	for label := range strings.SplitSeq(a, ".") {
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	return a, nil
}

// checkLabel allows letters, digits, hyphens and underscores (RFC 1123
// section 2.1 host names, plus the underscore of RFC 8552 attribute leaves).
// Without StrictDomainName the IDNA profile lets other ASCII through.
func checkLabel(label string) error {
	if label == "" || len(label) > 63 {
		return errors.New("empty label or label longer than 63 octets")
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return errors.New("label has a character outside letters, digits, '-' and '_'")
		}
	}
	return nil
}

// hostOf normalises a name from an answer: lower case, no trailing dot.
// The root name (the null MX target) stays ".".
func hostOf(fqdn string) string {
	if fqdn == "." {
		return "."
	}
	return lower(strings.TrimSuffix(fqdn, "."))
}

// lower is ASCII lower-casing; DNS names compare case-insensitively in ASCII
// only (RFC 4343).
func lower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
