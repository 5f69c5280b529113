package mtasts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/dns"
)

// Mode says how a policy applies (RFC 8461 section 5).
type Mode string

// Modes.
const (
	// ModeEnforce: deliver only to matching MX hosts over TLS with a
	// certificate valid for the host; otherwise defer.
	ModeEnforce Mode = "enforce"
	// ModeTesting: check as for enforce, deliver anyway, report failures.
	ModeTesting Mode = "testing"
	// ModeNone: no policy applies.
	ModeNone Mode = "none"
)

// MaxMaxAge is the longest a policy may be cached: 31557600 seconds, a
// Julian year (RFC 8461 section 3.2).
const MaxMaxAge = 31557600 * time.Second

// Policy is an MTA-STS policy as served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 section 3.2).
type Policy struct {
	Mode Mode
	// MX are the allowed MX host patterns in lower-case A-labels: a host
	// name, or "*." and a domain, where "*" stands for exactly one label.
	MX []string
	// MaxAge is how long the policy may be cached, at most MaxMaxAge.
	MaxAge time.Duration
	// Extensions are fields this package does not interpret, in order.
	Extensions []Extension
}

// ParsePolicy parses a policy body (RFC 8461 section 3.2): lines of
// "key: value" ending in LF or CRLF, with version "STSv1", mode,
// max_age and, unless mode is none, at least one mx. Of a repeated field
// other than mx the first counts; unknown fields are kept as extensions.
func ParsePolicy(body string) (*Policy, error) {
	if !utf8.ValidString(body) {
		return nil, syntaxErr("policy", "body is not UTF-8")
	}
	p := &Policy{}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		// QUIRK: blank lines are skipped. The grammar allows only a final
		// terminator, but a stray blank line is common and rejecting the
		// policy for it would drop the domain's protection.
		if strings.TrimRight(line, " \t") == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || !validKey(key) {
			return nil, syntaxErr("policy", "line is not key: value")
		}
		// Field names are ABNF literals, which compare case-insensitively;
		// the version and mode values are %s literals, case-sensitive.
		key = strings.ToLower(key)
		value = strings.Trim(value, " \t")
		dup := seen[key]
		seen[key] = true
		if err := p.set(key, value, dup); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"version", "mode", "max_age"} {
		if !seen[k] {
			return nil, syntaxErr("policy", "missing "+k)
		}
	}
	if p.Mode != ModeNone && len(p.MX) == 0 {
		return nil, syntaxErr("policy", "no mx for mode "+string(p.Mode))
	}
	return p, nil
}

// set applies one field; dup says the field was seen before.
func (p *Policy) set(key, value string, dup bool) error {
	switch key {
	case "version":
		if value != "STSv1" {
			return syntaxErr("policy", "version is not STSv1")
		}
	case "mode":
		m := Mode(value)
		if m != ModeEnforce && m != ModeTesting && m != ModeNone {
			return syntaxErr("policy", "mode is not enforce, testing or none")
		}
		if !dup {
			p.Mode = m
		}
	case "max_age":
		// sts-policy-max-age-value = 1*10(DIGIT)
		if value == "" || len(value) > 10 || strings.Trim(value, "0123456789") != "" {
			return syntaxErr("policy", "max_age is not 1 to 10 digits")
		}
		secs, _ := strconv.ParseInt(value, 10, 64)
		// QUIRK: a max_age above a year is capped rather than refused:
		// refusing would leave the domain without the policy it asked for.
		secs = min(secs, int64(MaxMaxAge/time.Second))
		if !dup {
			p.MaxAge = time.Duration(secs) * time.Second
		}
	case "mx":
		pattern, err := mxPattern(value)
		if err != nil {
			return err
		}
		p.MX = append(p.MX, pattern)
	default:
		if !validPolicyValue(value) {
			return syntaxErr("policy", fmt.Sprintf("bad value for %q", key))
		}
		p.Extensions = append(p.Extensions, Extension{key, value})
	}
	return nil
}

// mxPattern checks sts-policy-mx-value = ["*."] Domain, where Domain is
// RFC 5321's, in A-labels (U-labels are not allowed, RFC 8461 section 3.2).
func mxPattern(v string) (string, error) {
	host := strings.TrimPrefix(v, "*.")
	if host == "" || len(host) > 253 {
		return "", syntaxErr("policy", "mx is not a domain name")
	}
	for label := range strings.SplitSeq(host, ".") {
		if !ldhLabel(label) {
			return "", syntaxErr("policy", "mx is not a domain name in A-labels")
		}
	}
	return strings.ToLower(v), nil
}

// ldhLabel: letters, digits and inner hyphens, 1 to 63 octets
// (RFC 5321 section 4.1.2 sub-domain).
func ldhLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if !isAlnum(l[i]) && l[i] != '-' {
			return false
		}
	}
	return true
}

// validPolicyValue: sts-policy-ext-value, visible characters (UTF-8
// allowed) with inner spaces.
func validPolicyValue(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\t' {
			return false
		}
	}
	return true
}

// Matches reports whether an MX host name is allowed by the policy (RFC
// 8461 section 4.1): equal to a pattern, or one label followed by the
// domain of a "*." pattern. "*.example.com" matches "mx.example.com" but
// neither "example.com" nor "a.b.example.com".
func (p *Policy) Matches(mxHost string) bool {
	host, err := dns.ToASCII(mxHost)
	if err != nil {
		return false
	}
	for _, pattern := range p.MX {
		if domain, ok := strings.CutPrefix(pattern, "*."); ok {
			label, ok := strings.CutSuffix(host, "."+domain)
			if ok && label != "" && !strings.Contains(label, ".") {
				return true
			}
		} else if host == pattern {
			return true
		}
	}
	return false
}

// String renders the policy as a body ParsePolicy reads back, for storage
// and for TLSRPT's policy-string.
func (p *Policy) String() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + string(p.Mode) + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(int64(p.MaxAge/time.Second), 10) + "\r\n")
	for _, e := range p.Extensions {
		b.WriteString(e.Key + ": " + e.Value + "\r\n")
	}
	return b.String()
}
