package audit

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidEntry means Append refused an entry because of its shape. The
// wrapped message names the field, never its value.
var ErrInvalidEntry = errors.New("invalid audit entry")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidEntry, fmt.Sprintf(format, args...))
}

// normalize fills defaults and checks e before anything is written. It
// works on a copy made by the caller.
func normalize(e *Entry) error {
	if !isToken(e.Chain, MaxChainLen, tokenChars) {
		return invalid("chain must be 1-%d characters of [A-Za-z0-9_.-]", MaxChainLen)
	}
	switch e.Actor.Type {
	case ActorUser, ActorAPIKey, ActorRecipient:
		if e.Actor.ID == "" {
			return invalid("actor %s needs an id", e.Actor.Type)
		}
	case ActorSystem:
	default:
		return invalid("unknown actor type")
	}
	if e.Actor.ID != "" && !isToken(e.Actor.ID, MaxIDLen, idChars) {
		return invalid("actor id must be 1-%d characters of [A-Za-z0-9_.:/-]", MaxIDLen)
	}
	if !isAction(e.Action) {
		return invalid("action must be dotted lower-case words like \"auth.login\", at most %d characters", MaxActionLen)
	}
	if e.TargetType != "" && !isWord(e.TargetType, MaxTargetTypeLen) {
		return invalid("target type must be a lower-case word of at most %d characters", MaxTargetTypeLen)
	}
	if e.TargetID != "" {
		if e.TargetType == "" {
			return invalid("target id without a target type")
		}
		if !isToken(e.TargetID, MaxIDLen, idChars) {
			return invalid("target id must be 1-%d characters of [A-Za-z0-9_.:/-]", MaxIDLen)
		}
	}
	switch e.Outcome {
	case Success, Failure, Denied:
	default:
		return invalid("outcome must be success, failure or denied")
	}
	ip, err := normalizeIP(e.ClientIP)
	if err != nil {
		return err
	}
	e.ClientIP = ip
	e.UserAgent = sanitizeUserAgent(e.UserAgent)
	return checkDetails(e.Details)
}

func checkDetails(d map[string]string) error {
	if len(d) > MaxDetails {
		return invalid("at most %d details", MaxDetails)
	}
	for k, v := range d {
		if !isWord(k, MaxDetailKeyLen) {
			return invalid("detail keys must be lower-case words ([a-z][a-z0-9_]*) of at most %d characters", MaxDetailKeyLen)
		}
		if err := checkDetailValue(v); err != nil {
			return invalid("detail %q: %v", k, err)
		}
	}
	return nil
}

func checkDetailValue(v string) error {
	if len(v) > MaxDetailValue {
		return fmt.Errorf("value longer than %d bytes", MaxDetailValue)
	}
	if !utf8.ValidString(v) {
		return errors.New("value is not UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return errors.New("value has control characters")
		}
	}
	// Values are IDs, counts and reasons; an '@' means an address slipped in.
	if strings.ContainsRune(v, '@') {
		return errors.New("value looks like an address")
	}
	return nil
}

// normalizeIP accepts an IP address or a host:port pair (what
// http.Request.RemoteAddr holds) and returns the address in canonical form.
func normalizeIP(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", invalid("client ip is not an IP address")
	}
	return a.Unmap().WithZone("").String(), nil
}

// sanitizeUserAgent keeps a user agent printable and short. It is client
// input, so it is cleaned rather than refused: a strange user agent must not
// make an action unauditable.
func sanitizeUserAgent(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > MaxUserAgentLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

const (
	tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
	idChars    = tokenChars + ":/"
)

func isToken(s string, maxLen int, allowed string) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(allowed, s[i]) < 0 {
			return false
		}
	}
	return true
}

// isWord reports whether s is [a-z][a-z0-9_]* of at most maxLen bytes.
func isWord(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isAction reports whether s is two or more dot-separated words.
func isAction(s string) bool {
	if len(s) > MaxActionLen {
		return false
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !isWord(p, MaxActionLen) {
			return false
		}
	}
	return true
}
