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
	// strings.Reader, bytes.Buffer). When Send uses BDAT, SIZE is the
	// chunk's exact size and this field is not used.
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
	// Data is the reply to the end of data (the final "." after DATA, or
	// BDAT LAST), which applies to every accepted recipient; zero when the
	// data was not sent or no recipient was accepted.
	Data Status
}

// Send runs one mail transaction: MAIL, RCPT per recipient, then msg by
// BDAT or by DATA. The error is nil when the server took the message for
// at least one recipient; check Rcpts for the others.
//
// BDAT (RFC 3030) is used when the server advertises CHUNKING and
// PIPELINING, DialOptions.NoChunking is false, msg is a *bytes.Reader or
// has a Bytes method (bytes.Buffer), and the content is canonical: CRLF
// line endings only, the last line ended, no NUL, no line over 998 octets.
// MAIL, the RCPTs, "BDAT <size> LAST" and the content as is leave in one
// flush, and the replies are read after it: one round trip. The content
// is then sent before any RCPT reply is known, so it reaches the server
// even when the server refuses the sender or every recipient. It goes
// only to the server the envelope went to, over the same session (the
// TLS policy was enforced on it before MAIL), and that server must
// discard the chunk of a transaction with no valid recipient (RFC 3030
// section 2). Send reads no bytes from msg on this path: make a new
// reader for each Send.
//
// Otherwise DATA is used: MAIL, the RCPTs and DATA (one round trip with
// PIPELINING), then msg, encoded as described on dataWriter, after the
// server's 354. On this path, when no recipient is accepted the message
// data is never sent; DialOptions.NoChunking keeps a site on it.
func (c *Conn) Send(ctx context.Context, from string, rcpts []string, msg io.Reader, opts SendOptions) (SendResult, error) {
	if err := c.usable(StageMail); err != nil {
		return SendResult{}, err
	}
	content, chunk := c.chunkable(msg)
	size := opts.Size
	if chunk {
		// SIZE (RFC 1870) counts the message's octets: exactly the chunk's.
		size = int64(len(content))
	} else if l, ok := msg.(interface{ Len() int }); ok && size == 0 {
		size = int64(l.Len())
	}
	mail, err := c.mailCommand(from, rcpts, size, opts)
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
	if chunk {
		return c.chunked(mail, rcpts, content)
	}
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

// mailCommand checks the addresses, the size in octets and the options and
// builds the MAIL command; every refusal here happens before anything is
// sent.
func (c *Conn) mailCommand(from string, rcpts []string, size int64, opts SendOptions) (string, error) {
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
