package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/smtpd/connector"
)

// Kind says what a listener is for.
type Kind string

// The listeners; the Kind is also the metrics label.
const (
	Submission    Kind = "submission"  // STARTTLS required before AUTH (port 587)
	SubmissionTLS Kind = "submissions" // implicit TLS (port 465, RFC 8314)
	Gateway       Kind = "gateway"     // relay for connectors (port 25)
)

// Submitter is the outbox.
type Submitter interface {
	Submit(ctx context.Context, s outbox.Submission) (outbox.Result, error)
}

// Authenticator checks API keys (package auth).
type Authenticator interface {
	AuthenticateAPIKey(ctx context.Context, token string, c auth.Client) (auth.Principal, error)
}

// Auditor records what this package decides itself (a key refused for
// lack of messages:send).
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Connectors is the gateway's trust configuration (package connector).
type Connectors interface {
	Enabled(ctx context.Context) ([]connector.Connector, error)
	DomainOwner(ctx context.Context, domain string) (string, error)
}

// Deps are the services the listeners call.
type Deps struct {
	Outbox     Submitter
	Auth       Authenticator // submission listeners
	Audit      Auditor
	Connectors Connectors // gateway listener
	Log        *slog.Logger
	Metrics    prometheus.Registerer // nil: not exported
	Clock      func() time.Time
}

// Listener configures one listener.
type Listener struct {
	Kind Kind
	Addr string // host:port; port 0 picks a free one
	// Hostname is the name in the greeting.
	Hostname string
	// TLS is the server certificate configuration; required.
	TLS           *tls.Config
	MaxSize       int64
	MaxRecipients int
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
}

// Options configures the server.
type Options struct {
	Listeners []Listener
	// RatePerMinute bounds messages per API key per minute on this node;
	// 0 means no limit.
	RatePerMinute int
	// ShutdownTimeout bounds how long Serve waits for connections to end
	// after its context is done. Default 20s.
	ShutdownTimeout time.Duration
}

// Server runs the SMTP listeners.
type Server struct {
	deps      Deps
	opts      Options
	metrics   *metrics
	limiter   *limiter
	listeners []*listener
	ctx       context.Context // submissions run under it; cancelled last
	cancel    context.CancelFunc
}

// listener is one bound listener with its go-smtp server and connections.
type listener struct {
	Listener
	name    string
	srv     *Server
	smtp    *smtp.Server
	ln      net.Listener
	metrics *metrics

	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	closing bool
}

// New checks the configuration and builds the server; Listen binds it.
func New(deps Deps, opts Options) (*Server, error) {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 20 * time.Second
	}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("smtp metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{deps: deps, opts: opts, metrics: m, limiter: newLimiter(opts.RatePerMinute, deps.Clock), ctx: ctx, cancel: cancel}
	for _, l := range opts.Listeners {
		if err := s.add(l); err != nil {
			cancel()
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) add(l Listener) error {
	switch {
	case l.TLS == nil:
		return fmt.Errorf("smtp %s listener: no TLS configuration", l.Kind)
	case l.Kind == Gateway && (s.deps.Connectors == nil || s.deps.Outbox == nil):
		return errors.New("smtp gateway listener: needs the connectors and the outbox")
	case l.Kind != Gateway && (s.deps.Auth == nil || s.deps.Outbox == nil):
		return fmt.Errorf("smtp %s listener: needs authentication and the outbox", l.Kind)
	}
	ln := &listener{Listener: l, name: string(l.Kind), srv: s, metrics: s.metrics, conns: map[*trackedConn]struct{}{}}
	tlsCfg := l.TLS.Clone()
	if l.Kind == Gateway {
		// Ask for a client certificate without judging it: each
		// connector verifies it its own way (package connector). The
		// handshake still proves the client holds the certificate's key.
		tlsCfg.ClientAuth = tls.RequestClientCert
	}
	srv := smtp.NewServer(backend{ln})
	srv.Domain = l.Hostname
	srv.TLSConfig = tlsCfg
	srv.MaxMessageBytes = l.MaxSize
	srv.MaxRecipients = l.MaxRecipients
	srv.ReadTimeout, srv.WriteTimeout = l.ReadTimeout, l.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.EnableREQUIRETLS = true // advertised only over TLS by go-smtp
	srv.ErrorLog = errorLog{s.deps.Log.With("component", "smtp", "listener", ln.name)}
	ln.smtp = srv
	s.listeners = append(s.listeners, ln)
	return nil
}

// Listen binds every listener.
func (s *Server) Listen() error {
	for _, l := range s.listeners {
		raw, err := net.Listen("tcp", l.Addr)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("smtp %s listener: %w", l.name, err)
		}
		var ln net.Listener = trackingListener{Listener: raw, srv: l}
		if l.Kind == SubmissionTLS {
			ln = tls.NewListener(ln, l.smtp.TLSConfig) // RFC 8314 section 3.3
		}
		l.ln = ln
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		if l.ln != nil {
			l.ln.Close()
		}
	}
}

// Addr is the bound address of the listener of kind k, or nil.
func (s *Server) Addr(k Kind) net.Addr {
	for _, l := range s.listeners {
		if l.Kind == k && l.ln != nil {
			return l.ln.Addr()
		}
	}
	return nil
}

// Serve accepts connections until ctx is done, then stops accepting, asks
// every connection to end after its current command (a commit in flight
// completes and is answered), and waits up to the shutdown timeout before
// closing what is left.
func (s *Server) Serve(ctx context.Context) error {
	errs := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() { errs <- l.smtp.Serve(l.ln) }()
		s.deps.Log.Info("smtp listening", "listener", l.name, "addr", l.ln.Addr().String())
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	stop, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range s.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.shutdown(stop)
		}()
	}
	wg.Wait()
	s.cancel()
	return serveErr
}

func (l *listener) shutdown(ctx context.Context) {
	done := make(chan error, 1)
	go func() { done <- l.smtp.Shutdown(ctx) }()
	l.mu.Lock()
	l.closing = true
	for c := range l.conns {
		c.end()
	}
	l.mu.Unlock()
	if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		l.smtp.Close()
	}
}

func (l *listener) remember(c *trackedConn) {
	l.mu.Lock()
	l.conns[c] = struct{}{}
	if l.closing {
		c.end()
	}
	l.mu.Unlock()
}

func (l *listener) forget(c *trackedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// errorLog adapts go-smtp's logger to slog. go-smtp logs connection errors
// (resets, failed handshakes) with the peer address, never message content.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.log.Debug(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.log.Debug(fmt.Sprintln(v...)) }

// Close closes the listeners of a server that will not Serve (start-up
// failed after Listen).
func (s *Server) Close() {
	s.closeListeners()
	s.cancel()
}
