package smtpclient

import (
	"context"
	"crypto/tls"
	"io"
	"strconv"
	"strings"
)

// SendOptions are the per-message ESMTP parameters.
type SendOptions struct {
	// RequireTLS asks for RFC 8689 REQUIRETLS. Send refuses before MAIL, with
	// KindTLS, unless the server advertises REQUIRETLS and the session is
	// verified TLS.
	RequireTLS bool
	// SMTPUTF8 marks internationalized addresses or headers (RFC 6531); refused
	// before MAIL when not advertised. Non-ASCII addresses require it.
	SMTPUTF8 bool
	// EightBitMIME declares BODY=8BITMIME (RFC 6152); refused before MAIL
	// when not advertised.
	EightBitMIME bool
	// Size is the message size in octets, for SIZE (RFC 1870). When zero it
	// is taken from the reader if it has a Len method (bytes.Reader,
	// strings.Reader, bytes.Buffer).
	Size int64
	// EnvID is the DSN envelope identifier (RFC 3461), sent only when the
	// server advertises DSN. Printable ASCII; it is xtext-encoded here.
	EnvID string
}

// Status is one server reply as a receipt records it.
type Status struct {
	Code     int
	Enhanced string // RFC 3463, "2.1.5"; empty when the server sent none
	Msg      string // sanitized server text
}

// RcptResult is the server's answer to one RCPT.
type RcptResult struct {
	Rcpt string
	Status
	Accepted bool
}

// SendResult is the outcome of one transaction.
type SendResult struct {
	// Rcpts holds one result per recipient, in order; empty when MAIL
	// failed or Send refused before MAIL.
	Rcpts []RcptResult
	// Data is the reply to the end of data, which applies to every accepted
	// recipient; zero when the data was not sent.
	Data Status
}

// Send runs one mail transaction: MAIL, RCPT per recipient, DATA, then msg,
// encoded as described on dataWriter. The error is nil when the server took
// the message for at least one recipient; check Rcpts for the others. When
// no recipient is accepted the message data is never sent.
func (c *Conn) Send(ctx context.Context, from string, rcpts []string, msg io.Reader, opts SendOptions) (SendResult, error) {
	if err := c.usable(StageMail); err != nil {
		return SendResult{}, err
	}
	mail, err := c.mailCommand(from, rcpts, msg, opts)
	if err != nil {
		return SendResult{}, err
	}
	if c.dirty {
		if err := c.Reset(ctx); err != nil {
			return SendResult{}, err
		}
	}
	stop := c.watch(ctx)
	defer stop()
	c.dirty = true
	res, ok, err := c.envelope(mail, rcpts)
	if err != nil || !ok {
		return res, err
	}
	res.Data, err = c.data(msg)
	if err == nil || !c.broken {
		// The final reply to the data, success or not, ends the
		// transaction (RFC 5321 section 4.1.1.4).
		c.dirty = false
	}
	return res, err
}

// mailCommand checks the addresses and options and builds the MAIL
// command; every refusal here happens before anything is sent.
func (c *Conn) mailCommand(from string, rcpts []string, msg io.Reader, opts SendOptions) (string, error) {
	if len(rcpts) == 0 {
		return "", localError(StageRcpt, KindPermanent, "5.5.1", ErrNoRecipients)
	}
	if !validAddress(from, true, opts.SMTPUTF8) {
		return "", localError(StageMail, KindPermanent, "5.1.7", ErrInvalidAddress)
	}
	for _, r := range rcpts {
		if !validAddress(r, false, opts.SMTPUTF8) {
			return "", localError(StageRcpt, KindPermanent, "5.1.3", ErrInvalidAddress)
		}
	}
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + from + ">")
	size := opts.Size
	if l, ok := msg.(interface{ Len() int }); ok && size == 0 {
		size = int64(l.Len())
	}
	if limit, ok := c.ext["SIZE"]; ok {
		// RFC 1870 section 6: a message over the limit is refused before MAIL.
		if n, err := strconv.ParseInt(limit, 10, 64); err == nil && n > 0 && size > n {
			return "", localError(StageMail, KindPermanent, "5.3.4", ErrMessageTooLarge)
		}
		if size > 0 {
			b.WriteString(" SIZE=" + strconv.FormatInt(size, 10))
		}
	}
	if opts.EightBitMIME {
		if !c.Supports("8BITMIME") {
			return "", localError(StageMail, KindPermanent, "5.6.3", Err8BitMIMEUnsupported)
		}
		b.WriteString(" BODY=8BITMIME")
	}
	if opts.SMTPUTF8 {
		if !c.Supports("SMTPUTF8") {
			return "", localError(StageMail, KindPermanent, "5.6.7", ErrSMTPUTF8Unsupported)
		}
		b.WriteString(" SMTPUTF8")
	}
	if opts.RequireTLS {
		// RFC 8689 section 4.1: only to a server advertising REQUIRETLS, over
		// TLS with a verified peer; 5.7.30 otherwise.
		if !c.Supports("REQUIRETLS") || !c.tls.Verified || c.tls.Version < tls.VersionTLS12 {
			return "", localError(StageMail, KindTLS, "5.7.30", ErrRequireTLSRefused)
		}
		b.WriteString(" REQUIRETLS")
	}
	if opts.EnvID != "" && c.Supports("DSN") {
		b.WriteString(" ENVID=" + xtext(opts.EnvID))
	}
	return b.String(), nil
}

// validAddress refuses what could break out of the command line: controls,
// spaces, angle brackets, and non-ASCII without SMTPUTF8. Only the reverse
// path may be empty (the null sender, RFC 5321 section 4.5.5).
func validAddress(a string, reversePath, utf8 bool) bool {
	if a == "" {
		return reversePath
	}
	if len(a) > 320 || !strings.Contains(a, "@") {
		return false
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || (r > 0x7f && !utf8) {
			return false
		}
	}
	return true
}

// xtext encodes s as RFC 3461 section 4 xtext.
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < '!' || ch > '~' || ch == '+' || ch == '=' {
			b.WriteString("+" + strings.ToUpper(strconv.FormatUint(uint64(ch)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func statusOf(r reply) Status {
	return Status{Code: r.Code, Enhanced: r.Enhanced, Msg: sanitize(r.text())}
}
