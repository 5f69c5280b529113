package delivery

import (
	"context"
	"errors"
	"net/netip"

	"github.com/carepost/carepost/internal/dns"
)

// route is where a domain's mail goes: its MX hosts in the order to try,
// or why there is nowhere to go.
type route struct {
	hosts []*mxHost
	// authentic: the MX answer (or, for an implicit MX, the denial of MX
	// records) was DNSSEC-authentic, a precondition of DANE (RFC 7672
	// section 2.2.1).
	authentic bool
	// implicit: the domain has no MX records and is its own exchanger.
	implicit bool
	// fail, when set, applies to every recipient: nowhere to deliver.
	fail *verdict
}

// mxHost is one exchanger and its addresses, resolved when first needed.
type mxHost struct {
	name      string
	resolved  bool
	ips       []netip.Addr
	authentic bool // the address answer was DNSSEC-authentic
	fail      *verdict
}

// route resolves the batch's domain once (RFC 5321 section 5.1).
func (b *batch) route(ctx context.Context) *route {
	if b.rt != nil {
		return b.rt
	}
	r := &route{}
	b.rt = r
	if b.s.deps.Resolver == nil {
		v := tempf("4.4.3", "no DNS resolver is configured for delivery")
		r.fail = &v
		return r
	}
	mxs, res, err := b.s.deps.Resolver.LookupMX(ctx, b.c.domain)
	switch {
	case err == nil && dns.IsNullMX(mxs):
		// RFC 7505 section 3: the domain accepts no mail. Never connect.
		v := permf("5.1.10", "the domain accepts no mail (null MX, RFC 7505)")
		r.fail = &v
	case err == nil:
		r.authentic = res.Authentic
		for _, mx := range mxs {
			if !mx.IsNull() {
				r.hosts = append(r.hosts, &mxHost{name: mx.Host})
			}
		}
		if len(r.hosts) == 0 {
			v := permf("5.1.10", "the domain publishes no usable MX host")
			r.fail = &v
		}
	case errors.Is(err, dns.ErrNotFound) && dns.IsNXDomain(err):
		v := permf("5.1.2", "the recipient's domain does not exist")
		r.fail = &v
	case errors.Is(err, dns.ErrNotFound):
		// RFC 5321 section 5.1: no MX records, so the domain itself is
		// the exchanger ("implicit MX"), reached at its A/AAAA address.
		r.implicit, r.authentic = true, res.Authentic
		r.hosts = []*mxHost{{name: b.c.domain}}
	case errors.Is(err, dns.ErrInvalidName):
		v := permf("5.1.2", "the recipient's domain is not a valid domain name")
		r.fail = &v
	default:
		v := tempf("4.4.3", "the MX lookup for the recipient's domain failed")
		r.fail = &v
	}
	return r
}

// resolve looks up the host's addresses once.
func (b *batch) resolve(ctx context.Context, h *mxHost) {
	if h.resolved {
		return
	}
	h.resolved = true
	ips, res, err := b.s.deps.Resolver.LookupIP(ctx, h.name)
	switch {
	case err == nil && len(ips) > 0:
		h.ips, h.authentic = ips, res.Authentic
	case errors.Is(err, dns.ErrNotFound) && b.rt.implicit:
		// No MX and no address: the domain cannot receive mail.
		v := permf("5.1.2", "the recipient's domain has neither MX nor address records")
		h.fail = &v
	default:
		v := tempf("4.4.3", "no address found for the MX host "+h.name)
		h.fail = &v
	}
}
