package senderdomain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// TXTResolver looks up TXT records; *dns.Resolver is one.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, dns.Result, error)
}

// Deps are the services a Service uses.
type Deps struct {
	DB    *store.DB
	Keys  *keyring.Keyring
	Audit *audit.Log
	// Resolver reads published records back. Nil makes Check fail with
	// ErrNoResolver (the rest works).
	Resolver TXTResolver
}

// Options tune a Service.
type Options struct {
	// Records are the parts of SPF, DMARC and TLS-RPT that come from the
	// server's configuration rather than the keys. With no SPF include or
	// address the SPF record is left out of Records (there is nothing true
	// to publish) and reported as a warning. Default: none configured,
	// DMARC p=quarantine.
	Records dkim.RecordOptions
	// Demo verifies domains when they are added, without DNS (demo mode
	// captures all outbound mail locally). Default false.
	Demo bool
	// PendingClaim is how long an unverified registration holds its name
	// against other organizations. Default 7 days.
	PendingClaim time.Duration
	// CheckTimeout bounds the DNS lookups of one Check. Default 30s.
	CheckTimeout time.Duration
	// Clock replaces time.Now.
	Clock func() time.Time
}

func (o Options) withDefaults() Options {
	if o.PendingClaim <= 0 {
		o.PendingClaim = 7 * 24 * time.Hour
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

// Errors callers branch on.
var (
	// ErrNotVerified: the organization has the domain but may not send
	// from it yet.
	ErrNotVerified = errors.New("sender domain is not verified")
	// ErrNoResolver: no DNS resolver is configured, so Check cannot run.
	ErrNoResolver = errors.New("no DNS resolver is configured for sender-domain checks")
)

// InUseError refuses Delete while mail from the domain awaits delivery.
type InUseError struct{ Undelivered int }

func (e *InUseError) Error() string {
	return fmt.Sprintf("%d recipients of mail from this domain are still waiting for delivery; delete the domain once they are delivered, bounced or expired", e.Undelivered)
}

// Service manages sender domains. It is safe for concurrent use.
type Service struct {
	deps  Deps
	opts  Options
	cache cache
}

// The interface package outbox asks before accepting a message.
var _ outbox.Domains = (*Service)(nil)

// New builds the service and registers sender_domains with the keyring, so
// key rotation re-encrypts DKIM keys with everything else.
func New(deps Deps, opts Options) (*Service, error) {
	if _, err := dkim.Records("example.org", dkim.Keys{}, spfOrPlaceholder(opts.Records)); err != nil {
		return nil, fmt.Errorf("sender domain record options: %w", err)
	}
	deps.Keys.Register(store.SenderDomainsTable())
	return &Service{deps: deps, opts: opts.withDefaults(), cache: cache{m: map[cacheKey]cached{}}}, nil
}

// now is the clock at the stored precision.
func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// Actor is who manages an organization's domains: a signed-in person or API
// key (As), or the system acting for an operator (System, the CLI).
type Actor struct {
	orgID     string
	who       audit.Actor
	principal *auth.Principal // nil: the system, which may do everything
}

// As is the actor of an authenticated principal, in its organization.
func As(p auth.Principal) Actor { return Actor{orgID: p.OrgID, who: p.Actor(), principal: &p} }

// System is carepost acting for an operator in orgID; component names it in
// the audit log ("cli").
func System(orgID, component string) Actor {
	return Actor{orgID: orgID, who: audit.Actor{Type: audit.ActorSystem, ID: component}}
}

// OrgID is the organization the actor acts in.
func (a Actor) OrgID() string { return a.orgID }

// mayChange: adding, checking and deleting need domains:write.
func (a Actor) mayChange() error {
	if a.orgID == "" {
		return auth.ErrForbidden
	}
	if a.principal == nil {
		return nil
	}
	return a.principal.Require(access.DomainsWrite)
}

// mayRead: domains:write, or settings:write (organization administrators
// see which domains their organization sends from). Records hold public
// keys only.
func (a Actor) mayRead() error {
	if a.mayChange() == nil {
		return nil
	}
	if a.principal != nil && a.principal.Require(access.SettingsWrite) == nil {
		return nil
	}
	return auth.ErrForbidden
}

// record appends an audit entry in tx; its failure fails the action (HIPAA
// 164.312(b)).
func (s *Service) record(ctx context.Context, tx *store.Tx, a Actor, action, targetID string, details map[string]string) error {
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: a.orgID, Actor: a.who, Action: action,
		TargetType: "sender_domain", TargetID: targetID, Outcome: audit.Success, Details: details})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func inputErr(msg string) error { return &auth.InputError{Field: "domain", Msg: msg} }
