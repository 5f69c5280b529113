package smtpd

import (
	"errors"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/carepost/carepost/internal/message"
)

// reply builds a typed SMTP error: a code, an enhanced code (RFC 3463) and
// a fixed text for the peer.
func reply(code int, class, subject, detail int, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, subject, detail}, Message: text}
}

// The replies this package sends. Texts are generic: they say what the
// client can do, never why the server failed.
var (
	errTempFailure   = reply(451, 4, 3, 0, "Temporary server error, try again later")
	errAuthRequired  = reply(530, 5, 7, 0, "Authentication required") // RFC 4954 section 6
	errAuthFailed    = reply(535, 5, 7, 8, "Authentication credentials invalid")
	errAuthTemporary = reply(454, 4, 7, 0, "Temporary authentication failure") // RFC 4954 section 6
	errAuthMalformed = reply(501, 5, 5, 2, "Malformed authentication response")
	errAuthTooMany   = reply(421, 4, 7, 0, "Too many authentication failures, closing connection")
	errRateLimited   = reply(451, 4, 7, 0, "Sending rate limit exceeded, try again later")
	errNullSender    = reply(553, 5, 1, 7, "A null reverse-path is not accepted here")
	errBadSender     = reply(553, 5, 1, 7, "The sender address is not a valid mailbox")
	errBadRecipient  = reply(553, 5, 1, 3, "The recipient address is not a valid mailbox")
	errNeedUTF8      = reply(553, 5, 6, 7, "A non-ASCII address needs the SMTPUTF8 parameter") // RFC 6531 section 3.5
	errNoMail        = reply(503, 5, 5, 1, "Send MAIL FROM first")
	errBareLineEnd   = reply(550, 5, 6, 0, "Message refused: lines must end with CRLF, a bare CR or LF was found")
	errLineTooLong   = reply(554, 5, 6, 0, "Message refused: a line is longer than the server accepts")
	errRelayDenied   = reply(550, 5, 7, 1, "Relay access denied")
	errStartTLSFirst = reply(530, 5, 7, 0, "Must issue a STARTTLS command first") // RFC 3207 section 4
	errRequireTLS    = reply(530, 5, 7, 10, "REQUIRETLS needs a TLS session")     // RFC 8689 section 4.1
	errAmbiguous     = reply(550, 5, 7, 1, "Relay access denied: the connection matches connectors of several organizations")
	errUnparseable   = reply(554, 5, 6, 0, "Message refused: it could not be parsed as RFC 5322 with MIME")
)

// accepted is the 250 after DATA: only returned once the outbox committed.
func accepted(messageID string) *smtp.SMTPError {
	return reply(250, 2, 0, 0, "OK: queued as "+messageID)
}

// submitReply maps an outbox error to the reply and reports whether the
// failure is the client's (permanent) rather than ours. A FieldError's text
// names the field and the rule it broke and never the value, so it is safe
// to show; anything else is a temporary failure whose cause stays in the
// log.
func submitReply(err error) (*smtp.SMTPError, bool) {
	var fe *message.FieldError
	if !errors.As(err, &fe) {
		return errTempFailure, false
	}
	text := "Message refused: " + fe.Field + ": " + fe.Msg
	switch {
	case fe.Field == "from":
		// The From domain is not a verified sender domain of the
		// organization: delivery not authorized.
		return reply(550, 5, 7, 1, text), true
	case fe.Field == "mail_from":
		return reply(553, 5, 1, 7, text), true
	case strings.HasPrefix(fe.Field, "rcpts"):
		return reply(553, 5, 1, 3, text), true
	case fe.Field == "to":
		return reply(554, 5, 5, 3, text), true // recipient count
	case fe.Field == "message" && strings.Contains(fe.Msg, "larger than"):
		return reply(552, 5, 3, 4, text), true
	case fe.Field == "message":
		return reply(554, 5, 6, 0, text), true
	}
	return reply(554, 5, 0, 0, text), true
}

// dataReply maps an error from reading DATA: go-smtp's own replies (552
// for SIZE) pass through, a too-long line is the client's, anything else
// (the connection broke) is ours to retry.
func dataReply(err error) (*smtp.SMTPError, bool) {
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se):
		return se, se.Code/100 == 5
	case errors.Is(err, smtp.ErrTooLongLine):
		return errLineTooLong, true
	}
	return errTempFailure, false
}
