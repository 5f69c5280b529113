// Package dns is the outbound resolver: the MX, address, TXT, CNAME and TLSA
// lookups that delivery, MTA-STS and DANE make, with answers typed for the
// decisions they feed.
//
// # Why not net.Resolver
//
// Go's net.Resolver cannot ask for TLSA records and does not report whether
// an answer was DNSSEC-validated, and both are what DANE (RFC 7672) is built
// on. It also folds NXDOMAIN, NODATA and server failure into errors that are
// hard to tell apart, while delivery must: a domain without MX records falls
// back to its address (RFC 5321 section 5.1), a domain that does not exist
// bounces, and a failing server defers. So this package speaks DNS itself
// through github.com/miekg/dns to the configured recursive resolvers, over
// UDP with a retry over TCP when an answer is truncated (RFC 7766 section 5),
// trying each server in turn for the configured number of attempts.
//
// # What Authentic means
//
// This package does not validate DNSSEC. It asks its recursive resolver for
// the AD ("authentic data") bit (RFC 6840 section 5.7) and reports
// Result.Authentic when the resolver set it on every response the answer
// was built from (a CNAME chain needs each link authentic) and the
// Resolver was built with Options.TrustAD. Only set TrustAD for a validating
// resolver reached over a path nobody can tamper with, in practice one on
// 127.0.0.1: the AD bit is an unsigned header flag, and anyone on the path
// can set it (RFC 4035 section 4.9.3). DANE must ignore TLSA records from an
// answer that is not Authentic (RFC 7672 section 2.3).
//
// # Errors
//
// Every lookup error is an *Error naming the query and wrapping one of
// ErrNotFound (the name does not exist, or has no records of the type —
// IsNXDomain tells the two apart), ErrTemporary (server failure, timeout,
// network trouble: try again later) or ErrInvalidName. Error messages carry
// the name and the record type, never a server address or packet detail.
//
// Names are taken in either Unicode or A-label form and looked up in A-labels
// (IDNA2008 via UTS 46, RFC 5891); names in answers are returned as lower-case
// A-labels without the trailing dot. Every name is looked up as a fully
// qualified name: mail domains are never completed with a search list
// (RFC 5321 section 2.3.5).
package dns
