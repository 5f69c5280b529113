package tracking

import (
	"net/netip"
	"strings"
	"time"
)

// Client is what the request tells about who fetched a tracking link.
type Client struct {
	IP        string // the client address (trusted proxies resolved)
	UserAgent string
}

// Rule is one row of the machine-open table: a fetch that matches every
// condition the rule sets is a machine's (a privacy proxy prefetching
// images, a security scanner following links), not a person's. A rule
// sets at least one condition.
type Rule struct {
	Name string
	// Kinds the rule applies to; empty means opens and clicks.
	Kinds []Kind
	// UserAgentExact matches the whole User-Agent (case-insensitive);
	// UserAgentContains matches if any of its strings is in it.
	UserAgentExact    string
	UserAgentContains []string
	// Networks match the client address.
	Networks []netip.Prefix
	// Within, when set, matches only fetches that soon after the token
	// was issued (the message was rendered for sending).
	Within time.Duration
}

// Detector classifies fetches with a table of rules, first match wins.
type Detector struct{ rules []Rule }

// NewDetector returns a detector over rules (DefaultRules when nil).
func NewDetector(rules []Rule) *Detector {
	if rules == nil {
		rules = DefaultRules()
	}
	return &Detector{rules: rules}
}

// Classify returns the name of the first rule matching the fetch, or ""
// for a person.
func (d *Detector) Classify(kind Kind, c Client, sinceIssued time.Duration) string {
	ua := strings.ToLower(strings.TrimSpace(c.UserAgent))
	if ua == "" {
		ua = "-"
	}
	ip, ipErr := netip.ParseAddr(c.IP)
	for _, r := range d.rules {
		if r.matches(kind, ua, ip, ipErr == nil, sinceIssued) {
			return r.Name
		}
	}
	return ""
}

func (r Rule) matches(kind Kind, ua string, ip netip.Addr, haveIP bool, since time.Duration) bool {
	if len(r.Kinds) > 0 && !containsKind(r.Kinds, kind) {
		return false
	}
	set := false
	if r.UserAgentExact != "" || len(r.UserAgentContains) > 0 {
		set = true
		ok := r.UserAgentExact != "" && ua == strings.ToLower(r.UserAgentExact)
		for _, s := range r.UserAgentContains {
			if strings.Contains(ua, strings.ToLower(s)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(r.Networks) > 0 {
		set = true
		ok := false
		for _, n := range r.Networks {
			if haveIP && n.Contains(ip.Unmap()) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if r.Within > 0 {
		set = true
		if since < 0 || since > r.Within {
			return false
		}
	}
	return set
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// DefaultRules is the starter table, built without network access from
// what the proxies are documented or widely observed to do; operators
// extend it (tracking.Options.Rules) as they learn their recipients'
// providers. docs/TRACKING.md explains each row.
func DefaultRules() []Rule {
	opens := []Kind{KindOpen}
	return []Rule{
		// Nothing opens or clicks within two seconds of rendering but a
		// machine: the message has barely left.
		{Name: "too-fast", Within: 2 * time.Second},
		// Apple Mail Privacy Protection fetches every image on delivery
		// through Apple's proxies with a bare "Mozilla/5.0".
		{Name: "apple-mpp", Kinds: opens, UserAgentExact: "Mozilla/5.0"},
		// Apple's own address block (17.0.0.0/8) hosts proxy egress too.
		{Name: "apple-network", Kinds: opens, Networks: []netip.Prefix{netip.MustParsePrefix("17.0.0.0/8")}},
		// Gmail and Yahoo fetch images through their proxies; soon after
		// delivery that is a prefetch, later it is the person opening.
		{Name: "google-image-proxy", Kinds: opens, UserAgentContains: []string{"GoogleImageProxy", "via ggpht.com"}, Within: 10 * time.Minute},
		{Name: "yahoo-proxy", Kinds: opens, UserAgentContains: []string{"YahooMailProxy"}, Within: 10 * time.Minute},
		// Security gateways and scanners that follow links and load images.
		{Name: "scanner", UserAgentContains: []string{"bot/", "robot", "crawler", "spider", "scanner", "preview", "headlesschrome",
			"python-requests", "python-urllib", "curl/", "wget/", "go-http-client", "java/", "okhttp", "barracuda",
			"mimecast", "proofpoint", "symantec", "trendmicro", "forcepoint", "zscaler"}},
		// No User-Agent at all (Classify reads it as "-") is not a mail
		// client.
		{Name: "no-user-agent", UserAgentExact: "-"},
	}
}
