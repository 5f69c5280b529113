package dns

import (
	"context"
	"errors"
	"net/netip"

	mdns "github.com/miekg/dns"
)

// LookupIP returns the IPv4 (A) then the IPv6 (AAAA) addresses of host,
// following CNAMEs, asking for both at once.
//
// When one family is found and the other fails temporarily, the addresses
// found are returned without error: they are enough to deliver. Result
// then speaks for the family that answered. When neither has addresses the
// error is ErrNotFound (IsNXDomain when the name does not exist), or
// ErrTemporary if either lookup failed so.
func (r *Resolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, Result, error) {
	type answer struct {
		addrs []netip.Addr
		res   Result
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		a, res, err := r.lookupFamily(ctx, host, mdns.TypeAAAA)
		ch <- answer{a, res, err}
	}()
	v4, res4, err4 := r.lookupFamily(ctx, host, mdns.TypeA)
	v6 := <-ch

	switch {
	case len(v4) > 0 && len(v6.addrs) > 0:
		return append(v4, v6.addrs...), Result{Authentic: res4.Authentic && v6.res.Authentic}, nil
	case len(v4) > 0:
		return v4, res4, nil
	case len(v6.addrs) > 0:
		return v6.addrs, v6.res, nil
	}
	// Neither family has addresses: a temporary failure wins over
	// not-found, since the missing family may exist.
	if errors.Is(err4, ErrTemporary) {
		return nil, Result{}, err4
	}
	if errors.Is(v6.err, ErrTemporary) {
		return nil, Result{}, v6.err
	}
	if err4 == nil { // cannot happen: no addresses means an error
		err4 = notFound(host, "A", false)
	}
	return nil, Result{Authentic: res4.Authentic && v6.res.Authentic}, err4
}

func (r *Resolver) lookupFamily(ctx context.Context, host string, qtype uint16) ([]netip.Addr, Result, error) {
	rrs, res, err := r.query(ctx, host, qtype)
	if err != nil {
		return nil, res, err
	}
	var addrs []netip.Addr
	for _, rr := range rrs {
		var ip []byte
		switch v := rr.(type) {
		case *mdns.A:
			ip = v.A.To4()
		case *mdns.AAAA:
			ip = v.AAAA.To16()
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, res, notFound(host, mdns.TypeToString[qtype], false)
	}
	return addrs, res, nil
}
