package keydir

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/e2e"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/smime"
	"github.com/carepost/carepost/internal/store"
)

// Kinds of key, which are also the methods Encrypt reports.
const (
	KindPGP   = store.RecipientKeyPGP   // OpenPGP, PGP/MIME (RFC 3156)
	KindSMIME = store.RecipientKeySMIME // S/MIME (RFC 8551)
)

// ErrNoKey: the directory (and the Web Key Directory, when enabled) has no
// key for the address that is valid now. The caller falls back (portal).
var ErrNoKey = errors.New("no valid end-to-end encryption key for this recipient")

// IPResolver resolves the Web Key Directory's hosts; *dns.Resolver is one.
type IPResolver interface {
	LookupIP(ctx context.Context, host string) ([]netip.Addr, dns.Result, error)
}

// Deps are the services a Service uses.
type Deps struct {
	DB    *store.DB
	Keys  *keyring.Keyring
	Blobs *blob.Store
	Index *blindindex.Indexer
	Audit *audit.Log
	// Resolver is needed for Web Key Directory lookups; nil disables them.
	Resolver IPResolver
}

// Options tune a Service.
type Options struct {
	// Roots are the CAs recipients' S/MIME certificates must chain to.
	// Default: the system's roots.
	Roots *x509.CertPool
	// WKD enables Web Key Directory lookups. Default false.
	WKD bool
	// WKDPort is the HTTPS port of lookups. Default 443.
	WKDPort int
	// WKDTimeout bounds one lookup. Default 5s.
	WKDTimeout time.Duration
	// WKDCacheTTL is how long an answer is remembered. Default 1h.
	WKDCacheTTL time.Duration
	// WKDAllow are ranges the SSRF guard lets lookups reach anyway.
	WKDAllow []netip.Prefix
	// WKDRootCAs verify Web Key Directory servers. Default: system roots.
	WKDRootCAs *x509.CertPool
	// SMIMECipher is the S/MIME content encryption. Default AES256CBC.
	SMIMECipher smime.Cipher
	// SMIMEOAEP selects RSAES-OAEP key transport. Default false.
	SMIMEOAEP bool
	// NeutralSubject is the outer Subject. Default "...".
	NeutralSubject string
	// Clock replaces time.Now.
	Clock func() time.Time
	// Log receives WKD failures (ids and reasons, never addresses).
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Roots == nil {
		roots, err := x509.SystemCertPool()
		if err != nil {
			return o, fmt.Errorf("keydir: system roots: %w", err)
		}
		o.Roots = roots
	}
	if o.WKDPort == 0 {
		o.WKDPort = 443
	}
	if o.WKDTimeout <= 0 {
		o.WKDTimeout = 5 * time.Second
	}
	if o.WKDCacheTTL <= 0 {
		o.WKDCacheTTL = time.Hour
	}
	if o.SMIMECipher == "" {
		o.SMIMECipher = smime.AES256CBC
	}
	if o.NeutralSubject == "" {
		o.NeutralSubject = e2e.DefaultNeutralSubject
	}
	if err := e2e.CheckNeutralSubject(o.NeutralSubject); err != nil {
		return o, err
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Service is an installation's recipient key directory, per organization.
// It is safe for concurrent use.
type Service struct {
	deps Deps
	opts Options
	wkd  *wkdClient // nil: disabled
}

// New builds the service and registers recipient_keys with the keyring,
// so key rotation re-encrypts the directory with everything else.
func New(deps Deps, opts Options) (*Service, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	deps.Keys.Register(store.RecipientKeysTable())
	s := &Service{deps: deps, opts: opts}
	if opts.WKD && deps.Resolver != nil {
		s.wkd = newWKDClient(deps.Resolver, opts)
	}
	return s, nil
}

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// Actor is who manages an organization's directory: a principal (As) or
// the system acting for an operator (System).
type Actor struct {
	orgID     string
	who       audit.Actor
	principal *auth.Principal // nil: the system
}

// As is the actor of an authenticated principal, in its organization.
func As(p auth.Principal) Actor { return Actor{orgID: p.OrgID, who: p.Actor(), principal: &p} }

// System is carepost acting in orgID; component names it in the audit log.
func System(orgID, component string) Actor {
	return Actor{orgID: orgID, who: audit.Actor{Type: audit.ActorSystem, ID: component}}
}

// mayManage: the directory and the signing keys need policy:write (they
// decide how a recipient's mail is protected, as the policy does).
func (a Actor) mayManage() error {
	if a.orgID == "" {
		return auth.ErrForbidden
	}
	if a.principal == nil {
		return nil
	}
	return a.principal.Require(access.PolicyWrite)
}

// mask hides addresses from principals without phi:read (HIPAA minimum
// necessary): that a patient has a key, and under which address, is PHI.
func (a Actor) mask(addrs []string) []string {
	if a.principal == nil {
		return addrs
	}
	out := make([]string, len(addrs))
	for i, v := range addrs {
		out[i] = access.MaskPHI(a.principal.Perms, v)
	}
	return out
}

// record appends an audit entry in tx; its failure fails the action.
func (s *Service) record(ctx context.Context, tx *store.Tx, a Actor, action, targetType, targetID string, details map[string]string) error {
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: a.orgID, Actor: a.who, Action: action,
		TargetType: targetType, TargetID: targetID, Outcome: audit.Success, Details: details})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func inputErr(field string, err error) error { return &auth.InputError{Field: field, Msg: err.Error()} }
