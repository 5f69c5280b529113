package connector

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Peer is what the gateway listener knows about a connection.
type Peer struct {
	IP netip.Addr
	// TLS is whether the connection is encrypted (after STARTTLS).
	TLS bool
	// Certs is the client's certificate chain, leaf first; empty when it
	// presented none. The TLS handshake proved the client holds the
	// leaf's key; the chain itself is verified here, per connector.
	Certs []*x509.Certificate
}

// Matches reports whether a connection from p satisfies every source
// criterion of c (TenantID is a property of the message; see Choose). A
// certificate must be valid at now, pinned or not.
func (c Connector) Matches(p Peer, now time.Time) bool {
	if !c.Enabled {
		return false
	}
	if len(c.IPRanges) > 0 && c.longestRange(p.IP) < 0 {
		return false
	}
	if !c.usesCert() {
		return true
	}
	if !p.TLS || len(p.Certs) == 0 {
		return false
	}
	leaf := p.Certs[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return false
	}
	sum := sha256.Sum256(leaf.Raw)
	if slices.Contains(c.CertSHA256, hex.EncodeToString(sum[:])) {
		return true
	}
	return c.verifiedByCA(p.Certs, now)
}

// longestRange is the length of the longest of c's ranges that holds ip,
// or -1.
func (c Connector) longestRange(ip netip.Addr) int {
	ip = ip.Unmap()
	best := -1
	for _, r := range c.IPRanges {
		if r.IsValid() && r.Contains(ip) && r.Bits() > best {
			best = r.Bits()
		}
	}
	return best
}

// verifiedByCA checks the chain against ClientCA and the leaf against
// CertNames.
func (c Connector) verifiedByCA(chain []*x509.Certificate, now time.Time) bool {
	if c.roots == nil {
		return false
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	// QUIRK: any extended key usage. Exchange Online and Google present
	// their server certificates as client certificates, and public CAs
	// are dropping the clientAuth usage from server certificates (Chrome
	// root program, 2026); the names below are what identify the peer.
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return false
	}
	for _, n := range c.CertNames {
		if chain[0].VerifyHostname(n) == nil {
			return true
		}
	}
	return false
}

// Match returns the connectors of cs a connection from p matches.
func Match(cs []Connector, p Peer, now time.Time) []Connector {
	var out []Connector
	for _, c := range cs {
		if c.Matches(p, now) {
			out = append(out, c)
		}
	}
	return out
}

// Errors of Choose.
var (
	// ErrNoConnector: no connector matches (or every match names another
	// Microsoft 365 tenant than the message's).
	ErrNoConnector = errors.New("no gateway connector matches")
	// ErrAmbiguous: connectors of several organizations match and nothing
	// tells them apart.
	ErrAmbiguous = errors.New("gateway connectors of several organizations match")
)

// Choose picks, from the connectors a connection matched, the one a
// message is relayed under. tenantHeader is the message's TenantHeader
// ("" when absent); fromOwner is the organization whose verified sender
// domain the message's From address is in ("" when unknown or none).
//
// A connector with a TenantID is dropped unless the header carries it.
// The rest are ranked by the evidence that matched: the tenant id (stamped
// by Exchange Online), then a client certificate, then the source address
// alone; only the best-evidenced connectors count, so a weaker claim (an
// address range another organization also lists) never overrides or blocks
// a stronger one. If those belong to several organizations, fromOwner
// settles it when it is one of them; otherwise the message is refused
// (ErrAmbiguous). Within one organization the most specific connector
// wins: the longest matching range.
func Choose(matched []Connector, p Peer, tenantHeader, fromOwner string) (Connector, error) {
	tenant := strings.ToLower(strings.TrimSpace(tenantHeader))
	var tier []Connector
	bestTier := -1
	for _, c := range matched {
		if c.TenantID != "" && c.TenantID != tenant {
			continue
		}
		switch t := c.evidence(); {
		case t > bestTier:
			tier, bestTier = []Connector{c}, t
		case t == bestTier:
			tier = append(tier, c)
		}
	}
	if len(tier) == 0 {
		return Connector{}, ErrNoConnector
	}
	if !oneOrg(tier) {
		var owned []Connector
		for _, c := range tier {
			if fromOwner != "" && c.OrgID == fromOwner {
				owned = append(owned, c)
			}
		}
		if len(owned) == 0 {
			return Connector{}, ErrAmbiguous
		}
		tier = owned
	}
	best := tier[0]
	for _, c := range tier[1:] {
		if c.longestRange(p.IP) > best.longestRange(p.IP) {
			best = c
		}
	}
	return best, nil
}

// evidence ranks what identified a matched connector.
func (c Connector) evidence() int {
	switch {
	case c.TenantID != "":
		return 2
	case c.usesCert():
		return 1
	}
	return 0
}

func oneOrg(cs []Connector) bool {
	for _, c := range cs[1:] {
		if c.OrgID != cs[0].OrgID {
			return false
		}
	}
	return true
}
