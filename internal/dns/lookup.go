package dns

import (
	"context"
	"errors"
	"strings"

	mdns "github.com/miekg/dns"
)

// Result describes how an answer was obtained.
type Result struct {
	// Authentic: every reply the answer was built from carried the AD bit
	// and the Resolver trusts it (Options.TrustAD). Also set on a
	// not-found error, for an authenticated denial.
	Authentic bool
}

// maxCNAME bounds a CNAME chain; RFC 1034 section 3.6.2 asks resolvers to
// follow chains but not loops. Eight links is more than any real mail host
// needs and is what common resolvers allow.
const maxCNAME = 8

var errChainTooLong = errors.New("cname chain too long")

// query resolves name to the records of qtype at the end of its CNAME chain
// (RFC 1034 section 3.6.2, RFC 5321 section 5.1 for MX). A recursive
// resolver usually returns the chain and the records in one answer; when it
// returns only the chain, the last name is asked for again.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]mdns.RR, Result, error) {
	tname := mdns.TypeToString[qtype]
	ascii, err := ToASCII(name)
	if err != nil {
		return nil, Result{}, invalidName(name, tname, err)
	}
	res := Result{Authentic: true}
	current, links := ascii, 0
	for {
		reply, err := r.exchange(ctx, mdns.Fqdn(current), qtype)
		if err != nil {
			return nil, Result{}, temporary(ascii, tname, err)
		}
		res.Authentic = res.Authentic && r.authentic(reply)
		end, rrs, n := chase(current, qtype, reply.Answer)
		if links += n; links > maxCNAME {
			return nil, Result{}, temporary(ascii, tname, errChainTooLong)
		}
		switch {
		case len(rrs) > 0:
			return rrs, res, nil
		case reply.Rcode == mdns.RcodeNameError:
			// RFC 6604 section 3: the RCODE speaks for the last name of the chain.
			return nil, res, notFound(ascii, tname, true)
		case end == current:
			return nil, res, notFound(ascii, tname, false)
		}
		current = end
	}
}

// chase walks the CNAME chain from name through answer and returns the name
// it ends at, the records of qtype owned by that name and the number of
// links followed. Records owned by names off the chain are ignored.
func chase(name string, qtype uint16, answer []mdns.RR) (end string, rrs []mdns.RR, links int) {
	end = name
	for links <= maxCNAME {
		var next string
		for _, rr := range answer {
			h := rr.Header()
			if !strings.EqualFold(hostOf(h.Name), end) {
				continue
			}
			if h.Rrtype == qtype {
				rrs = append(rrs, rr)
			} else if c, ok := rr.(*mdns.CNAME); ok && next == "" {
				next = hostOf(c.Target)
			}
		}
		if len(rrs) > 0 || next == "" {
			return end, rrs, links
		}
		end = next
		links++
	}
	return end, nil, links
}

// LookupTXT returns the TXT records of name, each record's strings joined
// without separator (RFC 7208 section 3.3, RFC 8461 section 3.1).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, Result, error) {
	rrs, res, err := r.query(ctx, name, mdns.TypeTXT)
	if err != nil {
		return nil, res, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if t, ok := rr.(*mdns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, res, nil
}

// LookupCNAME follows the CNAME chain of host and returns the canonical
// name it ends at, host itself (in A-labels) when host is not an alias.
// Result.Authentic holds when every link was authentic; RFC 7672 section
// 2.2.1 uses the expanded name as the TLSA base domain only then. A chain
// that ends at a name that does not exist is ErrNotFound with IsNXDomain.
func (r *Resolver) LookupCNAME(ctx context.Context, host string) (string, Result, error) {
	ascii, err := ToASCII(host)
	if err != nil {
		return "", Result{}, invalidName(host, "CNAME", err)
	}
	res := Result{Authentic: true}
	current := ascii
	for links := 0; ; links++ {
		if links > maxCNAME {
			return "", Result{}, temporary(ascii, "CNAME", errChainTooLong)
		}
		reply, err := r.exchange(ctx, mdns.Fqdn(current), mdns.TypeCNAME)
		if err != nil {
			return "", Result{}, temporary(ascii, "CNAME", err)
		}
		res.Authentic = res.Authentic && r.authentic(reply)
		end, rrs, _ := chase(current, mdns.TypeCNAME, reply.Answer)
		switch {
		case len(rrs) > 0:
			c, ok := rrs[0].(*mdns.CNAME)
			if !ok {
				return "", Result{}, temporary(ascii, "CNAME", errMismatch)
			}
			current = hostOf(c.Target)
		case reply.Rcode == mdns.RcodeNameError:
			return "", res, notFound(ascii, "CNAME", true)
		default:
			return end, res, nil
		}
	}
}
