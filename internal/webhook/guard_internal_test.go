package webhook

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGuardRefusesNonPublicAddresses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"169.254.1.1", true},
		{"100.64.0.1", true}, // CGNAT
		{"100.127.255.255", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"224.0.0.251", true},
		{"192.0.2.10", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"198.18.0.1", true},
		{"192.0.0.8", true},
		{"::1", true},
		{"::", true},
		{"::ffff:127.0.0.1", true}, // IPv4-mapped
		{"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true}, // IPv4-compatible
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"ff02::1", true},
		{"2001:db8::1", true},
		{"64:ff9b::a9fe:a9fe", true},                   // NAT64 of 169.254.169.254
		{"64:ff9b::7f00:1", true},                      // NAT64 of 127.0.0.1
		{"2002:0a00:0001::1", true},                    // 6to4 of 10.0.0.1
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true}, // Teredo
		{"fd00:ec2::254", true},                        // AWS metadata over IPv6 (ULA)

		{"93.184.215.14", false},
		{"8.8.8.8", false},
		{"100.63.255.255", false},
		{"100.128.0.0", false},
		{"172.32.0.1", false},
		{"192.169.0.1", false},
		{"::ffff:8.8.8.8", false},
		{"2606:4700:4700::1111", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2002:0808:0808::1", false},
	}
	var g guard
	for _, c := range cases {
		err := g.check(netip.MustParseAddr(c.addr))
		if c.refused != (err != nil) {
			t.Errorf("check(%s) = %v, want refused=%v", c.addr, err, c.refused)
		}
		if err != nil && !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("check(%s) = %v, not ErrAddressNotAllowed", c.addr, err)
		}
	}
}

func TestGuardAllowList(t *testing.T) {
	t.Parallel()
	g := guard{allow: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("fd00:1::/32")}}
	for addr, ok := range map[string]bool{
		"10.20.3.4":         true,
		"::ffff:10.20.3.4":  true, // mapped form is compared as IPv4
		"fd00:1::5":         true,
		"10.21.0.1":         false,
		"127.0.0.1":         false,
		"169.254.169.254":   false,
		"fd00:2::1":         false,
		"::ffff:10.21.0.1":  false,
		"8.8.8.8":           true, // public stays allowed
		"2606:4700::1111:1": true,
	} {
		if err := g.check(netip.MustParseAddr(addr)); (err == nil) != ok {
			t.Errorf("check(%s) = %v, want allowed=%v", addr, err, ok)
		}
	}
}

func TestGuardControl(t *testing.T) {
	t.Parallel()
	var g guard
	for _, c := range []struct {
		network, address string
		ok               bool
	}{
		{"tcp4", "127.0.0.1:443", false},
		{"tcp6", "[::1]:443", false},
		{"tcp6", "[fe80::1%lo]:443", false},
		{"tcp4", "8.8.8.8:443", true},
		{"udp", "8.8.8.8:53", false},
		{"tcp", "not-an-address", false},
	} {
		if err := g.control(c.network, c.address, nil); (err == nil) != c.ok {
			t.Errorf("control(%s, %s) = %v, want ok=%v", c.network, c.address, err, c.ok)
		}
	}
}
