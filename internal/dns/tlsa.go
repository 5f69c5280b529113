package dns

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	mdns "github.com/miekg/dns"
)

// TLSA is a TLSA record (RFC 6698 section 2.1): which certificate or key a
// TLS server must present.
type TLSA struct {
	Usage        TLSAUsage
	Selector     TLSASelector
	MatchingType TLSAMatchingType
	// Data is the certificate association data: the certificate or
	// SubjectPublicKeyInfo itself, or its digest.
	Data []byte
}

// String renders the record in presentation form, "3 1 1 <hex>", for logs
// and delivery receipts; TLSA data is public and carries no PHI.
func (t TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, hex.EncodeToString(t.Data))
}

// TLSAUsage is the certificate usage field, named as in RFC 7218 section 2.1.
type TLSAUsage uint8

// Certificate usages (RFC 6698 section 2.1.1, RFC 7218 section 2.1).
const (
	TLSAUsagePKIXTA TLSAUsage = 0 // CA constraint, also PKIX-validated
	TLSAUsagePKIXEE TLSAUsage = 1 // service certificate constraint, also PKIX-validated
	TLSAUsageDANETA TLSAUsage = 2 // trust anchor assertion
	TLSAUsageDANEEE TLSAUsage = 3 // domain-issued certificate
)

func (u TLSAUsage) String() string {
	switch u {
	case TLSAUsagePKIXTA:
		return "PKIX-TA"
	case TLSAUsagePKIXEE:
		return "PKIX-EE"
	case TLSAUsageDANETA:
		return "DANE-TA"
	case TLSAUsageDANEEE:
		return "DANE-EE"
	}
	return "usage-" + strconv.Itoa(int(u))
}

// TLSASelector says which part of a certificate is matched (RFC 6698
// section 2.1.2, RFC 7218 section 2.2).
type TLSASelector uint8

// Selectors.
const (
	TLSASelectorCert TLSASelector = 0 // the full DER certificate
	TLSASelectorSPKI TLSASelector = 1 // the DER SubjectPublicKeyInfo
)

func (s TLSASelector) String() string {
	switch s {
	case TLSASelectorCert:
		return "Cert"
	case TLSASelectorSPKI:
		return "SPKI"
	}
	return "selector-" + strconv.Itoa(int(s))
}

// TLSAMatchingType says how Data is compared (RFC 6698 section 2.1.3,
// RFC 7218 section 2.3).
type TLSAMatchingType uint8

// Matching types.
const (
	TLSAMatchFull   TLSAMatchingType = 0 // Data is the selected content itself
	TLSAMatchSHA256 TLSAMatchingType = 1 // Data is its SHA-256 digest
	TLSAMatchSHA512 TLSAMatchingType = 2 // Data is its SHA-512 digest
)

func (m TLSAMatchingType) String() string {
	switch m {
	case TLSAMatchFull:
		return "Full"
	case TLSAMatchSHA256:
		return "SHA2-256"
	case TLSAMatchSHA512:
		return "SHA2-512"
	}
	return "matching-" + strconv.Itoa(int(m))
}

// TLSAName is the owner name of the TLSA records of a service:
// "_25._tcp.mx.example.com" (RFC 6698 section 3).
func TLSAName(port int, proto, host string) string {
	return "_" + strconv.Itoa(port) + "._" + proto + "." + host
}

// LookupTLSA returns the TLSA records of the service at port/proto on host,
// following CNAMEs (RFC 7671 lets TLSA owner names be aliases). Records
// may only be used when Result.Authentic holds (RFC 7672 section 2.3);
// ErrTemporary must defer delivery to the host rather than skip DANE
// (section 2.1.1).
func (r *Resolver) LookupTLSA(ctx context.Context, port int, proto, host string) ([]TLSA, Result, error) {
	rrs, res, err := r.query(ctx, TLSAName(port, proto, host), mdns.TypeTLSA)
	if err != nil {
		return nil, res, err
	}
	out := make([]TLSA, 0, len(rrs))
	for _, rr := range rrs {
		t, ok := rr.(*mdns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue // miekg/dns stores the wire bytes as hex; cannot happen
		}
		out = append(out, TLSA{
			Usage:        TLSAUsage(t.Usage),
			Selector:     TLSASelector(t.Selector),
			MatchingType: TLSAMatchingType(t.MatchingType),
			Data:         data,
		})
	}
	return out, res, nil
}
