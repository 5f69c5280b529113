package dane

import (
	"crypto/tls"
	"time"

	"github.com/carepost/carepost/internal/dns"
)

// VerifyConnection returns a tls.Config.VerifyConnection callback that
// accepts a handshake only when the server's chain satisfies one of
// records (see Verify for names and the rules). now (nil: time.Now) is read
// at each handshake. matched, when not nil, receives the result of a
// successful verification, for the delivery receipt. With no usable
// records every handshake fails (ErrNoUsableRecords): callers decide with
// Usable beforehand whether the host is DANE-authenticated at all.
func VerifyConnection(records []dns.TLSA, names []string, now func() time.Time, matched func(Result)) func(tls.ConnectionState) error {
	if now == nil {
		now = time.Now
	}
	return func(cs tls.ConnectionState) error {
		res, err := Verify(records, cs.PeerCertificates, names, now())
		if err != nil {
			return err
		}
		if matched != nil {
			matched(res)
		}
		return nil
	}
}

// ClientConfig returns a TLS client configuration for a server whose TLSA
// records are known: TLS 1.2 or later, SNI set to the TLSA base domain
// names[0] (RFC 7672 section 8.1), and certificate checking done by DANE.
// Callers may Clone it and add what they need (client certificates,
// session caches).
//
// InsecureSkipVerify is set, and on purpose: it turns off crypto/tls's web
// PKI verification, which DANE replaces for SMTP. A DANE-EE server is
// entitled to a self-signed or expired certificate for any name (RFC 7672
// section 3.1.1), and a DANE-TA server chains to the anchor in DNS, not to
// a system root (section 3.1.2), so PKIX verification would refuse
// servers DANE authenticates. The VerifyConnection callback runs on every
// handshake, resumed ones included, and fails it unless Verify succeeds.
// crypto/tls still checks the handshake signature against the server's
// certificate key, so a server proves it holds the key the records name.
func ClientConfig(records []dns.TLSA, names []string, now func() time.Time, matched func(Result)) *tls.Config {
	var serverName string
	if len(names) > 0 {
		serverName = names[0]
	}
	return &tls.Config{
		ServerName:         serverName,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection; see above
		VerifyConnection:   VerifyConnection(records, names, now, matched),
	}
}
