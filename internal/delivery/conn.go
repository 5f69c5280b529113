package delivery

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"strconv"

	"github.com/carepost/carepost/internal/dane"
	"github.com/carepost/carepost/internal/smtpclient"
)

// connKey names a reusable connection: one host, one address, one way of
// judging its certificate. A connection opened for opportunistic mail is
// never used for verified-tls mail, nor one verified against a DANE
// record set for a host whose records have changed since.
type connKey struct{ host, addr, mode string }

// pooled is an open session and what its receipt needs.
type pooled struct {
	conn         *smtpclient.Conn
	ip           string
	verification string // how the peer is judged when verified
	dane         *dane.Result
	reused       bool
}

// mode names how a connection for az (nil: opportunistic) is verified.
func mode(az *authz) string {
	if az == nil {
		return "opportunistic"
	}
	if az.connMode == "" {
		az.connMode = verifyMode(az)
	}
	return az.connMode
}

// verifyMode names how a verified-tls authorization judges a certificate:
// the DANE record set, the pinned leaf, or PKIX.
func verifyMode(az *authz) string {
	switch {
	case az.by == byDANE:
		h := sha256.New()
		for _, r := range az.tlsa {
			h.Write([]byte(r.String()))
			h.Write([]byte{0})
		}
		return "dane:" + hex.EncodeToString(h.Sum(nil))
	case az.by == byPin && az.pin != "":
		return "pin:" + az.pin
	}
	return "pkix"
}

// connect returns a pooled session to host at ip for az, dialling when
// there is none. Under verified TLS smtpclient.Dial returns only after
// STARTTLS, TLS 1.2+ and verification succeeded (RequireVerified, the
// zero TLSPolicy): a failure there has sent nothing.
func (b *batch) connect(ctx context.Context, h *mxHost, ip string, az *authz) (*pooled, connKey, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(b.s.opts.MXPort))
	key := connKey{host: h.name, addr: addr, mode: mode(az)}
	if p := b.pool[key]; p != nil {
		p.reused = true
		return p, key, nil
	}
	p := &pooled{ip: ip, verification: "pkix"}
	o := smtpclient.DialOptions{Host: h.name, Addr: addr, LocalName: b.s.opts.LocalName, Timeouts: b.s.opts.Timeouts,
		RootCAs: b.s.roots, TLS: smtpclient.RequireVerified, NoChunking: b.s.opts.NoChunking}
	switch {
	case az == nil:
		o.TLS = smtpclient.Opportunistic
	case az.by == byDANE:
		// RFC 7672 section 3: DANE-EE and DANE-TA replace PKIX; the hook
		// is the only judge. The reference identifier is the MX host name.
		o.VerifyConnection = dane.VerifyConnection(az.tlsa, []string{h.name}, nil, func(r dane.Result) { p.dane = &r })
	case az.by == byPin && az.pin != "":
		o.VerifyConnection = pinVerifier(h.name, az.pin, b.s.roots)
		p.verification = "pin"
	}
	c, err := smtpclient.Dial(ctx, o)
	if err != nil {
		b.s.metrics.connection(err)
		return nil, key, err
	}
	b.s.metrics.connection(nil)
	p.conn = c
	if p.dane != nil {
		p.verification = "dane-ee"
		if p.dane.Record.Usage == 2 {
			p.verification = "dane-ta"
		}
	}
	b.pool[key] = p
	return p, key, nil
}

// drop closes and forgets a connection that failed.
func (b *batch) drop(key connKey) {
	if p := b.pool[key]; p != nil {
		_ = p.conn.Close()
		delete(b.pool, key)
	}
}

// pinVerifier checks a partner's certificate: valid for host under the web
// PKI (system roots, then the extra ones) and exactly the pinned leaf.
func pinVerifier(host, sha string, extra *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no peer certificate")
		}
		opts := x509.VerifyOptions{DNSName: host, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		leaf := cs.PeerCertificates[0]
		if _, err := leaf.Verify(opts); err != nil {
			if extra == nil {
				return err
			}
			opts.Roots = extra
			if _, err := leaf.Verify(opts); err != nil {
				return err
			}
		}
		sum := sha256.Sum256(leaf.Raw)
		if hex.EncodeToString(sum[:]) != sha {
			return errors.New("the certificate is not the one pinned for this partner")
		}
		return nil
	}
}
