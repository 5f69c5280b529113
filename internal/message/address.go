package message

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// RFC 5321 section 4.5.3.1: size limits for the parts of a mailbox.
const (
	maxLocalPart = 64  // section 4.5.3.1.1
	maxDomain    = 255 // section 4.5.3.1.2
	maxLabel     = 63  // RFC 1035 section 2.3.4
)

// Address errors. Each names the rule the address broke and never the
// address itself: addresses can be PHI (a patient's mailbox), and errors end
// up in logs and API responses.
var (
	ErrAddressSyntax      = errors.New("address is not a valid RFC 5322 mailbox")
	ErrAddressControl     = errors.New("address contains a control character or invalid UTF-8")
	ErrAddressList        = errors.New("address list is not a valid RFC 5322 address list")
	ErrLocalPartEmpty     = errors.New("address has an empty local part")
	ErrLocalPartTooLong   = errors.New("address local part exceeds 64 octets (RFC 5321 section 4.5.3.1.1)")
	ErrLocalPartSyntax    = errors.New("address local part is not a dot-atom (RFC 5322 section 3.4.1)")
	ErrDomainEmpty        = errors.New("address has an empty domain")
	ErrDomainTooLong      = errors.New("address domain exceeds 255 octets (RFC 5321 section 4.5.3.1.2)")
	ErrDomainInvalid      = errors.New("address domain is not a valid host name (IDNA2008, RFC 5890)")
	ErrDomainNotQualified = errors.New("address domain is not fully qualified")
)

// Address is a mailbox: an optional display name and an addr-spec. Email is
// always normalized: the domain lower-cased and in A-labels ("xn--…"), the
// local part exactly as given (RFC 5321 section 2.4: local parts are case
// sensitive).
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// ParseAddress parses one RFC 5322 mailbox ("Name <local@domain>" or
// "local@domain") strictly; see NormalizeAddress for the rules.
func ParseAddress(s string) (Address, error) {
	if hasControl(s) {
		return Address{}, ErrAddressControl
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		// net/mail errors can quote the input; never pass them on.
		return Address{}, ErrAddressSyntax
	}
	return NormalizeAddress(Address{Name: a.Name, Email: a.Address})
}

// ParseAddressList parses a comma-separated RFC 5322 address list with the
// same rules as ParseAddress. Group syntax is not accepted.
func ParseAddressList(s string) ([]Address, error) {
	if hasControl(s) {
		return nil, ErrAddressControl
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	l, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, ErrAddressList
	}
	out := make([]Address, 0, len(l))
	for _, a := range l {
		n, err := NormalizeAddress(Address{Name: a.Name, Email: a.Address})
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// NormalizeAddress checks an Address that did not come through ParseAddress
// (the REST API decodes name and email separately) and returns it
// normalized. The rules:
//
//   - no control characters (C0, DEL, C1) and valid UTF-8 in name or email:
//     a CR or LF would let the value end its header field and start another
//     (header injection);
//   - the addr-spec is local@domain with a dot-atom local part. QUIRK: quoted
//     local parts (RFC 5322 section 3.4.1 quoted-string) are refused; they are
//     legal but almost only seen in abuse, and every later hop (SMTP
//     parameters, suppression lists, webhooks) would have to quote them;
//   - local part 1..64 octets, domain 1..255 octets (RFC 5321 4.5.3.1);
//   - the domain is a fully qualified host name: converted to A-labels and
//     lower case with IDNA2008 lookup rules, labels 1..63 octets, at least two
//     labels and a top-level label that is not all digits (no address
//     literals, no bare IPs, no single-label names);
//   - a non-ASCII local part is allowed (RFC 6531) and reported by
//     NeedsSMTPUTF8, because it can only be delivered to servers that
//     announce SMTPUTF8.
func NormalizeAddress(a Address) (Address, error) {
	if hasControl(a.Name) || hasControl(a.Email) {
		return Address{}, ErrAddressControl
	}
	at := strings.LastIndexByte(a.Email, '@')
	if at < 0 {
		return Address{}, ErrAddressSyntax
	}
	local, domain := a.Email[:at], a.Email[at+1:]
	if err := checkLocalPart(local); err != nil {
		return Address{}, err
	}
	d, err := normalizeDomain(domain)
	if err != nil {
		return Address{}, err
	}
	return Address{Name: a.Name, Email: local + "@" + d}, nil
}

// NeedsSMTPUTF8 reports whether the address can only be used in an SMTP
// envelope with the SMTPUTF8 extension (RFC 6531 section 3.4): its local part
// is not ASCII. Domains never need it because normalization turns them into
// A-labels.
func (a Address) NeedsSMTPUTF8() bool {
	at := strings.LastIndexByte(a.Email, '@')
	return !isASCII(a.Email[:max(at, 0)])
}

// Domain returns the part after the last "@" (already normalized by
// ParseAddress or NormalizeAddress).
func (a Address) Domain() string {
	return a.Email[strings.LastIndexByte(a.Email, '@')+1:]
}

// quotedPair escapes a display name for a quoted-string (RFC 5322 section
// 3.2.4: backslash and double quote become quoted-pairs). One replacer for
// every call: building one costs more than a campaign's From and To.
var quotedPair = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// String formats the address for a header field: the display name as a
// quoted-string when it is printable ASCII, otherwise as RFC 2047 encoded
// words in their phrase form (section 5 rule 3), then "<local@domain>". The
// address must be normalized (ParseAddress or NormalizeAddress), so the local
// part is a dot-atom and needs no quoting.
func (a Address) String() string {
	addr := "<" + a.Email + ">"
	switch {
	case a.Name == "":
		return addr
	case isPrintableASCII(a.Name):
		// RFC 5322 section 3.2.4; encoded words inside a quoted-string are
		// not decoded (RFC 2047 section 5), so "=?" needs nothing special.
		return `"` + quotedPair.Replace(a.Name) + `" ` + addr
	default:
		return qWords(a.Name, true) + " " + addr
	}
}

func checkLocalPart(local string) error {
	switch {
	case local == "":
		return ErrLocalPartEmpty
	case len(local) > maxLocalPart:
		return ErrLocalPartTooLong
	}
	// RFC 5322 section 3.4.1 dot-atom-text, extended by RFC 6532 section 3.2
	// with UTF-8 non-ASCII characters.
	prevDot := true // a leading dot is refused like a double one
	for _, r := range local {
		if r == '.' {
			if prevDot {
				return ErrLocalPartSyntax
			}
			prevDot = true
			continue
		}
		prevDot = false
		if r < utf8.RuneSelf && !isAtext(byte(r)) {
			return ErrLocalPartSyntax
		}
	}
	if prevDot {
		return ErrLocalPartSyntax
	}
	return nil
}

// normalizeDomain applies the IDNA2008 lookup profile (UTS #46 mapping, which
// lower-cases, then A-label conversion, STD3 ASCII rules and the Bidi rule).
func normalizeDomain(domain string) (string, error) {
	if domain == "" {
		return "", ErrDomainEmpty
	}
	if len(domain) > maxDomain {
		return "", ErrDomainTooLong
	}
	if domain[0] == '[' {
		return "", ErrDomainInvalid // address literal, RFC 5321 section 4.1.3
	}
	d, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", ErrDomainInvalid
	}
	d = strings.ToLower(d)
	if len(d) > maxDomain {
		return "", ErrDomainTooLong
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > maxLabel {
			return "", ErrDomainInvalid
		}
	}
	if len(labels) < 2 || allDigits(labels[len(labels)-1]) {
		return "", ErrDomainNotQualified
	}
	return d, nil
}

// isAtext reports whether c is an RFC 5322 section 3.2.3 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// hasControl reports whether s is invalid UTF-8 or contains a C0 control
// (including TAB, CR, LF and NUL), DEL or a C1 control.
func hasControl(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
			return true
		}
		i += n
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
