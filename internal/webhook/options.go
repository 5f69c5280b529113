package webhook

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"
)

// DefaultSchedule is the delay before each attempt, the first one counted
// from Enqueue: immediately, then 5s, 5m, 30m, 2h, 5h, 10h and 10h, eight
// attempts over 27h35m5s. It follows the example schedule of the Standard
// Webhooks specification ("Deliverability and reliability"), cut where the
// total passes a day.
var DefaultSchedule = []time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// Defaults of Options.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultJitter        = 0.1
	DefaultSecretOverlap = 24 * time.Hour
)

// Options configure a Service and a Worker; pass the same Options to both.
// The zero value is ready for production.
type Options struct {
	// Allow lists address ranges the SSRF guard lets through although they
	// are refused by default (loopback, private, link-local, …; see
	// package documentation), for an administrator whose receivers live
	// on an internal network. Default none. Write IPv4 ranges in IPv4 form:
	// addresses are unmapped before they are compared.
	Allow []netip.Prefix
	// AllowHTTP permits http:// endpoint URLs. Default false: https only,
	// because an event tells whoever watches the wire that a patient's
	// message moved. Meant for development and tests against local
	// receivers (which also need Allow).
	AllowHTTP bool
	// Timeout bounds one attempt: dial, TLS handshake, request and
	// response. Default DefaultTimeout (10s).
	Timeout time.Duration
	// Schedule is the delay before each attempt; its length is the number
	// of attempts. Default DefaultSchedule.
	Schedule []time.Duration
	// Jitter is the largest fraction of a retry delay added at random, so
	// receivers that failed together are not retried together. Default
	// DefaultJitter (0.1); negative disables it.
	Jitter float64
	// SecretOverlap is how long after RotateSecret deliveries are signed
	// with the previous secret as well, so receivers can switch without
	// rejecting anything. Default DefaultSecretOverlap (24h); negative
	// disables the overlap.
	SecretOverlap time.Duration
	// RootCAs verify receivers' certificates. Default nil: the system
	// roots.
	RootCAs *x509.CertPool
	// Clock is the time source for timestamps and the schedule. River
	// runs scheduled jobs by its own clock, so outside tests this must be
	// the real time. Default time.Now.
	Clock func() time.Time
	// Logger receives one line per attempt, with ids only. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns o with every unset field at its default.
func (o Options) WithDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	o.Schedule = slices.Clone(o.Schedule)
	o.Allow = slices.Clone(o.Allow)
	if o.Jitter == 0 {
		o.Jitter = DefaultJitter
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	if o.SecretOverlap == 0 {
		o.SecretOverlap = DefaultSecretOverlap
	}
	if o.SecretOverlap < 0 {
		o.SecretOverlap = 0
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("webhook timeout must not be negative, got %s", o.Timeout))
	}
	if o.Schedule != nil && len(o.Schedule) == 0 {
		errs = append(errs, errors.New("webhook schedule needs at least one attempt"))
	}
	for i, d := range o.Schedule {
		if d < 0 {
			errs = append(errs, fmt.Errorf("webhook schedule step %d is negative (%s)", i+1, d))
		}
	}
	if o.Jitter > 1 {
		errs = append(errs, fmt.Errorf("webhook jitter must be at most 1, got %g", o.Jitter))
	}
	for _, p := range o.Allow {
		if !p.IsValid() {
			errs = append(errs, errors.New("webhook allow list holds an invalid prefix"))
		}
	}
	return errors.Join(errs...)
}
