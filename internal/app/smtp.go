package app

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/devcert"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/smtpd/connector"
)

// GatewayConnectors is the service behind the gateway listener and the
// connector API. It holds no state of its own, so each caller may build it.
func (a *App) GatewayConnectors() *connector.Service {
	return connector.New(a.DB, a.Audit, a.Clock)
}

// newSMTP builds the SMTP listeners that [submission] and [gateway] enable
// (nil when none is); httpsTLS is the HTTPS server's configuration, which
// they share unless they have a certificate of their own.
func (a *App) newSMTP(httpsTLS *tls.Config) (*smtpd.Server, error) {
	c := a.Config
	s, g := c.Submission, c.Gateway
	var ls []smtpd.Listener
	add := func(kind smtpd.Kind, addr, host, cert, key string, size config.Size, rcpts int, read, write config.Duration) error {
		if !config.ListenEnabled(addr) {
			return nil
		}
		tc, err := a.smtpTLS(string(kind), cert, key, httpsTLS)
		if err != nil {
			return err
		}
		ls = append(ls, smtpd.Listener{Kind: kind, Addr: addr, Hostname: c.SMTPHostname(host), TLS: tc,
			MaxSize: size.Bytes(), MaxRecipients: rcpts, ReadTimeout: read.Duration(), WriteTimeout: write.Duration()})
		if !config.IsLoopback(addr) && tc == httpsTLS && c.HTTP.TLS == config.TLSSelfSigned {
			a.Log.Warn("SMTP listener beyond loopback with the self-signed development certificate: configure a real certificate", "listener", string(kind), "listen", addr)
		}
		return nil
	}
	for _, err := range []error{
		add(smtpd.Submission, s.Listen, s.Hostname, s.CertFile, s.KeyFile, s.MaxSize, s.MaxRecipients, s.ReadTimeout, s.WriteTimeout),
		add(smtpd.SubmissionTLS, s.TLSListen, s.Hostname, s.CertFile, s.KeyFile, s.MaxSize, s.MaxRecipients, s.ReadTimeout, s.WriteTimeout),
		add(smtpd.Gateway, g.Listen, g.Hostname, g.CertFile, g.KeyFile, g.MaxSize, g.MaxRecipients, g.ReadTimeout, g.WriteTimeout),
	} {
		if err != nil {
			return nil, err
		}
	}
	if len(ls) == 0 {
		return nil, nil
	}
	return smtpd.New(smtpd.Deps{Outbox: a.Outbox, Auth: a.Auth, Audit: a.Audit, Connectors: a.GatewayConnectors(),
		Log: a.Log.With("component", "smtp"), Metrics: a.Metrics, Clock: a.Clock},
		smtpd.Options{Listeners: ls, RatePerMinute: s.RatePerMinute, ShutdownTimeout: c.HTTP.ShutdownTimeout.Duration()})
}

// smtpTLS is a listener's certificate: its own pair (reloaded on renewal),
// else the HTTPS server's, else — with http.tls off — the self-signed
// development certificate in data.dir.
func (a *App) smtpTLS(section, certFile, keyFile string, httpsTLS *tls.Config) (*tls.Config, error) {
	switch {
	case certFile != "":
		return reloadingTLS(certFile, keyFile, a.Log)
	case httpsTLS != nil:
		return httpsTLS, nil
	}
	dir := filepath.Join(a.Config.Data.Dir, "tls")
	cert, _, err := devcert.Ensure(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), devcert.Hosts(a.Config.HTTP.Listen), time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s listener certificate: %w", section, err)
	}
	a.Log.Warn("http.tls is off and the SMTP listener has no certificate of its own: it uses the self-signed development certificate", "listener", section)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// SMTPAddr is the bound address of an SMTP listener, or nil when it is
// disabled.
func (n *Node) SMTPAddr(k smtpd.Kind) net.Addr {
	if n.smtp == nil {
		return nil
	}
	return n.smtp.Addr(k)
}
