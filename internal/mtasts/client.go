package mtasts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/dns"
)

// Options configure a Client.
type Options struct {
	// Resolver looks up the TXT record and the policy host. Required.
	Resolver *dns.Resolver
	// HTTPSPort is the port policies are fetched from. Default: 443; tests
	// set their server's port.
	HTTPSPort int
	// RootCAs validate the policy host's certificate. Default (nil): the
	// system roots.
	RootCAs *x509.CertPool
	// Timeout bounds one policy fetch, connection to body. RFC 8461
	// section 3.3 asks for a timeout and suggests up to a minute; 10s keeps
	// a stalled policy host from holding a delivery worker. Default: 10s.
	Timeout time.Duration
	// MaxBody is the largest policy accepted, in bytes (section 3.3's
	// suggestion). Default: 64 KiB.
	MaxBody int64
	// Cache keeps policies between lookups. Default: a new MemoryCache.
	Cache Cache
	// Clock tells the time for caching. Default: time.Now.
	Clock func() time.Time
	// Logger receives cache failures. Default: slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns the options with defaults filled in.
func (o Options) WithDefaults() Options {
	if o.HTTPSPort == 0 {
		o.HTTPSPort = 443
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxBody == 0 {
		o.MaxBody = 64 << 10
	}
	if o.Cache == nil {
		o.Cache = NewMemoryCache()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.Resolver == nil {
		errs = append(errs, errors.New("mtasts: Resolver is required"))
	}
	if o.HTTPSPort < 0 || o.HTTPSPort > 65535 {
		errs = append(errs, fmt.Errorf("mtasts: HTTPSPort %d out of range", o.HTTPSPort))
	}
	if o.Timeout < 0 {
		errs = append(errs, errors.New("mtasts: Timeout is negative"))
	}
	if o.MaxBody < 0 {
		errs = append(errs, errors.New("mtasts: MaxBody is negative"))
	}
	return errors.Join(errs...)
}

// Client discovers MTA-STS policies. It is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client
}

// New builds a Client.
func New(opts Options) (*Client, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Client{opts: opts, http: newHTTPClient(opts.Resolver, opts.RootCAs)}, nil
}

// Source says where the policy in a Status came from.
type Source string

// Sources.
const (
	// SourceNone: the domain publishes no MTA-STS record and nothing is
	// cached. Not a failure.
	SourceNone Source = "none"
	// SourceFetched: fetched over HTTPS just now.
	SourceFetched Source = "fetched"
	// SourceCache: cached and current (same TXT id, within max_age).
	SourceCache Source = "cache"
	// SourceCacheFallback: discovery failed (see Status.Err) or found no
	// record, and a cached policy within its max_age applies (RFC 8461
	// sections 3.3 and 5.1).
	SourceCacheFallback Source = "cache-fallback"
	// SourceFailed: discovery failed (see Status.Err) and nothing usable
	// is cached, so the domain is treated as having no policy (section 3.3).
	SourceFailed Source = "failed"
)

// Status is the outcome of a Lookup.
type Status struct {
	// Mode to apply: ModeEnforce or ModeTesting with a Policy, ModeNone
	// without.
	Mode Mode
	// Source of the decision.
	Source Source
	// ID is the TXT id the applied policy was fetched under ("" without one).
	ID string
	// Err says why discovery failed, for TLS reporting and the delivery
	// record, with SourceFailed and SourceCacheFallback. Mode already
	// accounts for it: a non-nil Err is not a reason to skip the policy.
	Err error
}

// Lookup discovers the policy of domain (given in Unicode or A-labels):
// the TXT record, then the cache or a fetch, falling back to a cached
// policy when discovery fails. The returned Policy is non-nil exactly when
// Status.Mode is enforce or testing. The error is non-nil only when domain
// is not a domain name; every discovery failure is reported in Status.
func (c *Client) Lookup(ctx context.Context, domain string) (*Policy, Status, error) {
	d, err := dns.ToASCII(domain)
	if err != nil {
		return nil, Status{}, fmt.Errorf("mtasts: policy domain %q: %w", domain, err)
	}
	now := c.opts.Clock()
	cached, ok, err := c.opts.Cache.Get(ctx, d)
	if err != nil {
		c.opts.Logger.WarnContext(ctx, "mtasts: policy cache read failed", slog.String("domain", d), slog.Any("error", err))
		ok = false
	}
	live := ok && now.Before(cached.Expires())

	rec, err := c.lookupRecord(ctx, d)
	if err != nil {
		if live {
			return applied(&cached.Policy, cached.ID, SourceCacheFallback, err)
		}
		if errors.Is(err, ErrNoRecord) {
			return nil, Status{Mode: ModeNone, Source: SourceNone}, nil
		}
		return nil, Status{Mode: ModeNone, Source: SourceFailed, Err: err}, nil
	}
	if live && cached.ID == rec.ID {
		return applied(&cached.Policy, cached.ID, SourceCache, nil)
	}
	p, err := c.fetch(ctx, d)
	if err != nil {
		if live {
			return applied(&cached.Policy, cached.ID, SourceCacheFallback, err)
		}
		return nil, Status{Mode: ModeNone, Source: SourceFailed, Err: err}, nil
	}
	if err := c.opts.Cache.Put(ctx, d, CachedPolicy{Policy: *p, ID: rec.ID, Fetched: now}); err != nil {
		c.opts.Logger.WarnContext(ctx, "mtasts: policy cache write failed", slog.String("domain", d), slog.Any("error", err))
	}
	return applied(p, rec.ID, SourceFetched, nil)
}

// applied shapes the result for a policy; a policy in mode none applies
// as no policy.
func applied(p *Policy, id string, src Source, why error) (*Policy, Status, error) {
	st := Status{Mode: p.Mode, Source: src, ID: id, Err: why}
	if p.Mode == ModeNone {
		return nil, st, nil
	}
	return p, st, nil
}

// lookupRecord finds the one STSv1 record of domain (RFC 8461 section
// 3.1). CNAMEs are followed by the resolver, as section 3.1 allows.
func (c *Client) lookupRecord(ctx context.Context, domain string) (Record, error) {
	txts, _, err := c.opts.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	switch {
	case errors.Is(err, dns.ErrNotFound):
		return Record{}, fail(ErrNoRecord, domain, "no TXT record", nil)
	case err != nil:
		return Record{}, fail(ErrDNS, domain, "TXT lookup failed", err)
	}
	var found []Record
	var bad error
	for _, txt := range txts {
		rec, err := ParseRecord(txt)
		switch {
		case errors.Is(err, ErrNotSTS):
			continue // other TXT records at the name are ignored
		case err != nil:
			bad = err
		default:
			found = append(found, rec)
		}
	}
	switch {
	case bad != nil:
		return Record{}, fail(ErrRecord, domain, bad.Error(), bad)
	case len(found) == 0:
		return Record{}, fail(ErrNoRecord, domain, "no v=STSv1 TXT record", nil)
	case len(found) > 1:
		return Record{}, fail(ErrRecord, domain, "more than one v=STSv1 TXT record", nil)
	}
	return found[0], nil
}
