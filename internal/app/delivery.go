package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"

	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/demo"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// openDelivery builds the delivery service from [delivery] (and [demo]).
// Its job client, events and outbox are bound once they exist
// (openMessaging).
func (a *App) openDelivery(opts Options) error {
	d := a.Config.Delivery
	do := delivery.Options{
		Clock: a.Clock, Batch: d.Batch, Lease: d.Lease.Duration(), Slots: d.ConnectionsPerDomain,
		RatePerMinute: d.RatePerDomain, SweepInterval: d.SweepInterval.Duration(),
		MXPort: d.MXPort, MTASTSPort: d.MTASTSPort, LocalName: a.deliveryName(),
		Timeouts: smtpclient.Timeouts{Connect: d.ConnectTimeout.Duration(), Greeting: d.CommandTimeout.Duration(),
			Command: d.CommandTimeout.Duration(), Data: d.DataTimeout.Duration()},
		NoChunking: !d.Chunking,
		Logger:     a.Log.With("component", "delivery"), Metrics: a.Metrics,
	}
	for _, r := range d.Retry {
		do.Retry = append(do.Retry, r.Duration())
	}
	if d.ExtraRoots != "" {
		certs, err := readCerts(d.ExtraRoots)
		if err != nil {
			return fmt.Errorf("delivery.extra_roots: %w", err)
		}
		do.ExtraRoots = certs
	}
	deps := delivery.Deps{DB: a.DB, Committer: a.Committer, Keys: a.Keys, Audit: a.Audit, Signers: opts.Signers,
		Encrypter: keydirEncrypter{a}, Portal: portalHandoff{a}}
	if deps.Signers == nil && a.Domains != nil {
		deps.Signers = domainSigners{a.Domains}
	}
	if a.Config.Demo.Enabled {
		deps.Capture = demo.New(demo.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit})
	} else if r, err := dns.New(dns.Options{Servers: d.DNSServers, TrustAD: d.TrustDNSSEC}); err != nil {
		a.Log.Warn("no DNS resolver for delivery: every delivery attempt defers", "err", err)
	} else {
		deps.Resolver = r
	}
	a.Keys.Register(store.DemoMessagesTable())
	var err error
	a.Delivery, err = delivery.New(deps, do)
	return err
}

// deliveryName is the EHLO name: delivery.local_name, else the host of
// http.public_url unless that is an address.
func (a *App) deliveryName() string {
	if n := a.Config.Delivery.LocalName; n != "" {
		return n
	}
	if u, err := url.Parse(a.Config.HTTP.PublicURL); err == nil && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil {
		return u.Hostname()
	}
	return "localhost"
}

// mountDemo serves the demo inbox when demo mode is on, and says loudly
// that nothing is being delivered.
func (a *App) mountDemo(mux *http.ServeMux, wa *webauth.Authenticator) {
	if !a.Config.Demo.Enabled {
		return
	}
	a.Log.Warn("DEMO MODE: outbound mail is captured in the demo inbox (/demo/inbox) and never delivered; never run demo mode in production")
	demo.New(demo.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, WebAuth: wa}).Mount(mux)
}

// readCerts reads every certificate of a PEM file.
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE in the file")
	}
	return out, nil
}

// domainSigners adapts the sender domains to delivery's Signers seam.
type domainSigners struct{ s *senderdomain.Service }

func (d domainSigners) Signer(ctx context.Context, orgID, fromDomain string) (delivery.Signer, error) {
	sg, err := d.s.Signer(ctx, orgID, fromDomain)
	if err != nil {
		return nil, err
	}
	return sg, nil
}

// keydirEncrypter hands delivery's e2e recipients to the key directory,
// which is opened after delivery (openKeydir), mapping its "no key" to
// delivery's.
type keydirEncrypter struct{ a *App }

func (k keydirEncrypter) Encrypt(ctx context.Context, orgID, email string, raw []byte) ([]byte, string, error) {
	if k.a.Keydir == nil {
		return nil, "", delivery.ErrNoKey
	}
	out, format, err := k.a.Keydir.Encrypt(ctx, orgID, email, raw)
	if errors.Is(err, keydir.ErrNoKey) {
		return nil, "", fmt.Errorf("%w: %w", delivery.ErrNoKey, err)
	}
	return out, format, err
}

// portalHandoff hands delivery's portal recipients to the portal, which is
// built after delivery (openPortal) and imports nothing of it.
type portalHandoff struct{ a *App }

func (p portalHandoff) Handoff(ctx context.Context, tx *store.Tx, orgID, messageID, recipientID string) error {
	if p.a.Portal == nil {
		return fmt.Errorf("no portal: %w", outbox.ErrPortalDeclined)
	}
	return p.a.Portal.Handoff(ctx, tx, orgID, messageID, recipientID)
}
