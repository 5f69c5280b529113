package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrAddressNotAllowed is the SSRF guard's refusal: the endpoint's host is,
// or resolved to, an address in a range webhooks may not reach.
var ErrAddressNotAllowed = errors.New("webhook destination address not allowed")

// forbiddenRange is a range the guard refuses unless Options.Allow covers
// the address, with the name the refusal gives.
type forbiddenRange struct {
	prefix netip.Prefix
	name   string
}

func mustRange(cidr, name string) forbiddenRange {
	return forbiddenRange{prefix: netip.MustParsePrefix(cidr), name: name}
}

// forbidden lists every range that is not the public Internet. Sources: the
// IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890).
var forbidden = []forbiddenRange{
	mustRange("0.0.0.0/8", "this-network"),          // RFC 791; 0.0.0.0 reaches the local host
	mustRange("10.0.0.0/8", "private"),              // RFC 1918
	mustRange("100.64.0.0/10", "shared (CGNAT)"),    // RFC 6598
	mustRange("127.0.0.0/8", "loopback"),            // RFC 1122
	mustRange("169.254.0.0/16", "link-local"),       // RFC 3927; 169.254.169.254 is the cloud metadata service
	mustRange("172.16.0.0/12", "private"),           // RFC 1918
	mustRange("192.0.0.0/24", "IETF protocol"),      // RFC 6890
	mustRange("192.0.2.0/24", "documentation"),      // RFC 5737 TEST-NET-1
	mustRange("192.88.99.0/24", "6to4 relay"),       // RFC 7526
	mustRange("192.168.0.0/16", "private"),          // RFC 1918
	mustRange("198.18.0.0/15", "benchmarking"),      // RFC 2544
	mustRange("198.51.100.0/24", "documentation"),   // RFC 5737 TEST-NET-2
	mustRange("203.0.113.0/24", "documentation"),    // RFC 5737 TEST-NET-3
	mustRange("224.0.0.0/4", "multicast"),           // RFC 5771
	mustRange("240.0.0.0/4", "reserved"),            // RFC 1112; includes 255.255.255.255 broadcast
	mustRange("::/96", "unspecified/loopback/v4c"),  // RFC 4291: ::, ::1 and IPv4-compatible addresses
	mustRange("64:ff9b:1::/48", "local NAT64"),      // RFC 8215
	mustRange("100::/64", "discard"),                // RFC 6666
	mustRange("2001::/32", "Teredo"),                // RFC 4380: tunnels to an embedded IPv4 address
	mustRange("2001:db8::/32", "documentation"),     // RFC 3849
	mustRange("3fff::/20", "documentation"),         // RFC 9637
	mustRange("fc00::/7", "unique local (private)"), // RFC 4193
	mustRange("fe80::/10", "link-local"),            // RFC 4291
	mustRange("fec0::/10", "site-local"),            // RFC 3879
	mustRange("ff00::/8", "multicast"),              // RFC 4291
}

// Prefixes that embed an IPv4 address the packet ends up at: the embedded
// address is checked as well.
var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052, address in the last 32 bits
	sixTo = netip.MustParsePrefix("2002::/16")    // RFC 3056, address in bits 16 to 47
)

// guard decides which addresses webhooks may connect to.
type guard struct {
	allow []netip.Prefix
}

// check returns nil if a may be dialled, else an error wrapping
// ErrAddressNotAllowed that names the range (not the address: the error
// ends up in logs).
func (g guard) check(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: not an IP address", ErrAddressNotAllowed)
	}
	a = a.WithZone("").Unmap() // RFC 4291 section 2.5.5.2: IPv4-mapped is IPv4
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	if name := forbiddenName(a); name != "" {
		return fmt.Errorf("%w: %s range", ErrAddressNotAllowed, name)
	}
	return nil
}

func forbiddenName(a netip.Addr) string {
	for _, r := range forbidden {
		if r.prefix.Contains(a) {
			return r.name
		}
	}
	if embedded, ok := embeddedIPv4(a); ok {
		if name := forbiddenName(embedded); name != "" {
			return name + " (embedded in IPv6)"
		}
	}
	return ""
}

func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case a.Is6() && nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case a.Is6() && sixTo.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// control is the net.Dialer Control hook. It runs for every address the
// dialer tries, after name resolution and before connect(2), so a name
// that resolves to a forbidden address (DNS rebinding included) is refused
// without a packet being sent to it.
func (g guard) control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrAddressNotAllowed, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address", ErrAddressNotAllowed)
	}
	return g.check(ap.Addr())
}
