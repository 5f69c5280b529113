package smtpd

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
)

// backend makes the session for each EHLO (and again after STARTTLS).
type backend struct{ l *listener }

var _ smtp.Backend = backend{}

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	tc := connOf(c)
	if tc == nil {
		return nil, errTempFailure
	}
	base := session{l: b.l, conn: c, tc: tc}
	if b.l.Kind == Gateway {
		return newGatewaySession(base)
	}
	return &submission{session: base}, nil
}

// session is what the two kinds of session share: the envelope of the
// message in progress and the steps from MAIL to the outbox.
type session struct {
	l    *listener
	conn *smtp.Conn
	tc   *trackedConn
	env  envelope
}

type envelope struct {
	from       string
	utf8       bool
	requireTLS bool
	rcpts      []string
}

func (s *session) Reset()        { s.env = envelope{} }
func (s *session) Logout() error { return nil }

func (s *session) tls() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

// mail checks MAIL FROM and starts the envelope. go-smtp has already
// parsed the path, checked SIZE against the limit and read the parameters.
func (s *session) mail(from string, opts *smtp.MailOptions) error {
	if from == "" {
		return errNullSender
	}
	if !opts.UTF8 && !isASCII(from) {
		return errNeedUTF8
	}
	a, err := message.ParseAddress(from)
	if err != nil {
		return errBadSender
	}
	if opts.RequireTLS && !s.tls() {
		return errRequireTLS
	}
	s.env = envelope{from: a.Email, utf8: opts.UTF8, requireTLS: opts.RequireTLS}
	return nil
}

func (s *session) rcpt(to string) error {
	if s.env.from == "" {
		return errNoMail
	}
	if !s.env.utf8 && !isASCII(to) {
		return errNeedUTF8
	}
	a, err := message.ParseAddress(to)
	if err != nil {
		return errBadRecipient
	}
	s.env.rcpts = append(s.env.rcpts, a.Email)
	return nil
}

// readData reads the whole message (go-smtp stops at the SIZE limit with
// 552) and refuses bare line ends: see the package documentation on
// smuggling. The reply is counted on the connection.
func (s *session) readData(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		rep, permanent := dataReply(err)
		s.tc.note(outcome(permanent))
		return nil, rep
	}
	if hasBareLineEnd(raw) {
		s.tc.note(messageRejected)
		return nil, errBareLineEnd
	}
	return raw, nil
}

// submit hands the message to the outbox and answers 250 only once it is
// committed.
func (s *session) submit(sub outbox.Submission) error {
	ctx := audit.WithRequest(s.l.srv.ctx, audit.Request{ClientIP: s.tc.ip.String(), UserAgent: "smtp " + s.l.name, RequestID: s.tc.id})
	res, err := s.l.srv.deps.Outbox.Submit(ctx, sub)
	if err != nil {
		rep, permanent := submitReply(err)
		if !permanent {
			s.l.srv.deps.Log.Error("smtp submission failed", "listener", s.l.name, "conn", s.tc.id, "org", sub.OrgID, "err", err)
		}
		s.tc.note(outcome(permanent))
		return rep
	}
	s.tc.note(messageAccepted)
	return accepted(res.MessageID)
}

func outcome(permanent bool) string {
	if permanent {
		return messageRejected
	}
	return messageDeferred
}

// trace prepends the Received field RFC 5321 section 4.4 requires. It
// names the client by its EHLO name only: the client's address is in the
// audit log, and a staff workstation's address has no business in a
// patient's inbox. The protocol is per RFC 3848 (ESMTPS, ESMTPSA).
func (s *session) trace(raw []byte, protocol string) []byte {
	h := "Received: from " + cleanHelo(s.conn.Hostname()) + " by " + cleanHelo(s.l.Hostname) +
		" with " + protocol + " id " + s.tc.id + ";\r\n\t" + s.l.srv.deps.Clock().Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n"
	return append([]byte(h), raw...)
}

// cleanHelo keeps a client-supplied name to host-name characters, so it
// cannot break the header it is written into.
func cleanHelo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// hasBareLineEnd reports a CR not followed by LF or an LF not preceded by
// CR (RFC 5321 section 2.3.8, RFC 5322 section 2.3).
func hasBareLineEnd(b []byte) bool {
	for i := bytes.IndexAny(b, "\r\n"); i >= 0; {
		if b[i] == '\n' || i+1 == len(b) || b[i+1] != '\n' {
			return true
		}
		next := bytes.IndexAny(b[i+2:], "\r\n")
		if next < 0 {
			return false
		}
		i += 2 + next
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
