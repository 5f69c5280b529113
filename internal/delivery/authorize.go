package delivery

import (
	"context"
	"errors"
	"strings"

	"github.com/carepost/carepost/internal/dane"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/mtasts"
	"github.com/carepost/carepost/internal/store"
)

// NoVerifiedPath is why verified TLS is unavailable for a domain: the walk
// then moves to the recipient's next method (e2e, the portal).
const NoVerifiedPath = "no verified TLS path (MTA-STS, DANE or pin) for this domain"

// authz says whether, and by what, an MX host is authorized to receive a
// verified-tls message of one organization.
type authz struct {
	by   string     // byDANE, byMTASTS, byPin
	tlsa []dns.TLSA // DANE: the usable records
	pin  string     // pin: the pinned leaf certificate SHA-256, if any
	sts  *STSReceipt
	// fail is set when the host is not authorized: temporary (try another
	// host, then defer) or held (no verified path exists).
	fail *verdict
	// connMode is mode's answer, made once: the batch asks per message.
	connMode string
}

// daneState is the DANE status of one MX host.
type daneState struct {
	records []dns.TLSA // usable, authentic records; nil: DANE does not apply
	fail    *verdict   // the TLSA lookup failed temporarily
}

// authorize decides, in the order DANE, MTA-STS, partner pin, whether host
// may receive orgID's verified-tls mail (see the package documentation).
func (b *batch) authorize(ctx context.Context, orgID string, h *mxHost) *authz {
	key := orgID + "\x00" + h.name
	if a, ok := b.authz[key]; ok {
		return a
	}
	a := b.decide(ctx, orgID, h)
	b.authz[key] = a
	return a
}

func (b *batch) decide(ctx context.Context, orgID string, h *mxHost) *authz {
	d := b.dane(ctx, h)
	if d.fail != nil {
		// RFC 7672 section 2.1.1: a TLSA lookup that fails is not an
		// absence of TLSA; the host is unusable and nothing falls back.
		return &authz{fail: d.fail}
	}
	pol, st := b.policy(ctx)
	var sts *STSReceipt
	if pol != nil {
		sts = &STSReceipt{Mode: string(pol.Mode), ID: st.ID, Source: string(st.Source)}
	}
	if len(d.records) > 0 {
		// RFC 8461 section 2: DANE, where it applies, takes precedence
		// over MTA-STS.
		return &authz{by: byDANE, tlsa: d.records, sts: sts}
	}
	if pol != nil && pol.Mode == mtasts.ModeEnforce {
		if pol.Matches(h.name) {
			return &authz{by: byMTASTS, sts: sts}
		}
		// RFC 8461 section 4.1: enforce forbids MX hosts the policy does
		// not list; a pin cannot override the domain's own policy.
		v := tempf("4.7.5", "the MX host "+h.name+" is not allowed by the domain's MTA-STS policy (RFC 8461 section 4.1)")
		return &authz{fail: &v, sts: sts}
	}
	pin, err := b.pin(ctx, orgID)
	if err != nil {
		v := tempf("4.3.0", "the organization's transport pins could not be read")
		return &authz{fail: &v, sts: sts}
	}
	if pin != nil {
		if pin.MXPattern == "" || (&mtasts.Policy{MX: []string{strings.ToLower(pin.MXPattern)}}).Matches(h.name) {
			return &authz{by: byPin, pin: normalizeFingerprint(pin.CertSHA256), sts: sts}
		}
	}
	if st.Source == mtasts.SourceFailed && (errors.Is(st.Err, mtasts.ErrDNS) || errors.Is(st.Err, mtasts.ErrFetch)) {
		// The domain may publish a policy we could not read now: retry
		// rather than decide there is no verified path.
		v := tempf("4.7.5", "the domain's MTA-STS policy could not be fetched")
		return &authz{fail: &v, sts: sts}
	}
	v := verdict{kind: held, reason: NoVerifiedPath}
	return &authz{fail: &v, sts: sts}
}

// dane finds the host's usable TLSA records (RFC 7672 section 2.2): only
// when the MX answer and the host's address answer are DNSSEC-authentic,
// and only records from an authentic answer.
func (b *batch) dane(ctx context.Context, h *mxHost) daneState {
	if d, ok := b.danes[h.name]; ok {
		return d
	}
	var d daneState
	b.resolve(ctx, h)
	if b.rt.authentic && h.fail == nil && h.authentic {
		// QUIRK: the TLSA name always uses port 25, the SMTP port, even
		// when delivery.mx_port points tests at another one.
		recs, res, err := b.s.deps.Resolver.LookupTLSA(ctx, 25, "tcp", h.name)
		switch {
		case err == nil && res.Authentic:
			d.records = dane.Usable(recs)
		case err == nil, errors.Is(err, dns.ErrNotFound):
			// Unsigned records, or an authenticated denial: no DANE.
		default:
			v := tempf("4.7.5", "the TLSA lookup for "+h.name+" failed; DANE does not fall back (RFC 7672 section 2.1.1)")
			d.fail = &v
		}
	}
	b.danes[h.name] = d
	return d
}

// policy looks up the domain's MTA-STS policy once per batch.
func (b *batch) policy(ctx context.Context) (*mtasts.Policy, mtasts.Status) {
	if !b.stsDone {
		b.stsDone = true
		p, st, err := b.s.sts.Lookup(ctx, b.c.domain)
		if err != nil {
			st = mtasts.Status{Mode: mtasts.ModeNone, Source: mtasts.SourceNone}
		}
		b.stsPolicy, b.stsStatus = p, st
	}
	return b.stsPolicy, b.stsStatus
}

// pin reads the organization's transport pin for the domain once per
// batch; nil without one.
func (b *batch) pin(ctx context.Context, orgID string) (*store.TransportPin, error) {
	if p, ok := b.pins[orgID]; ok {
		return p, nil
	}
	p, err := store.GetTransportPin(ctx, b.s.deps.DB.Reader(), orgID, b.c.domain)
	switch {
	case errors.Is(err, store.ErrNotFound):
		b.pins[orgID] = nil
		return nil, nil
	case err != nil:
		b.s.log.Warn("read transport pin", "org", orgID, "error", err)
		return nil, err
	}
	b.pins[orgID] = &p
	return &p, nil
}

// normalizeFingerprint lower-cases a hex SHA-256 and drops colons.
func normalizeFingerprint(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
}
