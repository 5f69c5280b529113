// Package mtasts discovers a recipient domain's MTA-STS policy (RFC 8461):
// whether its MX hosts must be reached over TLS with a certificate valid
// for their name, and which MX hosts those are.
//
// # Discovery
//
// Client.Lookup asks DNS for the TXT record at "_mta-sts.<domain>"
// (section 3.1). Exactly one record starting with "v=STSv1" must be there;
// none means the domain publishes no policy, several or a malformed one
// mean no policy is available. Its id says which policy version is
// current. When the cache holds a policy fetched under that id and not
// yet past its max_age, that policy is used without touching HTTPS.
// Otherwise the policy is fetched from
// https://mta-sts.<domain>/.well-known/mta-sts.txt (section 3.3): the
// host's certificate must validate for that name (PKIX, the system roots
// or Options.RootCAs), redirects are refused, only a 200 with media type
// text/plain counts, and the body is bounded in size and time. The name
// mta-sts.<domain> is resolved through our own dns.Resolver, so tests
// reach a loopback server through the same path production takes.
//
// # Caching and failure
//
// A fetched policy is cached for its max_age (at most a year, section
// 3.2) together with the TXT id it was fetched under, and replaced when
// the id changes (section 3.3). A policy in mode "none" is cached too: it
// is how a domain withdraws an earlier policy (section 8.3).
//
// When the TXT lookup fails, finds no usable record, or the fetch fails,
// a cached policy that has not expired still applies (sections 3.3 and
// 5.1: an attacker who can block DNS or HTTPS must not be able to strip a
// policy the sender already knows). Without one, the domain is treated as
// not implementing MTA-STS, and Status.Err says why so the failure can be
// reported (TLSRPT, the delivery receipt). An expired policy is never used.
//
// # Applying a policy
//
// Lookup returns a Policy only for modes "enforce" and "testing". With
// enforce, delivery goes only to MX hosts the policy matches (Policy.Matches,
// section 4.1) over TLS 1.2+ with a certificate valid for the MX host
// name (section 4.2), and is deferred otherwise. With testing, the same
// checks run but a failure is recorded, not enforced (section 5). The
// mode none, no record, and failed discovery without a cached policy all
// return a nil Policy with Status.Mode == ModeNone.
//
// Proactive refresh of policies close to expiry (section 5.1's
// recommendation) belongs to the delivery scheduler, not here.
package mtasts
