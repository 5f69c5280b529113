package smtpd

import (
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/smtpd/connector"
)

// gatewaySession is a session on the gateway listener: no AUTH; the
// connection's address and certificate select connectors, the message
// picks one of them.
type gatewaySession struct {
	session
	peer    connector.Peer
	matched []connector.Connector // the connection's source matches these
}

// newGatewaySession matches the connection against every enabled
// connector. go-smtp makes a new session after STARTTLS, so a client
// certificate is seen as soon as there is one.
func newGatewaySession(base session) (smtp.Session, error) {
	g := &gatewaySession{session: base, peer: connector.Peer{IP: base.tc.ip}}
	if st, ok := base.conn.TLSConnectionState(); ok {
		g.peer.TLS, g.peer.Certs = true, st.PeerCertificates
	}
	all, err := base.l.srv.deps.Connectors.Enabled(base.l.srv.ctx)
	if err != nil {
		base.l.srv.deps.Log.Error("smtp gateway: read connectors", "conn", base.tc.id, "err", err)
		return nil, errTempFailure
	}
	g.matched = connector.Match(all, g.peer, base.l.srv.deps.Clock())
	return g, nil
}

// Mail refuses an unknown source (550 5.7.1) and, for connectors that
// require TLS, plaintext (530 5.7.0: the client should STARTTLS, after
// which the session starts again with its certificate).
func (g *gatewaySession) Mail(from string, opts *smtp.MailOptions) error {
	usable := g.usable()
	switch {
	case len(usable) == 0 && !g.peer.TLS:
		return errStartTLSFirst
	case len(usable) == 0:
		g.tc.deny()
		g.l.srv.deps.Log.Info("smtp gateway: relay denied", "conn", g.tc.id, "ip", g.tc.ip.String(), "client_certificate", len(g.peer.Certs) > 0)
		return errRelayDenied
	}
	return g.mail(from, opts)
}

// usable are the matched connectors that accept this connection as it is
// now: over plaintext, only those that do not require TLS.
func (g *gatewaySession) usable() []connector.Connector {
	if g.peer.TLS {
		return g.matched
	}
	var out []connector.Connector
	for _, c := range g.matched {
		if !c.RequireTLS {
			out = append(out, c)
		}
	}
	return out
}

func (g *gatewaySession) Rcpt(to string, _ *smtp.RcptOptions) error { return g.rcpt(to) }

// Data picks the connector the message is relayed under (connector.Choose)
// and submits it for that connector's organization.
func (g *gatewaySession) Data(r io.Reader) error {
	raw, err := g.readData(r)
	if err != nil {
		return err
	}
	parsed, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		g.tc.note(messageRejected)
		return errUnparseable
	}
	c, err := g.choose(parsed)
	if err != nil {
		g.tc.note(messageRejected)
		return err
	}
	proto := "ESMTP"
	if g.peer.TLS {
		proto = "ESMTPS"
	}
	return g.submit(outbox.Submission{
		OrgID: c.OrgID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "gateway:" + c.ID}, Source: outbox.SourceGateway,
		Raw: g.trace(raw, proto), MailFrom: g.env.from, Rcpts: g.env.rcpts, RequireTLS: g.env.requireTLS,
		// The relaying server handed over responsibility for the
		// message (RFC 5321 section 6.1): failures go back as DSNs.
		DSN: true,
	})
}

// choose applies connector.Choose with the message's tenant header and,
// when connectors of several organizations match, the owner of its From
// domain.
func (g *gatewaySession) choose(parsed *message.Parsed) (connector.Connector, error) {
	usable := g.usable()
	tenant := tenantOf(parsed)
	c, err := connector.Choose(usable, g.peer, tenant, "")
	if errors.Is(err, connector.ErrAmbiguous) && len(parsed.From) == 1 {
		owner, oerr := g.l.srv.deps.Connectors.DomainOwner(g.l.srv.ctx, parsed.From[0].Domain())
		if oerr != nil {
			g.l.srv.deps.Log.Error("smtp gateway: sender domain owner", "conn", g.tc.id, "err", oerr)
			return connector.Connector{}, errTempFailure
		}
		c, err = connector.Choose(usable, g.peer, tenant, owner)
	}
	switch {
	case errors.Is(err, connector.ErrAmbiguous):
		return connector.Connector{}, errAmbiguous
	case err != nil:
		return connector.Connector{}, errRelayDenied
	}
	return c, nil
}

// tenantOf returns the one X-MS-Exchange-CrossTenant-Id of the message, or
// "" when there is none or more than one (which Exchange Online never
// sends, so such a message proves no tenant).
func tenantOf(p *message.Parsed) string {
	v, n := "", 0
	for _, f := range p.Header {
		if strings.EqualFold(f.Name, connector.TenantHeader) {
			v, n = f.Value, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return v
}
