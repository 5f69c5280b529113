package policy

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Transport pins are partner domains the organization pins to verified TLS
// because they publish neither MTA-STS nor DANE: package delivery reads
// them (table transport_pins) to authorize the partner's MX hosts, and the
// engine requires verified TLS for every recipient there, even for mail
// declared free of PHI. They live beside the policy document rather than in
// it because delivery reads them per destination.

var fingerprint = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Pins lists the organization's pins, by domain.
func (e *Engine) Pins(ctx context.Context, orgID string) ([]store.TransportPin, error) {
	return store.TransportPinsOf(ctx, e.deps.DB.Reader(), orgID)
}

// Pin reads one pin; store.ErrNotFound when the domain has none.
func (e *Engine) Pin(ctx context.Context, orgID, domain string) (store.TransportPin, error) {
	d, err := normDomain(domain)
	if err != nil {
		return store.TransportPin{}, store.ErrNotFound
	}
	return store.GetTransportPin(ctx, e.deps.DB.Reader(), orgID, d)
}

// PutPin validates and stores a pin, audited as "policy.pin.create" or
// "policy.pin.update". With create, an existing pin for the domain is
// store.ErrConflict; without, a missing one is store.ErrNotFound.
func (e *Engine) PutPin(ctx context.Context, actor audit.Actor, p store.TransportPin, create bool) (store.TransportPin, error) {
	if err := normPin(&p); err != nil {
		return store.TransportPin{}, err
	}
	err := e.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		old, err := store.GetTransportPin(ctx, tx, p.OrgID, p.Domain)
		switch {
		case err == nil && create:
			return store.ErrConflict
		case errors.Is(err, store.ErrNotFound) && !create:
			return err
		case err == nil:
			p.CreatedAt = old.CreatedAt
		case errors.Is(err, store.ErrNotFound):
			p.CreatedAt = store.FromMicros(store.Micros(e.opts.Clock()))
		default:
			return err
		}
		if err := store.PutTransportPin(ctx, tx, p); err != nil {
			return err
		}
		action := "policy.pin.update"
		if create {
			action = "policy.pin.create"
		}
		if err := e.deps.Audit.Append(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: actor, Action: action, TargetType: "transport_pin",
			TargetID: p.Domain, Outcome: audit.Success, Details: map[string]string{"mx_pattern": p.MXPattern, "cert_pinned": boolText(p.CertSHA256 != "")}}); err != nil {
			return err
		}
		tx.AfterCommit(func() { e.forget(p.OrgID) })
		return nil
	})
	if err != nil {
		return store.TransportPin{}, err
	}
	return p, nil
}

// DeletePin removes a pin, audited as "policy.pin.delete";
// store.ErrNotFound when there is none.
func (e *Engine) DeletePin(ctx context.Context, actor audit.Actor, orgID, domain string) error {
	d, err := normDomain(domain)
	if err != nil {
		return store.ErrNotFound
	}
	return e.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		ok, err := store.DeleteTransportPin(ctx, tx, orgID, d)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if err := e.deps.Audit.Append(ctx, tx, audit.Entry{Chain: orgID, Actor: actor, Action: "policy.pin.delete",
			TargetType: "transport_pin", TargetID: d, Outcome: audit.Success}); err != nil {
			return err
		}
		tx.AfterCommit(func() { e.forget(orgID) })
		return nil
	})
}

// normPin checks a pin: a domain, an MX host pattern ("" for any MX host of
// the domain, "mx1.partner.example", or "*.partner.example" as in RFC 8461
// section 3.2) and an optional SHA-256 fingerprint of the leaf certificate
// (hex, colons allowed).
func normPin(p *store.TransportPin) error {
	var errs problems
	d, err := normDomain(p.Domain)
	if err != nil {
		errs.add("domain", err.Error())
	}
	p.Domain = d
	p.MXPattern = strings.ToLower(strings.TrimSpace(p.MXPattern))
	if p.MXPattern != "" {
		mx := strings.TrimPrefix(p.MXPattern, "*.")
		if n, err := normDomain(mx); err != nil || n != mx {
			errs.add("mx_pattern", "must be empty (any MX host), a host name, or *. and a domain")
		}
	}
	p.CertSHA256 = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(p.CertSHA256), ":", ""))
	if p.CertSHA256 != "" && !fingerprint.MatchString(p.CertSHA256) {
		errs.add("cert_sha256", "must be empty or the certificate's SHA-256 as 64 hex digits")
	}
	if len(errs.l) > 0 {
		return errs.l
	}
	return nil
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
