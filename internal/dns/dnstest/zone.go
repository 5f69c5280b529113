package dnstest

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// ttl of every record served; clients here do not cache.
const ttl = 300

// node is one name: its records and how the server misbehaves for it.
// Flags do not make a name exist; only records do, so a name with flags
// and no records is still NXDOMAIN.
type node struct {
	rrs       map[uint16][]mdns.RR
	servfail  bool
	authentic bool
	truncate  bool
	delay     time.Duration
}

func (n *node) exists() bool {
	for _, rrs := range n.rrs {
		if len(rrs) > 0 {
			return true
		}
	}
	return false
}

// answer is what the zone says to one question.
type answer struct {
	rcode     int
	rrs       []mdns.RR
	authentic bool
	servfail  bool
	truncate  bool
	delay     time.Duration
}

// key is a name as the zone stores it: lower case, fully qualified.
func key(name string) string { return mdns.Fqdn(strings.ToLower(name)) }

// node returns the node of name, creating it. Callers hold s.mu.
func (s *Server) node(name string) *node {
	k := key(name)
	n := s.nodes[k]
	if n == nil {
		n = &node{rrs: map[uint16][]mdns.RR{}}
		s.nodes[k] = n
	}
	return n
}

// resolve answers name/qtype from the zone, following CNAMEs the way a
// recursive resolver does. The flags of the asked name decide failure
// injection; authentic needs every name on the chain marked. Callers hold
// s.mu.
func (s *Server) resolve(name string, qtype uint16) answer {
	first := s.nodes[name]
	var ans answer
	if first != nil {
		ans.servfail, ans.truncate, ans.delay = first.servfail, first.truncate, first.delay
	}
	ans.authentic = true
	for range 16 { // a loop in the test's data ends here
		n := s.nodes[name]
		if n == nil || !n.exists() {
			ans.rcode = mdns.RcodeNameError
			ans.authentic = ans.authentic && n != nil && n.authentic
			return ans
		}
		ans.authentic = ans.authentic && n.authentic
		if rrs := n.rrs[qtype]; len(rrs) > 0 {
			ans.rrs = append(ans.rrs, copyRRs(rrs)...)
			return ans
		}
		cname := n.rrs[mdns.TypeCNAME]
		if len(cname) == 0 || qtype == mdns.TypeCNAME {
			return ans // NODATA
		}
		ans.rrs = append(ans.rrs, mdns.Copy(cname[0]))
		name = cname[0].(*mdns.CNAME).Target
	}
	return ans
}

func copyRRs(rrs []mdns.RR) []mdns.RR {
	out := make([]mdns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = mdns.Copy(rr)
	}
	return out
}

func (s *Server) add(name string, rr mdns.RR) {
	*rr.Header() = mdns.RR_Header{Name: key(name), Rrtype: rr.Header().Rrtype, Class: mdns.ClassINET, Ttl: ttl}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.node(name)
	t := rr.Header().Rrtype
	n.rrs[t] = append(n.rrs[t], rr)
}

// AddMX adds an MX record; host "." makes a null MX (RFC 7505).
func (s *Server) AddMX(domain string, pref uint16, host string) {
	s.add(domain, &mdns.MX{Hdr: mdns.RR_Header{Rrtype: mdns.TypeMX}, Preference: pref, Mx: key(host)})
}

// AddA adds an A record.
func (s *Server) AddA(host, ip string) {
	s.t.Helper()
	a := s.addr4or6(ip, true)
	s.add(host, &mdns.A{Hdr: mdns.RR_Header{Rrtype: mdns.TypeA}, A: a.AsSlice()})
}

// AddAAAA adds an AAAA record.
func (s *Server) AddAAAA(host, ip string) {
	s.t.Helper()
	a := s.addr4or6(ip, false)
	s.add(host, &mdns.AAAA{Hdr: mdns.RR_Header{Rrtype: mdns.TypeAAAA}, AAAA: a.AsSlice()})
}

func (s *Server) addr4or6(ip string, v4 bool) netip.Addr {
	s.t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() != v4 {
		s.t.Fatalf("dnstest: %q is not an IPv%s address", ip, map[bool]string{true: "4", false: "6"}[v4])
	}
	return a
}

// AddTXT adds a TXT record, split into 255-octet strings as RFC 1035
// section 3.3.14 requires; clients join them back.
func (s *Server) AddTXT(name, text string) {
	var parts []string
	for len(text) > 255 {
		parts, text = append(parts, text[:255]), text[255:]
	}
	parts = append(parts, text)
	s.add(name, &mdns.TXT{Hdr: mdns.RR_Header{Rrtype: mdns.TypeTXT}, Txt: parts})
}

// AddTLSA adds a TLSA record at its full owner name ("_25._tcp.mx.example.test").
func (s *Server) AddTLSA(name string, usage, selector, matching uint8, data []byte) {
	s.add(name, &mdns.TLSA{
		Hdr:          mdns.RR_Header{Rrtype: mdns.TypeTLSA},
		Usage:        usage,
		Selector:     selector,
		MatchingType: matching,
		Certificate:  hex.EncodeToString(data),
	})
}

// AddCNAME makes name an alias of target, replacing an earlier alias.
func (s *Server) AddCNAME(name, target string) {
	rr := &mdns.CNAME{
		Hdr:    mdns.RR_Header{Name: key(name), Rrtype: mdns.TypeCNAME, Class: mdns.ClassINET, Ttl: ttl},
		Target: key(target),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node(name).rrs[mdns.TypeCNAME] = []mdns.RR{rr}
}

// Remove deletes every record of name of the type ("MX", "TXT", …), so a
// test can change the zone while a client runs.
func (s *Server) Remove(name, qtype string) {
	s.t.Helper()
	t := s.typeOf(qtype)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.node(name).rrs, t)
}

// SetServFail makes queries for name answer SERVFAIL (or stop doing so).
func (s *Server) SetServFail(name string, on bool) {
	s.set(name, func(n *node) { n.servfail = on })
}

// SetAuthentic sets the AD bit on answers for name when the query asks for
// it; a chain is authentic only when every name on it is.
func (s *Server) SetAuthentic(name string, on bool) {
	s.set(name, func(n *node) { n.authentic = on })
}

// SetDelay holds answers for name back by d.
func (s *Server) SetDelay(name string, d time.Duration) {
	s.set(name, func(n *node) { n.delay = d })
}

// Truncate makes UDP answers for name empty with the TC bit set, so a
// client must retry over TCP; TCP answers are complete.
func (s *Server) Truncate(name string, on bool) {
	s.set(name, func(n *node) { n.truncate = on })
}

func (s *Server) set(name string, f func(*node)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.node(name))
}

// typeOf parses a record type name.
func (s *Server) typeOf(qtype string) uint16 {
	s.t.Helper()
	t, ok := mdns.StringToType[strings.ToUpper(qtype)]
	if !ok {
		s.t.Fatalf("dnstest: unknown record type %q", qtype)
	}
	return t
}
