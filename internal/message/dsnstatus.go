package message

import (
	"fmt"
	"strings"
)

const maxDiagnostic = 900

// deliveryStatus renders the message/delivery-status body (RFC 3464 section
// 2.1): the per-message fields, then one block per recipient, separated by
// blank lines. global is true when an address needs UTF-8 (RFC 6533).
func deliveryStatus(p DSNParams) (body []byte, global bool, err error) {
	mta, err := normalizeDomain(p.ReportingMTA)
	if err != nil {
		return nil, false, fmt.Errorf("%w: reporting mta: %w", errDSN, err)
	}
	if len(p.Recipients) == 0 {
		return nil, false, fmt.Errorf("%w: no recipients", errDSN)
	}
	var lines []field
	// Section 2.2.2: Reporting-MTA is required.
	lines = append(lines, field{name: "Reporting-MTA", value: "dns; " + mta})
	if id := p.OriginalEnvelopeID; id != "" {
		// Section 2.2.1, RFC 3461 section 4.4: at most 100 characters.
		if len(id) > 100 || !printableNoSpace(id) {
			return nil, false, fmt.Errorf("%w: original envelope id must be 1..100 printable ASCII characters", errDSN)
		}
		lines = append(lines, field{name: "Original-Envelope-Id", value: id})
	}
	if !p.ArrivalDate.IsZero() {
		lines = append(lines, field{name: "Arrival-Date", value: p.ArrivalDate.Format(dateLayout)})
	}
	var b strings.Builder
	writeFields(&b, lines)
	for i, r := range p.Recipients {
		fs, utf8Addr, err := recipientFields(r)
		if err != nil {
			return nil, false, fmt.Errorf("%w: recipient %d: %w", errDSN, i, err)
		}
		global = global || utf8Addr
		b.WriteString("\r\n")
		writeFields(&b, fs)
	}
	return []byte(strings.TrimSuffix(b.String(), "\r\n")), global, nil
}

// recipientFields renders the section 2.3 fields of one recipient.
func recipientFields(r DSNRecipient) ([]field, bool, error) {
	a, err := NormalizeAddress(Address{Email: r.FinalRecipient})
	if err != nil {
		return nil, false, fmt.Errorf("final recipient: %w", err)
	}
	// Section 2.3.2: address-type "rfc822"; RFC 6533 section 3 adds "utf-8"
	// for internationalized addresses.
	addrType := "rfc822"
	if a.NeedsSMTPUTF8() {
		addrType = "utf-8"
	}
	class, err := statusClass(r.Status)
	if err != nil {
		return nil, false, err
	}
	// Section 2.3.4: the status class agrees with the action.
	want := map[DSNAction]byte{ActionFailed: '5', ActionDelayed: '4', ActionDelivered: '2'}
	if c, ok := want[r.Action]; !ok {
		return nil, false, fmt.Errorf("action must be failed, delayed or delivered")
	} else if c != class {
		return nil, false, fmt.Errorf("status class does not match action (RFC 3464 section 2.3.4)")
	}
	fs := []field{
		{name: "Final-Recipient", value: addrType + "; " + a.Email},
		{name: "Action", value: string(r.Action)},
		{name: "Status", value: r.Status},
	}
	if r.RemoteMTA != "" {
		if !printableNoSpace(r.RemoteMTA) || len(r.RemoteMTA) > 255 {
			return nil, false, fmt.Errorf("remote mta must be a host name")
		}
		fs = append(fs, field{name: "Remote-MTA", value: "dns; " + r.RemoteMTA})
	}
	if r.DiagnosticCode != "" {
		fs = append(fs, field{name: "Diagnostic-Code", value: diagnostic(r.DiagnosticCode)})
	}
	if !r.LastAttemptDate.IsZero() {
		fs = append(fs, field{name: "Last-Attempt-Date", value: r.LastAttemptDate.Format(dateLayout)})
	}
	return fs, a.NeedsSMTPUTF8(), nil
}

// statusClass checks RFC 3463 section 2 "class.subject.detail" (class 2, 4
// or 5, subject and detail 1..3 digits) and returns the class.
func statusClass(s string) (byte, error) {
	parts := strings.Split(s, ".")
	bad := fmt.Errorf("status must be an RFC 3463 code such as 5.1.1")
	if len(parts) != 3 || len(parts[0]) != 1 || strings.IndexByte("245", parts[0][0]) < 0 {
		return 0, bad
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || !allDigits(p) {
			return 0, bad
		}
	}
	return parts[0][0], nil
}

// diagnostic sanitizes a remote server's reply for the Diagnostic-Code
// field: control characters and non-ASCII become "?", the length is capped,
// and a missing diagnostic-type gets "smtp; " (section 2.3.6).
func diagnostic(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxDiagnostic; i++ {
		c := s[i]
		if c < ' ' || c > '~' {
			c = '?'
		}
		b.WriteByte(c)
	}
	out := strings.TrimSpace(b.String())
	if t, _, ok := strings.Cut(out, ";"); !ok || strings.ContainsAny(t, " ") {
		out = "smtp; " + out
	}
	return out
}

func writeFields(b *strings.Builder, fs []field) {
	for _, f := range fs {
		s, err := foldField(f.name, f.value)
		if err != nil {
			// Every value above is bounded well under 998 octets.
			s = f.name + ": " + f.value[:min(len(f.value), maxLineLen-len(f.name)-2)] + "\r\n"
		}
		b.WriteString(s)
	}
}

func printableNoSpace(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
