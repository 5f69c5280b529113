// Package dnstest runs a real DNS server on 127.0.0.1 for tests, on UDP and
// TCP at one port, answering from zone data the test sets and changes while
// it runs.
//
// It answers like a recursive resolver would: CNAME chains are followed
// inside its data and returned with the records they lead to, unknown names
// are NXDOMAIN, known names without records of the asked type are NODATA.
// The AD bit is set on answers whose every name was marked authentic, when
// the query asked for it (AD or DO set, RFC 6840 section 5.7), as a
// validating resolver does. Answers larger than the client's UDP size are
// truncated, and Truncate forces the TC bit for a name, so the TCP retry of
// a client is exercised. Counters record every query by name, type and
// transport, so a test can assert what a client asked.
package dnstest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Server is a running test DNS server. Its methods are safe for concurrent
// use.
type Server struct {
	t    testing.TB
	addr string

	mu      sync.Mutex
	nodes   map[string]*node
	queries map[queryKey]int
}

type queryKey struct {
	name  string
	qtype uint16
	net   string
}

// New starts a server on 127.0.0.1 at a free port for UDP and TCP, stopped
// when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, nodes: map[string]*node{}, queries: map[queryKey]int{}}
	pc, ln := listen(t)
	s.addr = pc.LocalAddr().String()
	udp := &mdns.Server{PacketConn: pc, Handler: s}
	tcp := &mdns.Server{Listener: ln, Handler: s}
	for _, srv := range []*mdns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() {
			// The error after Shutdown is expected; anything earlier shows
			// up as the test's queries failing.
			_ = srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.ShutdownContext(ctx)
		})
	}
	return s
}

// listen binds UDP at a free port and TCP at the same port, retrying when
// another process holds the TCP side.
func listen(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("dnstest: no port free for both udp and tcp")
	return nil, nil
}

// Addr is the server's "127.0.0.1:port", for dns.Options.Servers.
func (s *Server) Addr() string { return s.addr }

// Queries counts the queries received for name and type ("MX", "TLSA", …)
// over both transports.
func (s *Server) Queries(name, qtype string) int {
	return s.count(name, qtype, "udp") + s.count(name, qtype, "tcp")
}

// TCPQueries counts the queries for name and type received over TCP.
func (s *Server) TCPQueries(name, qtype string) int { return s.count(name, qtype, "tcp") }

func (s *Server) count(name, qtype, network string) int {
	s.t.Helper()
	k := queryKey{key(name), s.typeOf(qtype), network}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[k]
}

// ServeDNS answers one query. It implements mdns.Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	network := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	if len(req.Question) != 1 {
		reply := new(mdns.Msg)
		reply.SetRcode(req, mdns.RcodeFormatError)
		_ = w.WriteMsg(reply)
		return
	}
	q := req.Question[0]
	s.mu.Lock()
	s.queries[queryKey{key(q.Name), q.Qtype, network}]++
	ans := s.resolve(key(q.Name), q.Qtype)
	s.mu.Unlock()

	if ans.delay > 0 {
		time.Sleep(ans.delay)
	}
	_ = w.WriteMsg(s.reply(req, network, ans))
}

// reply shapes the answer into a message for the transport.
func (s *Server) reply(req *mdns.Msg, network string, ans answer) *mdns.Msg {
	reply := new(mdns.Msg)
	reply.SetReply(req)
	reply.RecursionAvailable = true
	opt := req.IsEdns0()
	switch {
	case ans.servfail:
		reply.Rcode = mdns.RcodeServerFailure
		return reply
	case ans.truncate && network == "udp":
		reply.Truncated = true
		return reply
	}
	reply.Rcode = ans.rcode
	reply.Answer = ans.rrs
	askedAD := req.AuthenticatedData || opt != nil && opt.Do()
	reply.AuthenticatedData = ans.authentic && askedAD
	if opt != nil {
		reply.SetEdns0(ednsSize, opt.Do())
	}
	if network == "udp" {
		size := mdns.MinMsgSize
		if opt != nil {
			size = int(opt.UDPSize())
		}
		reply.Truncate(size)
	}
	return reply
}

// ednsSize is the UDP payload size the server advertises.
const ednsSize = 1232
