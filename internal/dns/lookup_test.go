package dns_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/dns/dnstest"
)

// setup starts a test server and a resolver that asks only it.
func setup(t *testing.T, trustAD bool) (*dnstest.Server, *dns.Resolver) {
	t.Helper()
	srv := dnstest.New(t)
	r, err := dns.New(dns.Options{Servers: []string{srv.Addr()}, TrustAD: trustAD, Timeout: 5 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, r
}

func TestCNAMEChainsAreFollowed(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddCNAME("alias.example.test", "mid.example.test")
	srv.AddCNAME("mid.example.test", "real.example.test")
	srv.AddMX("real.example.test", 10, "mx.real.example.test")
	srv.AddA("real.example.test", "192.0.2.7")
	srv.AddCNAME("loop1.example.test", "loop2.example.test")
	srv.AddCNAME("loop2.example.test", "loop1.example.test")
	srv.AddCNAME("dangling.example.test", "nowhere.example.test")
	ctx := context.Background()

	mxs, _, err := r.LookupMX(ctx, "alias.example.test")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx.real.example.test" {
		t.Fatalf("MX through CNAME chain = %v, %v", mxs, err)
	}
	ips, _, err := r.LookupIP(ctx, "alias.example.test")
	if err != nil || !slices.Equal(ips, []netip.Addr{netip.MustParseAddr("192.0.2.7")}) {
		t.Fatalf("IP through CNAME chain = %v, %v", ips, err)
	}
	canon, _, err := r.LookupCNAME(ctx, "alias.example.test")
	if err != nil || canon != "real.example.test" {
		t.Fatalf("LookupCNAME(alias) = %q, %v", canon, err)
	}
	canon, _, err = r.LookupCNAME(ctx, "real.example.test")
	if err != nil || canon != "real.example.test" {
		t.Fatalf("LookupCNAME of a canonical name = %q, %v; want the name itself", canon, err)
	}
	if _, _, err := r.LookupCNAME(ctx, "dangling.example.test"); !dns.IsNXDomain(err) {
		t.Fatalf("LookupCNAME of a dangling alias: %v, want NXDOMAIN", err)
	}
	if _, _, err := r.LookupMX(ctx, "dangling.example.test"); !dns.IsNXDomain(err) {
		t.Fatalf("MX of a dangling alias: %v, want NXDOMAIN", err)
	}
	_, _, err = r.LookupMX(ctx, "loop1.example.test")
	if !errors.Is(err, dns.ErrTemporary) || !strings.Contains(err.Error(), "cname chain") {
		t.Fatalf("CNAME loop: %v, want a temporary chain error", err)
	}
}

func TestNotFoundKindsAreDistinguished(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddA("addr-only.example.test", "192.0.2.1")
	srv.AddMX("broken.example.test", 10, "mx.broken.example.test")
	srv.SetServFail("broken.example.test", true)

	tests := []struct {
		name     string
		domain   string
		kind     error
		nxdomain bool
	}{
		{"NXDOMAIN", "missing.example.test", dns.ErrNotFound, true},
		{"NODATA", "addr-only.example.test", dns.ErrNotFound, false},
		{"SERVFAIL", "broken.example.test", dns.ErrTemporary, false},
		{"invalid name", "exa mple.test", dns.ErrInvalidName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := r.LookupMX(context.Background(), tt.domain)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			if dns.IsNXDomain(err) != tt.nxdomain {
				t.Fatalf("IsNXDomain(%v) = %v, want %v", err, !tt.nxdomain, tt.nxdomain)
			}
			var de *dns.Error
			if !errors.As(err, &de) || de.Type != "MX" {
				t.Fatalf("err %v is not a *dns.Error for MX", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.domain) || strings.Contains(msg, "127.0.0.1") {
				t.Fatalf("message %q should name the domain and nothing of the transport", msg)
			}
		})
	}
	if n := srv.Queries("exa mple.test", "MX"); n != 0 {
		t.Fatalf("an invalid name was sent to the server %d times", n)
	}
}

func TestTruncatedAnswersAreRetriedOverTCP(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddTXT("forced.example.test", "v=spf1 -all")
	srv.Truncate("forced.example.test", true)
	// Ten 200-octet records do not fit the 1232-octet UDP size: the server
	// truncates them on its own.
	for i := range 10 {
		srv.AddTXT("big.example.test", strings.Repeat(string(rune('a'+i)), 200))
	}
	tests := []struct {
		name string
		want int
	}{
		{"forced.example.test", 1},
		{"big.example.test", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			txts, _, err := r.LookupTXT(context.Background(), tt.name)
			if err != nil || len(txts) != tt.want {
				t.Fatalf("LookupTXT = %d records, %v; want %d", len(txts), err, tt.want)
			}
			if srv.TCPQueries(tt.name, "TXT") != 1 {
				t.Fatalf("TCP queries = %d, want 1 retry over TCP", srv.TCPQueries(tt.name, "TXT"))
			}
		})
	}
}

func TestLongTXTStringsAreJoined(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	long := "v=STSv1; id=" + strings.Repeat("x", 600)
	srv.AddTXT("_mta-sts.example.test", long)
	txts, _, err := r.LookupTXT(context.Background(), "_mta-sts.example.test")
	if err != nil || len(txts) != 1 || txts[0] != long {
		t.Fatalf("LookupTXT = %q, %v", txts, err)
	}
}

func TestAuthenticNeedsADBitAndTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		signed    []string // names the server marks authentic
		trustAD   bool
		authentic bool
	}{
		{"signed and trusted", []string{"alias.example.test", "mx.example.test"}, true, true},
		{"signed, not trusted", []string{"alias.example.test", "mx.example.test"}, false, false},
		{"unsigned, trusted", nil, true, false},
		{"chain with an unsigned link", []string{"mx.example.test"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, r := setup(t, tt.trustAD)
			srv.AddCNAME("alias.example.test", "mx.example.test")
			srv.AddTLSA("_25._tcp.mx.example.test", 3, 1, 1, make([]byte, 32))
			srv.AddA("mx.example.test", "192.0.2.25")
			for _, n := range tt.signed {
				srv.SetAuthentic(n, true)
				srv.SetAuthentic("_25._tcp."+n, true)
			}
			ctx := context.Background()
			if _, res, err := r.LookupIP(ctx, "alias.example.test"); err != nil || res.Authentic != tt.authentic {
				t.Fatalf("LookupIP Authentic = %v, %v; want %v", res.Authentic, err, tt.authentic)
			}
			if _, res, err := r.LookupCNAME(ctx, "alias.example.test"); err != nil || res.Authentic != tt.authentic {
				t.Fatalf("LookupCNAME Authentic = %v, %v; want %v", res.Authentic, err, tt.authentic)
			}
			if _, res, err := r.LookupTLSA(ctx, 25, "tcp", "mx.example.test"); err != nil || res.Authentic != (tt.authentic || tt.trustAD && len(tt.signed) > 0) {
				t.Fatalf("LookupTLSA Authentic = %v, %v", res.Authentic, err)
			}
		})
	}
}

func TestAuthenticatedDenial(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, true)
	srv.SetAuthentic("_25._tcp.mx.example.test", true)
	_, res, err := r.LookupTLSA(context.Background(), 25, "tcp", "mx.example.test")
	if !dns.IsNXDomain(err) || !res.Authentic {
		t.Fatalf("TLSA of a signed, missing name: %v authentic=%v; want NXDOMAIN, authentic", err, res.Authentic)
	}
}

func TestLookupIPFamilies(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	srv.AddA("both.example.test", "192.0.2.1")
	srv.AddAAAA("both.example.test", "2001:db8::1")
	srv.AddAAAA("v6.example.test", "2001:db8::2")
	srv.AddA("half.example.test", "192.0.2.3")
	srv.AddAAAA("half.example.test", "2001:db8::3")
	srv.SetServFail("half.example.test", true)
	srv.AddMX("mxonly.example.test", 10, "mx.example.test")
	tests := []struct {
		host string
		want []string
		kind error
		nx   bool
	}{
		{"both.example.test", []string{"192.0.2.1", "2001:db8::1"}, nil, false},
		{"v6.example.test", []string{"2001:db8::2"}, nil, false},
		{"mxonly.example.test", nil, dns.ErrNotFound, false},
		{"missing.example.test", nil, dns.ErrNotFound, true},
		{"half.example.test", nil, dns.ErrTemporary, false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			ips, _, err := r.LookupIP(context.Background(), tt.host)
			if !errors.Is(err, tt.kind) || (tt.kind == nil && err != nil) || dns.IsNXDomain(err) != tt.nx {
				t.Fatalf("err = %v, want %v (nxdomain %v)", err, tt.kind, tt.nx)
			}
			var got []string
			for _, ip := range ips {
				got = append(got, ip.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("addresses %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLookupTLSARecords(t *testing.T) {
	t.Parallel()
	srv, r := setup(t, false)
	digest := []byte("0123456789abcdef0123456789abcdef")
	srv.AddTLSA("_25._tcp.mx.example.test", 3, 1, 1, digest)
	srv.AddTLSA("_25._tcp.mx.example.test", 2, 0, 2, make([]byte, 64))
	recs, _, err := r.LookupTLSA(context.Background(), 25, "tcp", "MX.example.test")
	if err != nil || len(recs) != 2 {
		t.Fatalf("LookupTLSA = %v, %v", recs, err)
	}
	first := recs[0]
	if first.Usage != dns.TLSAUsageDANEEE || first.Selector != dns.TLSASelectorSPKI || first.MatchingType != dns.TLSAMatchSHA256 || string(first.Data) != string(digest) {
		t.Fatalf("record %v", first)
	}
	if got := first.Usage.String() + " " + first.Selector.String() + " " + first.MatchingType.String(); got != "DANE-EE SPKI SHA2-256" {
		t.Fatalf("names %q", got)
	}
	if srv.Queries("_25._tcp.mx.example.test", "TLSA") != 1 {
		t.Fatal("TLSA not asked at _25._tcp.<host>")
	}
}
