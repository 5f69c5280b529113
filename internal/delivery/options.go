package delivery

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carepost/carepost/internal/smtpclient"
)

// Options tune delivery; config's [delivery] section fills them.
type Options struct {
	// Clock replaces time.Now for queue times (tests use a fake clock;
	// certificate validity is always checked against the real time).
	Clock func() time.Time
	// Batch is how many recipients one job claims. Default 200.
	Batch int
	// Lease is how long a claim holds its recipients; a node that dies
	// mid-batch leaves them to be claimed again after it. Default 10m.
	Lease time.Duration
	// Slots is how many batches may deliver to one destination domain at
	// once (connections per domain). Default 4.
	Slots int
	// RatePerMinute caps recipients claimed per destination domain per
	// minute; 0 is unlimited. Default 0.
	RatePerMinute int
	// Retry is the delay after each failed attempt; the last one repeats
	// until the message's lifetime ends. Default 1m, 5m, 15m, 30m, 1h, 2h,
	// 4h, 8h.
	Retry []time.Duration
	// SweepInterval is how often the sweep wakes domains whose retries came
	// due or whose leases expired. Default 30s.
	SweepInterval time.Duration
	// MXPort is the TCP port of remote MX hosts. Default 25.
	MXPort int
	// MTASTSPort is the HTTPS port MTA-STS policies are fetched from.
	// Default 443.
	MTASTSPort int
	// ExtraRoots are CA certificates trusted for remote MX and MTA-STS
	// certificates in addition to the system roots (tests). Default none.
	ExtraRoots []*x509.Certificate
	// LocalName is the name in EHLO and DSNs. Default "localhost".
	LocalName string
	// Timeouts bound each SMTP stage; zero fields take RFC 5321's.
	Timeouts smtpclient.Timeouts
	// NoChunking keeps every transaction on DATA
	// (smtpclient.DialOptions.NoChunking). Default false: BDAT where the
	// host offers it.
	NoChunking bool
	// Logger receives delivery logs (ids only). Default: discard.
	Logger *slog.Logger
	// Metrics, when set, receives the delivery metrics.
	Metrics prometheus.Registerer
}

// DefaultRetry is the retry schedule (see Options.Retry).
var defaultRetry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Batch == 0 {
		o.Batch = 200
	}
	if o.Lease == 0 {
		o.Lease = 10 * time.Minute
	}
	if o.Slots == 0 {
		o.Slots = 4
	}
	if len(o.Retry) == 0 {
		o.Retry = defaultRetry
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 30 * time.Second
	}
	if o.MXPort == 0 {
		o.MXPort = 25
	}
	if o.MTASTSPort == 0 {
		o.MTASTSPort = 443
	}
	if o.LocalName == "" {
		o.LocalName = "localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.Batch < 1 || o.Batch > 10000 {
		errs = append(errs, fmt.Errorf("batch %d is not between 1 and 10000", o.Batch))
	}
	if o.Lease < time.Second {
		errs = append(errs, errors.New("lease must be at least 1s"))
	}
	if o.Slots < 1 || o.Slots > 1000 {
		errs = append(errs, fmt.Errorf("slots %d is not between 1 and 1000", o.Slots))
	}
	if o.RatePerMinute < 0 {
		errs = append(errs, errors.New("rate per minute is negative"))
	}
	for _, d := range o.Retry {
		if d <= 0 {
			errs = append(errs, errors.New("retry delays must be positive"))
			break
		}
	}
	if o.MXPort < 1 || o.MXPort > 65535 || o.MTASTSPort < 1 || o.MTASTSPort > 65535 {
		errs = append(errs, errors.New("ports must be between 1 and 65535"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("delivery options: %w", errors.Join(errs...))
	}
	return nil
}

// retryDelay is the wait after the attempt-th failed attempt (from 1).
func (o Options) retryDelay(attempt int) time.Duration {
	return o.Retry[min(max(attempt, 1), len(o.Retry))-1]
}
