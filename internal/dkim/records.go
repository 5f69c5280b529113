package dkim

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Record is one DNS record a sender domain must publish.
type Record struct {
	Name  string // fully qualified, without the trailing dot
	Type  string // always "TXT" here
	Value string // the whole TXT value, as a resolver returns it joined
}

// TXTStrings splits Value into the character-strings of a TXT record: at
// most 255 octets each (RFC 1035 section 3.3.14). Verifiers join them
// without separators (RFC 6376 section 3.6.2.2, RFC 7208 section 3.3), so
// the split can fall anywhere.
func (r Record) TXTStrings() []string {
	v := r.Value
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

// String formats the record as a zone-file line for display:
// name. IN TXT "first 255 octets" "rest".
func (r Record) String() string {
	parts := r.TXTStrings()
	for i, p := range parts {
		p = strings.ReplaceAll(p, `\`, `\\`)
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
	}
	return r.Name + ". IN " + r.Type + " " + strings.Join(parts, " ")
}

// RecordOptions are the parts of the published policy that do not come from
// the keys.
type RecordOptions struct {
	// SPFInclude are domains whose SPF policy covers our senders, written as
	// include: mechanisms (RFC 7208 section 5.2). At most 10, the DNS lookup
	// limit of RFC 7208 section 4.6.4.
	SPFInclude []string
	// SPFIPs are the addresses or CIDR prefixes carepost sends from, written
	// as ip4:/ip6: mechanisms (RFC 7208 section 5.6). SPFInclude and SPFIPs
	// together must not be empty: "v=spf1 -all" would fail every message.
	SPFIPs []string
	// DMARCPolicy is "none", "quarantine" or "reject" (RFC 7489 section
	// 6.3). Default "quarantine".
	DMARCPolicy string
	// DMARCRUA is the mailbox for aggregate reports, optional.
	DMARCRUA string
	// TLSRPTRUA is the mailbox or https URL for TLS reports (RFC 8460
	// section 3); the record is only produced when it is set.
	TLSRPTRUA string
}

// Records returns the DNS records that make domain's mail verify: the DKIM
// keys at both selectors (RFC 6376 section 3.6.1, RFC 8463 section 4.2), SPF
// ending in -all (RFC 7208), DMARC with strict alignment (RFC 7489) and, if
// configured, TLS-RPT (RFC 8460).
func Records(domain string, keys Keys, opts RecordOptions) ([]Record, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	var recs []Record
	if keys.RSA != nil {
		p, err := rsaPublicData(keys.RSA)
		if err != nil {
			return nil, err
		}
		recs = append(recs, txt(keys.Selectors.RSA+"._domainkey."+d, "v=DKIM1; k=rsa; p="+p))
	}
	if keys.Ed25519 != nil {
		recs = append(recs, txt(keys.Selectors.Ed25519+"._domainkey."+d, "v=DKIM1; k=ed25519; p="+ed25519PublicData(keys.Ed25519)))
	}
	spf, err := spfRecord(opts)
	if err != nil {
		return nil, err
	}
	recs = append(recs, txt(d, spf))
	dmarc, err := dmarcRecord(opts)
	if err != nil {
		return nil, err
	}
	recs = append(recs, txt("_dmarc."+d, dmarc))
	if opts.TLSRPTRUA != "" {
		uri, err := reportURI(opts.TLSRPTRUA, true)
		if err != nil {
			return nil, fmt.Errorf("dkim: tls-rpt rua: %w", err)
		}
		// RFC 8460 section 3: "_smtp._tls", v=TLSRPTv1 first.
		recs = append(recs, txt("_smtp._tls."+d, "v=TLSRPTv1; rua="+uri))
	}
	return recs, nil
}

func txt(name, value string) Record { return Record{Name: name, Type: "TXT", Value: value} }

func spfRecord(opts RecordOptions) (string, error) {
	if len(opts.SPFInclude)+len(opts.SPFIPs) == 0 {
		return "", errors.New("dkim: SPF needs at least one include or IP")
	}
	if len(opts.SPFInclude) > 10 {
		return "", errors.New("dkim: more than 10 SPF includes (RFC 7208 section 4.6.4)")
	}
	terms := []string{"v=spf1"}
	for _, s := range opts.SPFIPs {
		pfx, err := parsePrefix(s)
		if err != nil {
			return "", err
		}
		if pfx.Addr().Is4() {
			terms = append(terms, "ip4:"+pfxString(pfx))
		} else {
			terms = append(terms, "ip6:"+pfxString(pfx))
		}
	}
	for _, inc := range opts.SPFInclude {
		d, err := normalizeDNSName(inc)
		if err != nil {
			return "", fmt.Errorf("dkim: SPF include: %w", err)
		}
		terms = append(terms, "include:"+d)
	}
	// RFC 7208 section 5.1: -all fails everything not listed above.
	return strings.Join(append(terms, "-all"), " "), nil
}

// parsePrefix takes an address or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("dkim: SPF IP is not an address or CIDR prefix")
	}
	return p.Masked(), nil
}

// pfxString writes a host prefix as a bare address (ip4:192.0.2.1).
func pfxString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func dmarcRecord(opts RecordOptions) (string, error) {
	policy := opts.DMARCPolicy
	switch policy {
	case "":
		policy = "quarantine"
	case "none", "quarantine", "reject":
	default:
		return "", errors.New("dkim: DMARC policy must be none, quarantine or reject")
	}
	// RFC 7489 section 6.3: v first, then p; adkim=s and aspf=s require the
	// DKIM d= and the SPF domain to equal the From domain exactly.
	v := "v=DMARC1; p=" + policy + "; adkim=s; aspf=s"
	if opts.DMARCRUA != "" {
		uri, err := reportURI(opts.DMARCRUA, false)
		if err != nil {
			return "", fmt.Errorf("dkim: DMARC rua: %w", err)
		}
		v += "; rua=" + uri
	}
	return v, nil
}

// reportURI turns a mailbox into a mailto: URI (https URLs too when
// allowHTTPS). Characters that separate URIs or tags in these records
// (RFC 7489 section 6.4 "," and "!", and ";" and whitespace) are refused.
func reportURI(s string, allowHTTPS bool) (string, error) {
	if strings.ContainsAny(s, ",;! \t\r\n\"") {
		return "", errors.New("report address contains a separator character")
	}
	if strings.HasPrefix(s, "https://") {
		if !allowHTTPS {
			return "", errors.New("report address must be a mailbox")
		}
		return s, nil
	}
	s = strings.TrimPrefix(s, "mailto:")
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !printableASCII(local) {
		return "", errors.New("report address must be a mailbox")
	}
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	return "mailto:" + local + "@" + d, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
