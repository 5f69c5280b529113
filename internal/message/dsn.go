package message

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DSNAction is the RFC 3464 section 2.3.3 Action of one recipient.
type DSNAction string

// The actions carepost reports.
const (
	ActionFailed    DSNAction = "failed"
	ActionDelayed   DSNAction = "delayed"
	ActionDelivered DSNAction = "delivered"
)

// DSNRecipient is the per-recipient part of a delivery status notification
// (RFC 3464 section 2.3).
type DSNRecipient struct {
	FinalRecipient string    // the address the action concerns
	Action         DSNAction // failed, delayed or delivered
	Status         string    // RFC 3463 enhanced code, "5.1.1"; class must match Action
	RemoteMTA      string    // host name of the server that answered, optional
	// DiagnosticCode is "type; text", for SMTP "smtp; 550 5.1.1 user
	// unknown" (section 2.3.6); optional. It comes from a remote server, so
	// control characters and non-ASCII are replaced and it is cut at 900
	// octets rather than refused.
	DiagnosticCode  string
	LastAttemptDate time.Time // optional
}

// DSNParams describe a delivery status notification.
//
// The notification must be sent with a null reverse path (MAIL FROM:<>),
// RFC 5321 section 4.5.5 and RFC 3464 section 2: that is the caller's
// concern, like choosing From (typically mailer-daemon at the reporting
// host) and To (the original envelope sender).
type DSNParams struct {
	ReportingMTA       string    // our host name, "dns; " type (section 2.2.2)
	OriginalEnvelopeID string    // the ENVID the client gave (RFC 3461), optional
	ArrivalDate        time.Time // when we accepted the message, optional
	Recipients         []DSNRecipient
	// OriginalHeaders is the original message's header section. Only the
	// header is ever included (text/rfc822-headers, RFC 6522 section 4): if
	// a whole message is passed, BuildDSN cuts it at the first blank line,
	// because the body may carry PHI and must not be echoed back. The
	// header itself, Subject included, is the sender's own.
	OriginalHeaders []byte
	From, To        Address
	// Human is the text/plain explanation; default a generic one naming
	// each recipient and its status.
	Human string
	// Date, MessageID and Boundary default as in BuildOptions.
	Date      time.Time
	MessageID string
	Boundary  BoundaryFunc
}

var errDSN = errors.New("invalid delivery status notification")

// BuildDSN renders an RFC 3464 delivery status notification: a
// multipart/report (RFC 6522) with report-type=delivery-status holding the
// human-readable text, the message/delivery-status part and the original
// header as text/rfc822-headers. It carries Auto-Submitted: auto-replied
// (RFC 3834 section 5) so autoresponders do not answer it.
func BuildDSN(p DSNParams) ([]byte, error) {
	from, err := NormalizeAddress(p.From)
	if err != nil {
		return nil, fmt.Errorf("%w: from: %w", errDSN, err)
	}
	to, err := NormalizeAddress(p.To)
	if err != nil {
		return nil, fmt.Errorf("%w: to: %w", errDSN, err)
	}
	status, global, err := deliveryStatus(p)
	if err != nil {
		return nil, err
	}
	date := p.Date
	if date.IsZero() {
		date = time.Now()
	}
	if p.Boundary == nil {
		p.Boundary = RandomBoundary
	}
	msgID, err := messageID(BuildOptions{MessageID: p.MessageID, Hostname: p.ReportingMTA}, from)
	if err != nil {
		return nil, err
	}
	human := p.Human
	if human == "" {
		human = defaultHuman(p)
	} else if hasControlExceptLines(human) {
		return nil, fmt.Errorf("%w: human text contains a control character", errDSN)
	}
	statusType := "message/delivery-status"
	if global {
		statusType = "message/global-delivery-status" // RFC 6533 section 6
	}
	parts := []*part{
		textPart("plain", human),
		{header: []field{{name: "Content-Type", value: statusType}}, body: status},
	}
	if hdr := headerSection(p.OriginalHeaders); len(hdr) > 0 {
		parts = append(parts, &part{header: []field{{name: "Content-Type", value: "text/rfc822-headers"}}, body: hdr})
	}
	root := multipart("report", parts...)
	root.params = map[string]string{"report-type": "delivery-status"} // RFC 6522 section 3: required
	if err := root.assignBoundaries(p.Boundary); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	hdr := []field{
		{name: "From", value: from.String()},
		{name: "To", value: to.String()},
		{name: "Subject", value: EncodeHeaderText(dsnSubject(p.Recipients))},
		{name: "Date", value: date.Format(dateLayout)},
		{name: "Message-ID", value: msgID},
		{name: "MIME-Version", value: "1.0"},
		{name: "Auto-Submitted", value: "auto-replied"},
	}
	for _, f := range append(hdr, root.header...) {
		s, err := foldField(f.name, f.value)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errDSN, f.name, err)
		}
		buf.WriteString(s)
	}
	buf.WriteString("\r\n")
	if err := root.writeBody(&buf); err != nil {
		return nil, err
	}
	buf.WriteString("\r\n")
	return buf.Bytes(), nil
}

func dsnSubject(rs []DSNRecipient) string {
	worst := ActionDelivered
	for _, r := range rs {
		if r.Action == ActionFailed || r.Action == ActionDelayed && worst == ActionDelivered {
			worst = r.Action
		}
	}
	switch worst {
	case ActionFailed:
		return "Delivery Status Notification (Failure)"
	case ActionDelayed:
		return "Delivery Status Notification (Delay)"
	}
	return "Delivery Status Notification (Success)"
}

func defaultHuman(p DSNParams) string {
	var b strings.Builder
	b.WriteString("This is the mail system at " + p.ReportingMTA + ".\n\n")
	switch dsnSubject(p.Recipients) {
	case "Delivery Status Notification (Failure)":
		b.WriteString("Your message could not be delivered to one or more recipients.\n")
	case "Delivery Status Notification (Delay)":
		b.WriteString("Delivery of your message to one or more recipients is delayed; it will be retried.\n")
	default:
		b.WriteString("Your message was delivered.\n")
	}
	b.WriteString("The attached delivery status report has the details.\n\n")
	for _, r := range p.Recipients {
		b.WriteString("<" + r.FinalRecipient + ">: " + string(r.Action) + ", status " + r.Status + "\n")
	}
	return b.String()
}

// headerSection returns the header section of orig (without the blank line
// and anything after it) with CRLF line endings and lines cut at 998 octets.
func headerSection(orig []byte) []byte {
	end := len(orig)
	if h, err := parseRawHeader(orig, 0); err == nil {
		end = h.bodyStart
	} else if i := bytes.Index(orig, []byte("\n\n")); i >= 0 {
		end = i + 1
	} else if i := bytes.Index(orig, []byte("\r\n\r\n")); i >= 0 {
		end = i + 2
	}
	var out []byte
	for _, line := range bytes.Split(orig[:end], []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		line = bytes.ReplaceAll(line, []byte("\r"), []byte(" "))
		if len(line) > maxLineLen {
			line = line[:maxLineLen]
		}
		out = append(append(out, line...), '\r', '\n')
	}
	return bytes.TrimSuffix(out, []byte("\r\n"))
}

func hasControlExceptLines(s string) bool {
	return hasControl(strings.NewReplacer("\r", "", "\n", "", "\t", "").Replace(s))
}
