// Package connector is the gateway's trust configuration: the connectors an
// organization sets up so that its Microsoft 365, Google Workspace or
// on-premises mail servers may relay outbound mail through carepost without
// SMTP AUTH.
//
// A connector identifies its servers by the source address of the
// connection (IPRanges), by the client certificate presented in the TLS
// handshake (pinned by SHA-256 fingerprint, or issued by ClientCA for one of
// CertNames), or by both; every criterion that is set must hold. TenantID
// adds a check of the message itself for Microsoft 365, whose servers and
// certificate are shared by every tenant: Exchange Online stamps the sending
// tenant's id in X-MS-Exchange-CrossTenant-Id, which a sender cannot set.
//
// Validation refuses connectors that would trust too much: one with no
// source criterion at all, source ranges wider than /8 (IPv4) or /32
// (IPv6), a CA without the names its certificates must carry, a PEM bundle
// holding anything but CA certificates (a pasted private key is refused,
// not stored), and plaintext for certificate-identified connectors.
//
// Choose picks, from the connectors a connection matched, the one a
// message is relayed under, by the strongest evidence: a matching tenant
// id, then a client certificate, then the source address. When the
// best-evidenced connectors belong to several organizations (two
// organizations on one carepost both using Google's shared ranges), the
// organization whose verified sender domain the From address is in is
// chosen; with none, the message is refused rather than guessed, since a
// guess would let one organization send as another. The outbox then checks
// the From domain against the chosen organization's verified domains, so a
// connector of one organization can never send for another's domain.
package connector

import (
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// TenantHeader is the header Exchange Online stamps with the sending
// tenant's id on outbound mail.
const TenantHeader = "X-MS-Exchange-CrossTenant-Id"

// Connector is a validated gateway connector.
type Connector struct {
	ID    string
	OrgID string
	Name  string
	// IPRanges are the source ranges connections may come from; empty
	// means any address (then a certificate criterion is set).
	IPRanges []netip.Prefix
	// CertSHA256 pins client certificates by the SHA-256 of their DER, in
	// lower-case hex.
	CertSHA256 []string
	// ClientCA is a PEM bundle of CA certificates; a client certificate
	// chaining to one of them and valid for one of CertNames matches.
	ClientCA  string
	CertNames []string
	// TenantID is the Microsoft 365 tenant whose mail this is; the
	// message's TenantHeader must carry it. Empty: not checked.
	TenantID string
	// RequireTLS refuses MAIL before STARTTLS. Always true when a
	// certificate identifies the connector.
	RequireTLS bool
	Enabled    bool
	CreatedAt  time.Time
	UpdatedAt  time.Time

	roots *x509.CertPool // ClientCA parsed; nil when empty
}

// usesCert reports whether a certificate criterion is set.
func (c Connector) usesCert() bool { return len(c.CertSHA256) > 0 || c.ClientCA != "" }

// fromRow turns a stored row back into a Connector. Rows were validated
// when written, so a row that no longer parses (a CA bundle edited in the
// database) loses the criterion that fails and with it every match that
// needed it: a broken row never widens trust.
func fromRow(r store.GatewayConnectorRow) Connector {
	c := Connector{ID: r.ID, OrgID: r.OrgID, Name: r.Name, ClientCA: r.ClientCA, TenantID: r.TenantID,
		CertSHA256: strings.Fields(r.CertSHA256), CertNames: strings.Fields(r.CertNames),
		RequireTLS: r.RequireTLS || r.CertSHA256 != "" || r.ClientCA != "", Enabled: r.Enabled,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for _, f := range strings.Fields(r.IPRanges) {
		if p, err := netip.ParsePrefix(f); err == nil {
			c.IPRanges = append(c.IPRanges, p)
		} else {
			c.IPRanges = append(c.IPRanges, netip.Prefix{}) // matches nothing
		}
	}
	if r.ClientCA != "" {
		c.roots, _ = parseCABundle(r.ClientCA) // nil pool: nothing verifies
		if c.roots == nil {
			c.roots = x509.NewCertPool()
		}
	}
	return c
}

func (c Connector) row() store.GatewayConnectorRow {
	ranges := make([]string, len(c.IPRanges))
	for i, p := range c.IPRanges {
		ranges[i] = p.String()
	}
	return store.GatewayConnectorRow{ID: c.ID, OrgID: c.OrgID, Name: c.Name, IPRanges: strings.Join(ranges, " "),
		CertSHA256: strings.Join(c.CertSHA256, " "), ClientCA: c.ClientCA, CertNames: strings.Join(c.CertNames, " "),
		TenantID: c.TenantID, RequireTLS: c.RequireTLS, Enabled: c.Enabled, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// parseCABundle parses a PEM bundle that must hold only CA certificates.
// The error says which rule failed, never the content.
func parseCABundle(bundle string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(bundle)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			if strings.Contains(b.Type, "PRIVATE KEY") {
				return nil, errCAPrivateKey
			}
			return nil, errCABlock
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, errCAParse
		}
		if !cert.IsCA {
			return nil, errCANotCA
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, errCAParse
	}
	return pool, nil
}
