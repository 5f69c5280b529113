package dane

import (
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/dns"
)

// verifyTA tries a DANE-TA record (RFC 7672 section 3.1.2): find the
// certificate it names — in the chain, or the record's own data when it is
// a full certificate — and verify the server certificate up to it, for
// one of names, at now. ok reports success; otherwise err is the first
// failure of a matched anchor, nil when no anchor matched.
func verifyTA(r dns.TLSA, chain []*x509.Certificate, names []string, now time.Time) (res Result, ok bool, err error) {
	var firstErr error
	for i, cert := range chain {
		if !matches(r, cert) {
			continue
		}
		if err := verifyChain(r, chain, cert, names, now); err != nil {
			firstErr = cmpFirst(firstErr, err)
			continue
		}
		return Result{Record: r, Depth: i}, true, nil
	}
	// Section 3.1.2 has servers send the anchor in their chain, but a
	// record carrying the full certificate makes the anchor known anyway
	// (RFC 7671 discusses this case for full-certificate records).
	if r.Selector == dns.TLSASelectorCert && r.MatchingType == dns.TLSAMatchFull {
		if ta, perr := x509.ParseCertificate(r.Data); perr == nil {
			if err := verifyChain(r, chain, ta, names, now); err != nil {
				firstErr = cmpFirst(firstErr, err)
			} else {
				return Result{Record: r, Depth: -1}, true, nil
			}
		}
	}
	return Result{}, false, firstErr
}

func cmpFirst(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// verifyChain verifies chain[0] up to the anchor ta for one of names.
// The anchor replaces the system roots; the rest of the chain serves as
// intermediates. Validity periods are checked at now, the anchor's too.
// Extended key usage is not required: RFC 7672 asks for none.
func verifyChain(r dns.TLSA, chain []*x509.Certificate, ta *x509.Certificate, names []string, now time.Time) error {
	if len(names) == 0 {
		return &VerifyError{Record: r, Reason: "no reference identifier to check the name against"}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ta)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	var errs []error
	for _, name := range names {
		opts.DNSName = name
		if _, err := chain[0].Verify(opts); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return &VerifyError{Record: r, Reason: reason(errs, names), Err: errors.Join(errs...)}
}

// reason summarises x509 failures without certificate contents.
func reason(errs []error, names []string) string {
	var (
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	for _, err := range errs {
		if errors.As(err, &invalid) && (invalid.Reason == x509.Expired) {
			return "a certificate in the chain is expired or not yet valid"
		}
	}
	for _, err := range errs {
		if !errors.As(err, &host) {
			return "the chain does not verify up to the anchor"
		}
	}
	return "the certificate is not valid for " + strings.Join(names, " or ")
}
