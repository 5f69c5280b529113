package dkim

import (
	"context"
	"errors"
	"net"
	"strings"
)

// LookupTXTFunc returns the TXT records at name, one string per record with
// its character-strings joined (as net.Resolver.LookupTXT does). A name with
// no TXT records is reported as no records and a nil error, or as a
// *net.DNSError with IsNotFound set; any other error is a failed lookup.
// carepost's resolver (package dns) provides one; tests pass a map or a
// loopback DNS server.
type LookupTXTFunc func(ctx context.Context, name string) ([]string, error)

// Status is the outcome of one Check.
type Status string

const (
	StatusOK       Status = "ok"       // published as expected
	StatusMissing  Status = "missing"  // nothing published at the name
	StatusMismatch Status = "mismatch" // something else, or more than one, is published
	StatusError    Status = "error"    // the lookup failed; try again later
)

// Check is the verdict on one record.
type Check struct {
	Kind   string // "dkim-rsa", "dkim-ed25519", "spf", "dmarc"
	Name   string // the DNS name looked up
	Status Status
	Detail string // what was found or why it does not match; no key material
}

// Verify compares what DNS publishes for domain with what keys need: the
// exact public key at each selector, and an SPF and a DMARC record. It runs
// every check and returns them all.
func Verify(ctx context.Context, domain string, keys Keys, lookupTXT LookupTXTFunc) []Check {
	d, err := normalizeDomain(domain)
	if err != nil {
		return []Check{{Kind: "domain", Name: domain, Status: StatusError, Detail: err.Error()}}
	}
	var checks []Check
	if keys.RSA != nil {
		p, err := rsaPublicData(keys.RSA)
		name := keys.Selectors.RSA + "._domainkey." + d
		if err != nil {
			checks = append(checks, Check{Kind: "dkim-rsa", Name: name, Status: StatusError, Detail: err.Error()})
		} else {
			checks = append(checks, checkDKIM(ctx, lookupTXT, "dkim-rsa", name, "rsa", p))
		}
	}
	if keys.Ed25519 != nil {
		name := keys.Selectors.Ed25519 + "._domainkey." + d
		checks = append(checks, checkDKIM(ctx, lookupTXT, "dkim-ed25519", name, "ed25519", ed25519PublicData(keys.Ed25519)))
	}
	checks = append(checks, checkPolicy(ctx, lookupTXT, "spf", d, "v=spf1"))
	return append(checks, checkPolicy(ctx, lookupTXT, "dmarc", "_dmarc."+d, "v=DMARC1"))
}

// lookup runs fn and sorts the outcome into records, missing or error.
func lookup(ctx context.Context, fn LookupTXTFunc, c *Check) []string {
	txts, err := fn(ctx, c.Name)
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(txts) > 0:
		return txts
	case err == nil, errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		c.Status, c.Detail = StatusMissing, "no TXT record"
	default:
		c.Status, c.Detail = StatusError, "DNS lookup failed: "+err.Error()
	}
	return nil
}

// checkDKIM wants exactly one key record at the selector (RFC 6376 section
// 3.6.2.2 leaves several undefined) with our key type and exactly our p=.
func checkDKIM(ctx context.Context, fn LookupTXTFunc, kind, name, keyType, wantP string) Check {
	c := Check{Kind: kind, Name: name}
	txts := lookup(ctx, fn, &c)
	if txts == nil {
		return c
	}
	if len(txts) > 1 {
		c.Status, c.Detail = StatusMismatch, "more than one TXT record at the selector (RFC 6376 section 3.6.2.2)"
		return c
	}
	tags, err := ParseTags(txts[0])
	switch {
	case err != nil:
		c.Status, c.Detail = StatusMismatch, "key record syntax: "+err.Error()
	case tags["v"] != "" && tags["v"] != "DKIM1":
		c.Status, c.Detail = StatusMismatch, "key record version is not DKIM1"
	case tagOr(tags, "k", "rsa") != keyType:
		c.Status, c.Detail = StatusMismatch, "key type is not "+keyType
	case stripFWS(tags["p"]) == "":
		c.Status, c.Detail = StatusMismatch, "key is revoked or missing (empty p=)"
	case stripFWS(tags["p"]) != wantP:
		c.Status, c.Detail = StatusMismatch, "published key differs from this domain's key"
	default:
		c.Status, c.Detail = StatusOK, "key published"
	}
	return c
}

// checkPolicy wants exactly one record starting with prefix (RFC 7208
// section 4.5: several SPF records are a permerror; RFC 7489 section 6.6.3:
// several DMARC records mean no policy).
func checkPolicy(ctx context.Context, fn LookupTXTFunc, kind, name, prefix string) Check {
	c := Check{Kind: kind, Name: name}
	txts := lookup(ctx, fn, &c)
	if txts == nil {
		return c
	}
	var found []string
	for _, t := range txts {
		if strings.EqualFold(t, prefix) || len(t) > len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) && (t[len(prefix)] == ' ' || t[len(prefix)] == ';') {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		c.Status, c.Detail = StatusMissing, "no "+prefix+" record"
	case 1:
		c.Status, c.Detail = StatusOK, found[0]
	default:
		c.Status, c.Detail = StatusMismatch, "more than one "+prefix+" record"
	}
	return c
}

func tagOr(tags map[string]string, k, def string) string {
	if v, ok := tags[k]; ok {
		return v
	}
	return def
}
