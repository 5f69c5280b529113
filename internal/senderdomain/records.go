package senderdomain

import (
	"context"
	"strings"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/store"
)

// Record kinds: what each published record is for.
const (
	KindDKIMRSA     = "dkim-rsa"     // RFC 6376 section 3.6.1 key record
	KindDKIMEd25519 = "dkim-ed25519" // RFC 8463 section 4.2 key record
	KindSPF         = "spf"          // RFC 7208
	KindDMARC       = "dmarc"        // RFC 7489 section 6.1
	KindTLSRPT      = "tls-rpt"      // RFC 8460 section 3
)

// Record is a DNS record the domain must publish, with what it is for.
type Record struct {
	Kind string
	dkim.Record
}

// Required reports whether verification needs the record (the DKIM keys);
// the others are warnings only (see the package documentation).
func (r Record) Required() bool { return r.Kind == KindDKIMRSA || r.Kind == KindDKIMEd25519 }

// placeholderSPF is an address from the documentation range (RFC 5737)
// handed to dkim.Records when the server has no SPF configured.
const placeholderSPF = "192.0.2.1"

// spfOrPlaceholder returns opts ready for dkim.Records, which refuses an
// SPF record without mechanisms.
func spfOrPlaceholder(opts dkim.RecordOptions) dkim.RecordOptions {
	if len(opts.SPFInclude)+len(opts.SPFIPs) == 0 {
		opts.SPFIPs = []string{placeholderSPF}
	}
	return opts
}

// records lists what domain publishes for keys, by kind.
func (s *Service) records(domain string, keys dkim.Keys) ([]Record, error) {
	opts := s.opts.Records
	recs, err := dkim.Records(domain, keys, spfOrPlaceholder(opts))
	if err != nil {
		return nil, err
	}
	spfConfigured := len(opts.SPFInclude)+len(opts.SPFIPs) > 0
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		kind := kindOf(domain, keys.Selectors, r.Name)
		// QUIRK: with no SPF sources configured there is no true SPF
		// record to publish ("v=spf1 -all" would fail every message), so
		// the placeholder record dkim.Records insists on is dropped and
		// Check reports SPF as a warning.
		if kind == KindSPF && !spfConfigured {
			continue
		}
		out = append(out, Record{Kind: kind, Record: r})
	}
	return out, nil
}

func kindOf(domain string, sel dkim.Selectors, name string) string {
	switch {
	case name == sel.RSA+"._domainkey."+domain:
		return KindDKIMRSA
	case name == sel.Ed25519+"._domainkey."+domain:
		return KindDKIMEd25519
	case strings.HasPrefix(name, "_dmarc."):
		return KindDMARC
	case strings.HasPrefix(name, "_smtp._tls."):
		return KindTLSRPT
	default:
		return KindSPF
	}
}

// Records returns the DNS records the domain must publish: both DKIM keys,
// SPF, DMARC and (when configured) TLS-RPT. store.ErrNotFound if the
// actor's organization has no domain with that id.
func (s *Service) Records(ctx context.Context, a Actor, id string) ([]Record, error) {
	if err := a.mayRead(); err != nil {
		return nil, err
	}
	q := s.deps.DB.Reader()
	r, err := store.GetSenderDomain(ctx, q, a.orgID, id)
	if err != nil {
		return nil, err
	}
	e, err := s.keysFor(ctx, q, r)
	if err != nil {
		return nil, err
	}
	return s.records(r.Domain, e.keys)
}
