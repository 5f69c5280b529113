// Package dane authenticates an SMTP server's TLS certificate with the
// DNSSEC-signed TLSA records of its MX host (RFC 7672, SMTP security via
// opportunistic DANE TLS), in place of the web PKI.
//
// # Which records apply to SMTP
//
// A TLSA record (RFC 6698) names a certificate usage, a selector (the
// whole certificate or its SubjectPublicKeyInfo) and a matching type (the
// data itself, its SHA-256 or its SHA-512). For SMTP only two usages are
// usable (RFC 7672 section 3.1):
//
//   - DANE-EE (3): the server's own certificate or key matches the record.
//     Nothing else is checked — not the name, not the expiry, not who
//     signed it (section 3.1.1): the DNSSEC-signed record is the
//     authority, so a self-signed certificate is as good as any.
//   - DANE-TA (2): a certificate in the server's chain matches the record
//     and is the trust anchor; the server's certificate must chain to it,
//     be within its validity period and carry one of the reference
//     identifiers — the TLSA base domain, and the MX host name before
//     CNAME expansion when that differs (sections 3.1.2 and 3.2.2).
//
// PKIX-TA (0) and PKIX-EE (1) also require the web PKI, which MTAs do not
// share a set of trusted roots for; RFC 7672 section 3.1.3 has SMTP
// clients treat them as unusable. So are records with unknown selectors or
// matching types, and digests of the wrong length (RFC 6698, RFC 7672
// section 2.3). Unusable records are ignored; a record set with none
// usable leaves the host without DANE authentication (ErrNoUsableRecords),
// though RFC 7672 section 2.3 still has the client insist on TLS, since
// publishing TLSA records at all promises STARTTLS.
//
// # What this package does not do
//
// Records must come from an authentic DNS answer (dns.Result.Authentic;
// RFC 7672 section 2.3): an unsigned TLSA answer is no DANE at all, and a
// failed TLSA lookup defers delivery. Choosing the TLSA base domain through
// secure CNAME expansion (section 2.2.1) and deciding what a failure means
// for a message belong to delivery and policy. This package only answers:
// does this certificate chain match these records, and which record did.
package dane
