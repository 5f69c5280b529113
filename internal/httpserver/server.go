// Package httpserver is carepost's HTTP edge: the listener, TLS, timeouts,
// graceful shutdown, and the middleware every response passes through —
// request ids, client address resolution, security headers, body limits,
// panic recovery, structured access logs and Prometheus metrics — plus the
// health (/healthz), readiness (/readyz) and metrics (/metrics) endpoints.
//
// Handlers for the API, console and portal are mounted by the application;
// they translate HTTP to domain calls and never hold business rules.
//
// Nothing that may carry PHI reaches a log line or a metric label: access
// logs record the route pattern (not the raw path or query), status, sizes
// and timings, keyed by request id; metric labels are route patterns and
// status codes only.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configures the server.
type Options struct {
	// Listen is the host:port to bind.
	Listen string
	// TLS enables HTTPS when non-nil.
	TLS *tls.Config
	// Timeouts bound slow clients; zero values mean the defaults shown.
	ReadHeaderTimeout time.Duration // 10s
	ReadTimeout       time.Duration // 60s
	WriteTimeout      time.Duration // 60s
	IdleTimeout       time.Duration // 120s
	ShutdownTimeout   time.Duration // 20s
	// MaxBody caps request bodies; zero means 50 MB.
	MaxBody int64
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Logger receives access logs and errors.
	Logger *slog.Logger
	// Registry receives the HTTP metrics.
	Registry *prometheus.Registry
	// Decorate, when set, derives each request's context from its
	// RequestInfo (the application uses it to carry audit metadata).
	Decorate func(ctx context.Context, info RequestInfo) context.Context
}

func (o *Options) withDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, 10*time.Second)
	def(&o.ReadTimeout, 60*time.Second)
	def(&o.WriteTimeout, 60*time.Second)
	def(&o.IdleTimeout, 120*time.Second)
	def(&o.ShutdownTimeout, 20*time.Second)
	if o.MaxBody <= 0 {
		o.MaxBody = 50 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
}

// Server serves one listener.
type Server struct {
	opts Options
	srv  *http.Server
	ln   net.Listener
}

// New wraps handler in the standard middleware.
func New(opts Options, handler http.Handler) *Server {
	opts.withDefaults()
	m := newMetrics(opts.Registry)
	h := chain(handler, opts, m)
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         opts.TLS,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return &Server{opts: opts, srv: srv}
}

// Listen binds the address; after it returns, Addr is known (useful with
// port 0 in tests).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for up to ShutdownTimeout, and
// returns.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}
