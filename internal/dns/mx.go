package dns

import (
	"context"
	"math/rand/v2"
	"slices"

	mdns "github.com/miekg/dns"
)

// MX is a mail exchanger of a domain.
type MX struct {
	// Host is the exchanger's name in lower-case A-labels without the
	// trailing dot, or "." for a null MX.
	Host string
	// Pref is the preference; lower is tried first.
	Pref uint16
}

// IsNull reports whether the record is a null MX: the root name as
// exchanger, which RFC 7505 section 3 publishes (with preference 0) for a
// domain that accepts no mail. A null MX is never a host to connect to.
func (mx MX) IsNull() bool { return mx.Host == "." }

// IsNullMX reports whether a domain's MX set says it accepts no mail: a
// single null MX (RFC 7505 section 3). Delivery to it fails permanently
// without connecting. A null MX published next to
// other records breaks section 3's "MUST NOT advertise any other MX RR";
// it is not treated as the null MX here, and callers skip it as a host.
func IsNullMX(mxs []MX) bool { return len(mxs) == 1 && mxs[0].IsNull() }

// LookupMX returns the mail exchangers of domain ordered by preference,
// with equal preferences in random order (RFC 5321 section 5.1). CNAMEs
// are followed (RFC 5321 section 5.1). A domain that exists without MX
// records is ErrNotFound without IsNXDomain; RFC 5321 section 5.1 then has
// the sender use the domain itself as the exchanger ("implicit MX").
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]MX, Result, error) {
	rrs, res, err := r.query(ctx, domain, mdns.TypeMX)
	if err != nil {
		return nil, res, err
	}
	mxs := make([]MX, 0, len(rrs))
	for _, rr := range rrs {
		if m, ok := rr.(*mdns.MX); ok {
			mxs = append(mxs, MX{Host: hostOf(m.Mx), Pref: m.Preference})
		}
	}
	sortMX(mxs)
	return mxs, res, nil
}

// sortMX shuffles, then sorts stably by preference, which leaves hosts of
// equal preference in random order so load spreads across them.
func sortMX(mxs []MX) {
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b MX) int { return int(a.Pref) - int(b.Pref) })
}
