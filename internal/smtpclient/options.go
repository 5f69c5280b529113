package smtpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// TLSPolicy is the transport security a connection must have before any
// message is sent. See the package documentation for what each level
// guarantees.
type TLSPolicy uint8

const (
	// RequireVerified demands STARTTLS, TLS 1.2 or later and a verified peer
	// (PKIX against the roots and Host, or the VerifyConnection hook). It is
	// the zero value.
	RequireVerified TLSPolicy = iota
	// Opportunistic uses STARTTLS when offered and records, but does not
	// enforce, verification. Never for PHI.
	Opportunistic
	// InsecureNoTLS never attempts TLS. Tests and the demo sink only.
	InsecureNoTLS
)

func (p TLSPolicy) String() string {
	switch p {
	case RequireVerified:
		return "require-verified"
	case Opportunistic:
		return "opportunistic"
	case InsecureNoTLS:
		return "insecure-no-tls"
	}
	return fmt.Sprintf("TLSPolicy(%d)", uint8(p))
}

// Timeouts bound each stage of a session. Zero fields take the defaults of
// RFC 5321 section 4.5.3.2 (connect is ours).
type Timeouts struct {
	Connect  time.Duration // TCP connect; default 30s
	Greeting time.Duration // the server's 220 greeting; default 5m
	Command  time.Duration // each command's reply, and the TLS handshake; default 5m
	Data     time.Duration // writing the message and its final reply; default 10m
}

// WithDefaults returns t with zero fields set to their defaults.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Connect == 0 {
		t.Connect = 30 * time.Second
	}
	if t.Greeting == 0 {
		t.Greeting = 5 * time.Minute
	}
	if t.Command == 0 {
		t.Command = 5 * time.Minute
	}
	if t.Data == 0 {
		t.Data = 10 * time.Minute
	}
	return t
}

// Dialer opens the TCP connection; *net.Dialer satisfies it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// DialOptions configures one connection to one MX host.
type DialOptions struct {
	// Host is the MX host name: the TLS server name (SNI) and the name the
	// certificate must match. Required under RequireVerified.
	Host string
	// Addr is the "ip:port" to connect to; the caller resolves Host.
	Addr string
	// LocalName is the name sent in EHLO; default "localhost".
	LocalName string
	// TLS is the transport security policy; default RequireVerified.
	TLS TLSPolicy
	// Timeouts per stage; zero fields take RFC 5321 defaults.
	Timeouts Timeouts
	// RootCAs are trust anchors in addition to the system roots (tests,
	// private partner CAs); default none.
	RootCAs *x509.CertPool
	// VerifyConnection, when set, replaces PKIX verification: it is the only
	// judge of the peer (DANE, pinned partner keys). Return nil to accept.
	// Default nil (PKIX).
	VerifyConnection func(tls.ConnectionState) error
	// Dialer opens the connection; default a *net.Dialer.
	Dialer Dialer
	// NoChunking makes Send use DATA even when the server offers CHUNKING
	// (RFC 3030), for a site that wants message content sent only after
	// the server has accepted a recipient. BDAT, pipelined with the
	// envelope, sends the content before the RCPT replies are known, in
	// exchange for one round trip per message instead of two (see Send).
	// Default false: BDAT when the server offers it.
	NoChunking bool
}

// WithDefaults returns o with zero fields set to their defaults.
func (o DialOptions) WithDefaults() DialOptions {
	if o.LocalName == "" {
		o.LocalName = "localhost"
	}
	o.Timeouts = o.Timeouts.WithDefaults()
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{}
	}
	return o
}

// Validate reports every problem with o at once.
func (o DialOptions) Validate() error {
	var errs []error
	if o.TLS > InsecureNoTLS {
		errs = append(errs, fmt.Errorf("unknown TLS policy %d", o.TLS))
	}
	if o.TLS == RequireVerified && o.Host == "" {
		errs = append(errs, errors.New("host is required for verified TLS"))
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr: %w", err))
	}
	if strings.ContainsAny(o.LocalName, " \t\r\n") {
		errs = append(errs, errors.New("local name contains white space"))
	}
	if strings.ContainsAny(o.Host, " \t\r\n") {
		errs = append(errs, errors.New("host contains white space"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("smtpclient: dial options: %w", errors.Join(errs...))
	}
	return nil
}
