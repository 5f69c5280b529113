package senderdomain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/store"
)

// Check statuses.
const (
	Found    = "found"    // published as expected
	Missing  = "missing"  // nothing published at the name
	Mismatch = "mismatch" // something else, or more than one record, is published
	Error    = "error"    // the lookup failed; try again later
)

// Check is the verdict on one record.
type Check struct {
	Kind     string `json:"kind"` // KindDKIMRSA, KindSPF, …
	Name     string `json:"name"` // the DNS name looked up
	Status   string `json:"status"`
	Detail   string `json:"detail"`   // what was found or why it does not match; never key material
	Required bool   `json:"required"` // verification needs it
}

// CheckResult is one run of Check.
type CheckResult struct {
	At     time.Time
	Checks []Check
}

// DKIMFound reports whether both DKIM keys are published exactly, which is
// what verifies a domain.
func (c CheckResult) DKIMFound() bool {
	n := 0
	for _, ch := range c.Checks {
		if ch.Required {
			if ch.Status != Found {
				return false
			}
			n++
		}
	}
	return n == 2
}

// Warnings are the optional records (SPF, DMARC, TLS-RPT) not found as
// expected: worth fixing for deliverability, not a reason to stop sending.
func (c CheckResult) Warnings() []Check {
	var out []Check
	for _, ch := range c.Checks {
		if !ch.Required && ch.Status != Found {
			out = append(out, ch)
		}
	}
	return out
}

// Check reads the domain's records back through DNS and records the result
// as its last check, audited "domain.check". When both DKIM keys are
// published the domain becomes verified ("domain.verify"); a domain already
// verified stays so whatever the result. The lookups run outside any
// transaction. store.ErrNotFound if the actor's organization has no domain
// with that id.
func (s *Service) Check(ctx context.Context, a Actor, domainID string) (Domain, CheckResult, error) {
	if err := a.mayChange(); err != nil {
		return Domain{}, CheckResult{}, err
	}
	if s.deps.Resolver == nil {
		return Domain{}, CheckResult{}, ErrNoResolver
	}
	q := s.deps.DB.Reader()
	r, err := store.GetSenderDomain(ctx, q, a.orgID, domainID)
	if err != nil {
		return Domain{}, CheckResult{}, err
	}
	e, err := s.keysFor(ctx, q, r)
	if err != nil {
		return Domain{}, CheckResult{}, err
	}
	lctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
	res := CheckResult{Checks: s.lookup(lctx, r.Domain, e.keys)}
	cancel()

	var out store.SenderDomainRow
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, err := store.GetSenderDomain(ctx, tx, a.orgID, domainID)
		if err != nil {
			return err
		}
		if cur.RSASelector != r.RSASelector || cur.EdSelector != r.EdSelector {
			return errors.New("the domain's keys changed during the check; run it again")
		}
		st, err := parseStored(cur.LastCheck)
		if err != nil {
			return err
		}
		newly := res.DKIMFound() && !(cur.Status == store.SenderDomainVerified && st.VerifiedBy == VerifiedByDNS)
		res.At = s.now()
		st.Checks, cur.LastCheckAt = res.Checks, res.At
		if newly {
			cur.Status, cur.VerifiedAt, st.VerifiedBy = store.SenderDomainVerified, res.At, VerifiedByDNS
		}
		cur.LastCheck = st.encode()
		if err := store.UpdateSenderDomainCheck(ctx, tx, cur); err != nil {
			return err
		}
		details := map[string]string{"domain": cur.Domain}
		for _, c := range res.Checks {
			details[strings.ReplaceAll(c.Kind, "-", "_")] = c.Status
		}
		if err := s.record(ctx, tx, a, "domain.check", cur.ID, details); err != nil {
			return err
		}
		out = cur
		if newly {
			return s.record(ctx, tx, a, "domain.verify", cur.ID, map[string]string{"domain": cur.Domain, "verified_by": VerifiedByDNS})
		}
		return nil
	})
	if err != nil {
		return Domain{}, CheckResult{}, err
	}
	d, err := s.fromRow(out)
	return d, res, err
}

// lookup runs every check for domain: the DKIM keys, SPF and DMARC through
// dkim.Verify, and TLS-RPT when the server has a reporting address.
func (s *Service) lookup(ctx context.Context, domain string, keys dkim.Keys) []Check {
	var out []Check
	for _, c := range dkim.Verify(ctx, domain, keys, s.lookupTXT) {
		out = append(out, Check{Kind: c.Kind, Name: c.Name, Status: statusOf(c.Status), Detail: c.Detail,
			Required: c.Kind == KindDKIMRSA || c.Kind == KindDKIMEd25519})
	}
	if s.opts.Records.TLSRPTRUA != "" {
		out = append(out, s.checkTLSRPT(ctx, "_smtp._tls."+domain))
	}
	return out
}

// lookupTXT adapts the resolver to dkim.LookupTXTFunc: a name without TXT
// records is no records and no error.
func (s *Service) lookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, _, err := s.deps.Resolver.LookupTXT(ctx, name)
	if errors.Is(err, dns.ErrNotFound) {
		return nil, nil
	}
	return txts, err
}

func statusOf(st dkim.Status) string {
	switch st {
	case dkim.StatusOK:
		return Found
	case dkim.StatusMissing:
		return Missing
	case dkim.StatusMismatch:
		return Mismatch
	default:
		return Error
	}
}

// checkTLSRPT wants exactly one record starting "v=TLSRPTv1" (RFC 8460
// section 3: records that do not are discarded, and anything but exactly
// one left means the domain has no TLS-RPT policy).
func (s *Service) checkTLSRPT(ctx context.Context, name string) Check {
	c := Check{Kind: KindTLSRPT, Name: name}
	txts, err := s.lookupTXT(ctx, name)
	if err != nil {
		c.Status, c.Detail = Error, fmt.Sprintf("DNS lookup failed: %v", err)
		return c
	}
	var found []string
	for _, t := range txts {
		if rest, ok := strings.CutPrefix(t, "v=TLSRPTv1"); ok && (rest == "" || rest[0] == ';' || rest[0] == ' ') {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		c.Status, c.Detail = Missing, "no v=TLSRPTv1 record"
	case 1:
		c.Status, c.Detail = Found, found[0]
	default:
		c.Status, c.Detail = Mismatch, "more than one v=TLSRPTv1 record (RFC 8460 section 3)"
	}
	return c
}
