package senderdomain

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/store"
)

// Statuses a Domain shows.
const (
	StatusPending  = store.SenderDomainPending
	StatusVerified = store.SenderDomainVerified
)

// How a domain was verified.
const (
	VerifiedByDNS  = "dns"  // a Check found both DKIM keys published
	VerifiedByDemo = "demo" // added in demo mode; counts only in demo mode
)

// Domain is one of an organization's sender domains.
type Domain struct {
	ID    string
	OrgID string
	Name  string // lower-case A-labels
	// Status is StatusVerified when the domain may send now: verified by
	// DNS, or by demo mode while demo mode is on.
	Status     string
	VerifiedBy string // VerifiedByDNS, VerifiedByDemo or ""
	Selectors  dkim.Selectors
	// LastCheck is the most recent Check, nil before the first.
	LastCheck  *CheckResult
	CreatedAt  time.Time
	VerifiedAt time.Time
}

// stored is the JSON kept in sender_domains.last_check.
type stored struct {
	VerifiedBy string  `json:"verified_by,omitempty"`
	Checks     []Check `json:"checks,omitempty"`
}

func parseStored(s string) (stored, error) {
	var st stored
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return stored{}, fmt.Errorf("sender domain last check: %w", err)
	}
	return st, nil
}

func (st stored) encode() string {
	b, err := json.Marshal(st)
	if err != nil {
		panic("senderdomain: marshal last check: " + err.Error()) // strings and bools only
	}
	return string(b)
}

// sends reports whether a row may send now (see Domain.Status).
func (s *Service) sends(status string, st stored) bool {
	if status != store.SenderDomainVerified {
		return false
	}
	return st.VerifiedBy != VerifiedByDemo || s.opts.Demo
}

func (s *Service) fromRow(r store.SenderDomainRow) (Domain, error) {
	st, err := parseStored(r.LastCheck)
	if err != nil {
		return Domain{}, err
	}
	d := Domain{ID: r.ID, OrgID: r.OrgID, Name: r.Domain, Status: StatusPending,
		Selectors: dkim.Selectors{RSA: r.RSASelector, Ed25519: r.EdSelector},
		CreatedAt: r.CreatedAt}
	if r.Status == store.SenderDomainVerified {
		d.VerifiedBy, d.VerifiedAt = st.VerifiedBy, r.VerifiedAt
	}
	if s.sends(r.Status, st) {
		d.Status = StatusVerified
	}
	if !r.LastCheckAt.IsZero() {
		d.LastCheck = &CheckResult{At: r.LastCheckAt, Checks: st.Checks}
	}
	return d, nil
}

// List returns the actor's organization's domains by name.
func (s *Service) List(ctx context.Context, a Actor) ([]Domain, error) {
	if err := a.mayRead(); err != nil {
		return nil, err
	}
	rows, err := store.ListSenderDomains(ctx, s.deps.DB.Reader(), a.orgID)
	if err != nil {
		return nil, err
	}
	out := make([]Domain, 0, len(rows))
	for _, r := range rows {
		d, err := s.fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Get reads one domain of the actor's organization; store.ErrNotFound if it
// has none with that id (also when another organization has it).
func (s *Service) Get(ctx context.Context, a Actor, id string) (Domain, error) {
	if err := a.mayRead(); err != nil {
		return Domain{}, err
	}
	r, err := store.GetSenderDomain(ctx, s.deps.DB.Reader(), a.orgID, id)
	if err != nil {
		return Domain{}, err
	}
	return s.fromRow(r)
}

// ByName reads the actor's organization's domain by name (any form
// NormalizeDomain accepts); store.ErrNotFound if it has not added it.
func (s *Service) ByName(ctx context.Context, a Actor, name string) (Domain, error) {
	if err := a.mayRead(); err != nil {
		return Domain{}, err
	}
	n, err := NormalizeDomain(name)
	if err != nil {
		return Domain{}, inputErr(err.Error())
	}
	r, err := store.SenderDomainByName(ctx, s.deps.DB.Reader(), a.orgID, n)
	if err != nil {
		return Domain{}, err
	}
	return s.fromRow(r)
}

// Verified reports whether orgID may send from domain, read through q (the
// outbox's transaction). It implements outbox.Domains. The match is exact:
// a verified example.org does not cover its subdomains (see the package
// documentation). A name that is not a valid domain is simply not verified.
func (s *Service) Verified(ctx context.Context, q store.Querier, orgID, domain string) (bool, error) {
	n, err := NormalizeDomain(domain)
	if err != nil {
		return false, nil
	}
	status, lastCheck, err := store.SenderDomainStatus(ctx, q, orgID, n)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	st, err := parseStored(lastCheck)
	if err != nil {
		return false, err
	}
	return s.sends(status, st), nil
}
