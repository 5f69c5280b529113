package delivery

import (
	"crypto/tls"
	"encoding/json"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
)

// Receipt is a recipient's security receipt: how the last attempt
// travelled and what authorized it. It is stored with the recipient
// (recipients.receipt), shown by GET /api/v1/messages/{id}, and kept as the
// record of the disclosure for the HIPAA accounting of disclosures
// (164.528). It holds names, codes and fingerprints of the remote server,
// never the server's free text, an address or content.
type Receipt struct {
	At time.Time `json:"at"`
	// Level is the minimum transport level policy required, and Rule the
	// rule that set it.
	Level string `json:"level"`
	Rule  string `json:"rule,omitempty"`
	// Method is the method of the recipient's fallback chain this attempt
	// used: "opportunistic", "verified-tls", "e2e" or "portal"; empty when
	// none could be used (held, dropped).
	Method string `json:"method,omitempty"`
	// E2E is the end-to-end format of an e2e attempt: "pgp" (PGP/MIME,
	// RFC 3156) or "smime" (S/MIME, RFC 8551).
	E2E string `json:"e2e,omitempty"`
	// Skipped are the methods before Method that were unavailable, with
	// why, in the order the chain lists them.
	Skipped []Skip `json:"skipped,omitempty"`
	// AuthorizedBy is what authorized the MX host for verified TLS:
	// "mta-sts", "dane", "pin"; "none" for opportunistic delivery (and
	// for e2e content to a domain that publishes no way to verify); "demo"
	// for a demo-mode capture; "portal" when no MX host was involved.
	AuthorizedBy string `json:"authorized_by"`
	MX           string `json:"mx,omitempty"`
	IP           string `json:"ip,omitempty"`
	// TLS is the negotiated version ("TLS 1.3") or "none".
	TLS        string `json:"tls"`
	Cipher     string `json:"cipher,omitempty"`
	CertSHA256 string `json:"cert_sha256,omitempty"`
	// Verified is true only when the session met verified TLS: TLS 1.2+
	// and the peer verified as Verification says.
	Verified bool `json:"verified"`
	// Verification is how the peer was judged: "pkix", "dane-ee",
	// "dane-ta", "pin", or "none".
	Verification string `json:"verification"`
	VerifyError  string `json:"verify_error,omitempty"`
	// MTASTS is the policy applied, when the domain has one.
	MTASTS *STSReceipt `json:"mta_sts,omitempty"`
	// DANERecord is the TLSA record that matched ("3 1 1 <hex>").
	DANERecord string `json:"dane_record,omitempty"`
	// Code and Enhanced are the server's reply (RFC 5321, RFC 3463).
	Code     int    `json:"code,omitempty"`
	Enhanced string `json:"enhanced,omitempty"`
}

// Skip is one method of the fallback chain that could not be used.
type Skip struct {
	Method string `json:"method"`
	Reason string `json:"reason"`
}

// STSReceipt is the MTA-STS policy in force for a delivery.
type STSReceipt struct {
	Mode   string `json:"mode"`
	ID     string `json:"id,omitempty"`
	Source string `json:"source,omitempty"`
}

// JSON encodes the receipt for storage.
func (r *Receipt) JSON() string {
	if r == nil {
		return ""
	}
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	return string(b)
}

// fillTLS copies a session's transport security into the receipt.
func (r *Receipt) fillTLS(rep smtpclient.TLSReport, verification string) {
	r.TLS = rep.VersionName()
	if rep.Version != 0 {
		r.Cipher = tls.CipherSuiteName(rep.CipherSuite)
	}
	r.CertSHA256 = rep.PeerCertSHA256
	r.Verified = rep.Verified
	r.VerifyError = rep.VerifyError
	r.Verification = "none"
	if rep.Verified {
		r.Verification = verification
	}
}
