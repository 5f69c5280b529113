package smtpclient

import (
	"errors"
	"fmt"
	"strings"
)

// Stage is the part of the session an error happened in.
type Stage string

const (
	StageConnect   Stage = "connect"
	StageGreeting  Stage = "greeting"
	StageEHLO      Stage = "ehlo"
	StageSTARTTLS  Stage = "starttls"
	StageTLSVerify Stage = "tls-verify"
	StageMail      Stage = "mail"
	StageRcpt      Stage = "rcpt"
	StageData      Stage = "data" // DATA and the message, or BDAT and its chunk
	StageReset     Stage = "rset"
	StageQuit      Stage = "quit"
)

// Kind classifies an error for the caller's retry decision.
type Kind uint8

const (
	// KindTemporary: 4xx, network errors, timeouts, cancellation. Try later.
	KindTemporary Kind = iota + 1
	// KindPermanent: 5xx, or a local refusal that cannot succeed at this server.
	KindPermanent
	// KindTLS: the transport security the policy requires was not met. Not a
	// server reply; policy decides whether to defer or use the portal.
	KindTLS
)

func (k Kind) String() string {
	switch k {
	case KindTemporary:
		return "temporary"
	case KindPermanent:
		return "permanent"
	case KindTLS:
		return "tls"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Local refusals and protocol failures, for errors.Is on Error.Err.
var (
	ErrSTARTTLSNotOffered  = errors.New("server does not offer STARTTLS")
	ErrRequireTLSRefused   = errors.New("REQUIRETLS needs a verified TLS session with a server advertising REQUIRETLS")
	ErrMessageTooLarge     = errors.New("message larger than the server's SIZE limit")
	ErrSMTPUTF8Unsupported = errors.New("server does not advertise SMTPUTF8")
	Err8BitMIMEUnsupported = errors.New("server does not advertise 8BITMIME")
	ErrInvalidAddress      = errors.New("invalid envelope address")
	ErrNoRecipients        = errors.New("no recipients")
	ErrBadReply            = errors.New("malformed server reply")
	ErrUnexpectedReply     = errors.New("unexpected reply code")
	ErrClosed              = errors.New("connection is closed or unusable")
)

// Error is every failure of this package.
type Error struct {
	Stage Stage
	Kind  Kind
	// Code is the server's reply code; 0 when the error is not a reply
	// (network, TLS, or a local refusal).
	Code int
	// Enhanced is the RFC 3463 status code ("5.1.1"), from the server or,
	// for local refusals, ours; may be empty.
	Enhanced string
	// Msg is the server's reply text, sanitized: printable ASCII only,
	// address-like tokens redacted, truncated. Not part of Error().
	Msg string
	// Err is the underlying cause, if any (network, TLS, x509, context, or
	// one of the Err* values of this package).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("smtpclient: ")
	b.WriteString(string(e.Stage))
	if e.Code != 0 {
		fmt.Fprintf(&b, ": %d", e.Code)
	}
	if e.Enhanced != "" {
		b.WriteString(" " + e.Enhanced)
	}
	fmt.Fprintf(&b, " (%s)", e.Kind)
	if e.Err != nil {
		// Causes are ours or come from net, crypto/tls and crypto/x509: host
		// names and addresses of the MX, never envelope or content.
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether a later attempt may succeed.
func (e *Error) Temporary() bool { return e.Kind == KindTemporary }

// Permanent reports whether the server (or this client) refused for good.
func (e *Error) Permanent() bool { return e.Kind == KindPermanent }

// TLSFailure reports whether the required transport security was not met.
func (e *Error) TLSFailure() bool { return e.Kind == KindTLS }

// replyError classifies a server reply that was not the one expected.
func replyError(stage Stage, r reply) *Error {
	kind := KindTemporary
	if r.Code >= 500 {
		kind = KindPermanent
	}
	e := &Error{Stage: stage, Kind: kind, Code: r.Code, Enhanced: r.Enhanced, Msg: sanitize(r.text())}
	if r.Code < 400 {
		// A 2xx or 3xx where another was expected: a protocol error, retry later.
		e.Kind, e.Err = KindTemporary, ErrUnexpectedReply
	}
	return e
}

// localError is a refusal decided here, before anything was sent for it.
func localError(stage Stage, kind Kind, enhanced string, err error) *Error {
	return &Error{Stage: stage, Kind: kind, Enhanced: enhanced, Err: err}
}

// maxMsg bounds Error.Msg and RcptResult.Msg.
const maxMsg = 256

// sanitize keeps printable ASCII, redacts tokens that look like addresses
// (servers echo recipients: "550 5.1.1 <jane@example.org>: unknown user"),
// and truncates, so server text is safe to store in a receipt.
func sanitize(s string) string {
	var b strings.Builder
	for i, word := range strings.Fields(s) {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.Contains(word, "@") {
			b.WriteString("[redacted]")
			continue
		}
		for _, r := range word {
			if r < 0x21 || r > 0x7e {
				r = '?'
			}
			b.WriteRune(r)
		}
		if b.Len() >= maxMsg {
			break
		}
	}
	out := b.String()
	if len(out) > maxMsg {
		out = out[:maxMsg]
	}
	return out
}
