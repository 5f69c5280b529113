package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/api"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/devcert"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/jobs"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/web"
	"github.com/carepost/carepost/internal/webauth"
)

// GCPercent is the garbage collector's target `carepost serve` runs with
// unless GOGC is set: the heap may grow to three times what is live (Go's
// default is two) before a collection. A sending node's live heap is
// small and steady (tens of MiB: caches, connection buffers, the batches
// of messages being made), so the extra headroom costs tens of MiB of
// resident memory and saves a third of the collector's work, which at
// full load is several percent of all CPU (docs/BENCHMARKS.md, "End to end
// past the line" and "The campaign benchmark at serve's collector
// target"). The campaign delivery benchmark runs with it too.
const GCPercent = 200

// Node is a running `carepost serve`: HTTP listener, SMTP listeners (see
// smtp.go) and job workers.
type Node struct {
	app  *App
	http *httpserver.Server
	smtp *smtpd.Server // nil when every SMTP listener is disabled
	Jobs *jobs.Client
}

// NewNode binds the listeners and builds the workers; Run starts them.
// Binding first lets tests listen on port 0 and read Addr before Run.
func (a *App) NewNode() (*Node, error) {
	tlsCfg, err := a.tlsConfig()
	if err != nil {
		return nil, err
	}
	jc := a.Jobs
	mux := http.NewServeMux()
	a.routes(mux)
	h := a.Config.HTTP
	srv := httpserver.New(httpserver.Options{
		Listen:            h.Listen,
		TLS:               tlsCfg,
		ReadHeaderTimeout: h.ReadHeaderTimeout.Duration(),
		ReadTimeout:       h.ReadTimeout.Duration(),
		WriteTimeout:      h.WriteTimeout.Duration(),
		IdleTimeout:       h.IdleTimeout.Duration(),
		ShutdownTimeout:   h.ShutdownTimeout.Duration(),
		MaxBody:           h.MaxBody.Bytes(),
		TrustedProxies:    h.TrustedProxies,
		Logger:            a.Log.With("component", "http"),
		Registry:          a.Metrics,
		Decorate: func(ctx context.Context, info httpserver.RequestInfo) context.Context {
			return audit.WithRequest(ctx, audit.Request{ClientIP: info.ClientIP, UserAgent: info.UserAgent, RequestID: info.ID})
		},
	}, mux)
	smtpSrv, err := a.newSMTP(tlsCfg)
	if err != nil {
		return nil, err
	}
	if smtpSrv != nil {
		if err := smtpSrv.Listen(); err != nil {
			return nil, err
		}
	}
	if err := srv.Listen(); err != nil {
		if smtpSrv != nil {
			smtpSrv.Close()
		}
		return nil, err
	}
	a.warnAboutKEKPlacement(a.KEK)
	if !config.IsLoopback(h.Listen) {
		if h.TLS == config.TLSSelfSigned {
			a.Log.Warn("listening beyond loopback with a self-signed certificate: configure http.tls = \"files\" with a real certificate for production", "listen", h.Listen)
		}
		if h.TLS == config.TLSOff {
			a.Log.Warn("listening beyond loopback without TLS: only do this behind a TLS-terminating proxy", "listen", h.Listen)
		}
	}
	return &Node{app: a, http: srv, smtp: smtpSrv, Jobs: jc}, nil
}

// Addr is the bound HTTP address.
func (n *Node) Addr() net.Addr { return n.http.Addr() }

// Run starts the workers and serves until ctx ends, then shuts down: the
// listener stops accepting, in-flight requests finish, running jobs get the
// shutdown timeout to complete.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Jobs.Start(ctx); err != nil {
		return err
	}
	n.app.Log.Info("carepost serving", "url", n.app.Config.HTTP.PublicURL, "addr", n.Addr().String(), "database", string(n.app.DB.Driver()))
	ctx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	smtpDone := make(chan error, 1)
	if n.smtp != nil {
		go func() {
			err := n.smtp.Serve(ctx)
			stopAll() // a failed SMTP listener stops the node
			smtpDone <- err
		}()
	} else {
		smtpDone <- nil
	}
	serveErr := n.http.Serve(ctx)
	stopAll()
	smtpErr := <-smtpDone
	stopCtx, cancel := context.WithTimeout(context.Background(), n.app.Config.HTTP.ShutdownTimeout.Duration())
	defer cancel()
	jobErr := n.Jobs.Stop(stopCtx)
	n.app.Log.Info("carepost stopped")
	return errors.Join(serveErr, smtpErr, jobErr)
}

func (a *App) routes(mux *http.ServeMux) {
	httpserver.MountHealth(mux, a.Metrics, []httpserver.Check{
		{Name: "database", Fn: func(ctx context.Context) error {
			if err := a.DB.Ping(ctx); err != nil {
				return errors.New("database unreachable")
			}
			return nil
		}},
		{Name: "migrations", Fn: a.MigrationsCurrent},
	})
	wa := &webauth.Authenticator{Auth: a.Auth, Secure: strings.HasPrefix(a.Config.HTTP.PublicURL, "https://")}
	api.New(api.Deps{Auth: a.Auth, WebAuth: wa, Log: a.Log.With("component", "api"), DB: a.DB, Keys: a.Keys,
		Audit: a.Audit, Outbox: a.Outbox, Events: a.Events, Domains: a.Domains, Gateway: a.GatewayConnectors(), Contacts: a.Contacts, Workflows: a.Workflows,
		Keydir: a.Keydir, Policy: a.Policy, Portal: a.Portal, Templates: a.Templates, Segments: a.Segments, Campaigns: a.Campaigns}).Mount(mux)
	web.New(web.Deps{Auth: a.Auth, WebAuth: wa, Log: a.Log.With("component", "web"), SSO: a.Auth.SSOAvailable()}).Mount(mux)
	a.mountPortal(mux, wa.Secure)
	a.mountTracking(mux)
	a.mountDemo(mux, wa)
	a.noteFederation()
}

func (a *App) tlsConfig() (*tls.Config, error) {
	h := a.Config.HTTP
	var cert tls.Certificate
	switch h.TLS {
	case config.TLSOff:
		return nil, nil
	case config.TLSSelfSigned:
		c, generated, err := devcert.Ensure(h.CertFile, h.KeyFile, devcert.Hosts(h.Listen), time.Now())
		if err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		if generated {
			a.Log.Info("generated a self-signed TLS certificate for development", "cert_file", h.CertFile)
		}
		cert = c
	default:
		return reloadingTLS(h.CertFile, h.KeyFile, a.Log)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
