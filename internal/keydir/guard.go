package keydir

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// errAddressNotAllowed refuses a Web Key Directory host that resolves to
// an address that is not on the public Internet. The recipient's domain
// decides where a lookup goes, and anyone can send to any domain, so
// without the guard a lookup could reach the cloud metadata service or an
// internal admin page (server-side request forgery).
var errAddressNotAllowed = errors.New("wkd: destination address not allowed")

// notPublic are ranges beyond netip's IsPrivate/IsLoopback/… that are not
// the public Internet (RFC 6890 special-purpose registries).
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// guard decides which addresses lookups may connect to.
type guard struct {
	allow []netip.Prefix
}

func (g guard) check(a netip.Addr) error {
	a = a.WithZone("").Unmap()
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsInterfaceLocalMulticast() || a.IsUnspecified() {
		return errAddressNotAllowed
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return errAddressNotAllowed
		}
	}
	return nil
}

// dialer resolves with r (carepost's resolver, not the system's, so tests
// and operators control it), checks every address with the guard, and
// connects to the first allowed one that answers.
func (g guard) dialer(r IPResolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, errors.New("wkd: bad port")
		}
		var ips []netip.Addr
		if ip, perr := netip.ParseAddr(host); perr == nil {
			ips = []netip.Addr{ip}
		} else if ips, _, err = r.LookupIP(ctx, host); err != nil {
			return nil, fmt.Errorf("wkd: resolve: %w", err)
		}
		last := errAddressNotAllowed
		for _, ip := range ips {
			if err := g.check(ip); err != nil {
				continue
			}
			c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, mustPort(port)).String())
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}

func mustPort(p string) uint16 {
	n, _ := strconv.ParseUint(p, 10, 16)
	return uint16(n)
}
