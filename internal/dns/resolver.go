package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Options configure a Resolver.
type Options struct {
	// Servers are the recursive resolvers to ask, as "ip:port", tried in
	// order. Default: the nameservers of ResolvConf, on port 53.
	Servers []string
	// ResolvConf is the file read when Servers is empty.
	// Default: /etc/resolv.conf.
	ResolvConf string
	// TrustAD makes Result.Authentic follow the AD bit of the replies. Only
	// for a validating resolver on a path nobody can tamper with (in
	// practice 127.0.0.1); see the package documentation. Default: false.
	TrustAD bool
	// Timeout bounds one exchange with one server. Default: the timeout of
	// ResolvConf when Servers is empty, otherwise 5s.
	Timeout time.Duration
	// Attempts is how many rounds over all servers a query gets.
	// Default: the attempts of ResolvConf when Servers is empty, otherwise 2.
	Attempts int
}

// Resolver looks names up through recursive resolvers. It is safe for
// concurrent use.
type Resolver struct {
	servers  []string
	trustAD  bool
	timeout  time.Duration
	attempts int
	udp, tcp *mdns.Client
}

// ednsSize is the UDP payload size we advertise, the DNS Flag Day 2020
// value that avoids IP fragmentation; bigger answers come over TCP.
const ednsSize = 1232

// New builds a Resolver, reading ResolvConf when no servers are given.
func New(opts Options) (*Resolver, error) {
	r := &Resolver{trustAD: opts.TrustAD, timeout: opts.Timeout, attempts: opts.Attempts}
	if len(opts.Servers) == 0 {
		path := opts.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		conf, err := mdns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("dns: read resolver configuration: %w", err)
		}
		for _, s := range conf.Servers {
			opts.Servers = append(opts.Servers, net.JoinHostPort(s, conf.Port))
		}
		if r.timeout == 0 && conf.Timeout > 0 {
			r.timeout = time.Duration(conf.Timeout) * time.Second
		}
		if r.attempts == 0 && conf.Attempts > 0 {
			r.attempts = conf.Attempts
		}
	}
	if len(opts.Servers) == 0 {
		return nil, errors.New("dns: no nameservers configured")
	}
	for _, s := range opts.Servers {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return nil, fmt.Errorf("dns: nameserver %q is not ip:port: %w", s, err)
		}
		r.servers = append(r.servers, ap.String())
	}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Second
	}
	if r.attempts <= 0 {
		r.attempts = 2
	}
	r.udp = &mdns.Client{Net: "udp", Timeout: r.timeout}
	r.tcp = &mdns.Client{Net: "tcp", Timeout: r.timeout}
	return r, nil
}

// exchange asks the servers one question and returns the first reply that
// settles it: NOERROR or NXDOMAIN. SERVFAIL, REFUSED and the like move on
// to the next server, as do timeouts and network errors; the last such
// failure is returned once every attempt is spent.
func (r *Resolver) exchange(ctx context.Context, fqdn string, qtype uint16) (*mdns.Msg, error) {
	q := new(mdns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.RecursionDesired = true
	// RFC 6840 section 5.7: setting AD in the query asks a validating
	// resolver to report validation in the reply's AD bit, without the
	// size cost of DO (which would bring the RRSIGs along).
	q.AuthenticatedData = true
	q.SetEdns0(ednsSize, false)

	var last error
	for range r.attempts {
		for _, server := range r.servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			q.Id = mdns.Id()
			reply, err := r.exchangeOne(ctx, q, server)
			if err != nil {
				last = err
				continue
			}
			switch reply.Rcode {
			case mdns.RcodeSuccess, mdns.RcodeNameError:
				return reply, nil
			default:
				last = rcodeError(reply.Rcode)
			}
		}
	}
	return nil, last
}

// exchangeOne asks one server over UDP and, when the reply is truncated,
// again over TCP (RFC 7766 section 5, RFC 1035 section 4.2.1).
func (r *Resolver) exchangeOne(ctx context.Context, q *mdns.Msg, server string) (*mdns.Msg, error) {
	reply, _, err := r.udp.ExchangeContext(ctx, q, server)
	if reply != nil && reply.Truncated {
		reply, _, err = r.tcp.ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, err
	}
	if !answers(reply, q.Question[0]) {
		return nil, errMismatch
	}
	return reply, nil
}

// answers checks that a reply is to the question asked (RFC 5452 section
// 4.1 asks for the ID, which miekg/dns checks, and the question).
func answers(reply *mdns.Msg, q mdns.Question) bool {
	if !reply.Response || len(reply.Question) != 1 {
		return false
	}
	got := reply.Question[0]
	return got.Qtype == q.Qtype && got.Qclass == q.Qclass && strings.EqualFold(got.Name, q.Name)
}

// authentic is the Authentic of one reply.
func (r *Resolver) authentic(reply *mdns.Msg) bool {
	return r.trustAD && reply.AuthenticatedData
}
