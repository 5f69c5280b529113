package dane

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/dns"
)

// Errors of Verify, for errors.Is.
var (
	// ErrNoUsableRecords: none of the records can authenticate an SMTP
	// server (see the package documentation); the host is not
	// DANE-protected.
	ErrNoUsableRecords = errors.New("dane: no usable TLSA records")
	// ErrNoMatch: usable records exist and the server's chain satisfies
	// none of them. The connection is not authenticated.
	ErrNoMatch = errors.New("dane: certificate matches no TLSA record")
	// ErrNoCertificate: the server presented no certificate.
	ErrNoCertificate = errors.New("dane: server presented no certificate")
)

// Result says how a chain was authenticated, for the delivery receipt.
type Result struct {
	// Record is the TLSA record that matched.
	Record dns.TLSA
	// Depth is the position in the server's chain of the certificate the
	// record matched: 0 for the server's own (DANE-EE, or DANE-TA naming
	// it), 1 and up for an issuer, -1 for a DANE-TA record carrying a full
	// certificate the server did not send.
	Depth int
}

// Usable returns the records that can authenticate an SMTP server: usage
// DANE-TA or DANE-EE, a known selector, a known matching type, and data of
// the right length (RFC 7672 sections 2.3 and 3.1).
func Usable(records []dns.TLSA) []dns.TLSA {
	var out []dns.TLSA
	for _, r := range records {
		if usable(r) {
			out = append(out, r)
		}
	}
	return out
}

func usable(r dns.TLSA) bool {
	if r.Usage != dns.TLSAUsageDANETA && r.Usage != dns.TLSAUsageDANEEE {
		return false // RFC 7672 section 3.1.3: PKIX usages are unusable for SMTP
	}
	if r.Selector != dns.TLSASelectorCert && r.Selector != dns.TLSASelectorSPKI {
		return false
	}
	switch r.MatchingType {
	case dns.TLSAMatchFull:
		return len(r.Data) > 0
	case dns.TLSAMatchSHA256:
		return len(r.Data) == sha256.Size
	case dns.TLSAMatchSHA512:
		return len(r.Data) == sha512.Size
	}
	return false
}

// Verify checks the certificate chain a server presented (its own
// certificate first, as in tls.ConnectionState.PeerCertificates) against
// the TLSA records of its host. names are the reference identifiers
// DANE-TA checks the server certificate for: the TLSA base domain first,
// then the MX host name before CNAME expansion if it differs (RFC 7672
// section 3.2.2). now is the time DANE-TA validity is checked at; DANE-EE
// checks no time (section 3.1.1).
//
// The first usable record, in the order given, that the chain satisfies
// is returned. Records that are not usable are skipped; with none usable
// the error is ErrNoUsableRecords. With no match it is ErrNoMatch, joined
// with the reasons a matched trust anchor still failed, as *VerifyError.
func Verify(records []dns.TLSA, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	if len(chain) == 0 {
		return Result{}, ErrNoCertificate
	}
	recs := Usable(records)
	if len(recs) == 0 {
		return Result{}, ErrNoUsableRecords
	}
	var failures []error
	for _, r := range recs {
		switch r.Usage {
		case dns.TLSAUsageDANEEE:
			// Section 3.1.1: the server's own certificate or key, nothing more.
			if matches(r, chain[0]) {
				return Result{Record: r, Depth: 0}, nil
			}
		case dns.TLSAUsageDANETA:
			res, ok, err := verifyTA(r, chain, names, now)
			if ok {
				return res, nil
			}
			if err != nil {
				failures = append(failures, err)
			}
		}
	}
	return Result{}, errors.Join(append([]error{ErrNoMatch}, failures...)...)
}

// matches compares a certificate with a record (RFC 6698 section 2.1.2
// and 2.1.3).
func matches(r dns.TLSA, cert *x509.Certificate) bool {
	var content []byte
	switch r.Selector {
	case dns.TLSASelectorCert:
		content = cert.Raw
	case dns.TLSASelectorSPKI:
		content = cert.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch r.MatchingType {
	case dns.TLSAMatchFull:
		return bytes.Equal(content, r.Data)
	case dns.TLSAMatchSHA256:
		d := sha256.Sum256(content)
		return bytes.Equal(d[:], r.Data)
	case dns.TLSAMatchSHA512:
		d := sha512.Sum512(content)
		return bytes.Equal(d[:], r.Data)
	}
	return false
}

// VerifyError is a DANE-TA record whose trust anchor matched but whose
// chain did not verify. Its message gives the reason, never certificate
// contents; the x509 error is reachable with errors.As.
type VerifyError struct {
	Record dns.TLSA
	Reason string
	Err    error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("dane: %s %s %s trust anchor matched, but %s",
		e.Record.Usage, e.Record.Selector, e.Record.MatchingType, e.Reason)
}

func (e *VerifyError) Unwrap() error { return e.Err }
