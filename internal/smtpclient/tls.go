package smtpclient

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// TLSReport is what the session's transport security was: the material of
// the security receipt.
type TLSReport struct {
	// Offered is whether the server advertised STARTTLS.
	Offered bool
	// Version and CipherSuite are the negotiated ones (tls.VersionTLS13, …);
	// Version 0 means the session is plaintext.
	Version     uint16
	CipherSuite uint16
	// ServerName is the SNI sent, the MX host name.
	ServerName string
	// PeerCertSHA256 is the hex SHA-256 of the server's leaf certificate (DER).
	PeerCertSHA256 string
	// Verified is true only when the session meets RequireVerified: TLS 1.2
	// or later and the peer verified by PKIX or the VerifyConnection hook.
	Verified bool
	// VerifyError says why Verified is false when TLS was negotiated.
	VerifyError string
	// DANE is true when the VerifyConnection hook, not PKIX, judged the peer.
	DANE bool
	// HandshakeError is set when, under Opportunistic, STARTTLS was refused
	// or its handshake failed and the session continued in plaintext.
	HandshakeError string
}

// VersionName is the negotiated TLS version as text, or "none".
func (r TLSReport) VersionName() string {
	if r.Version == 0 {
		return "none"
	}
	return tls.VersionName(r.Version)
}

// handshakeError marks a failed TLS handshake, after which Opportunistic
// reconnects in plaintext.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "tls handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// startTLS applies the TLS policy after the first EHLO (RFC 3207).
func (c *Conn) startTLS(ctx context.Context) error {
	c.tls.ServerName = c.opts.Host
	if !c.Supports("STARTTLS") {
		if c.opts.TLS == RequireVerified {
			_, _ = c.cmd(StageQuit, quitTimeout, "QUIT")
			return localError(StageSTARTTLS, KindTLS, "", ErrSTARTTLSNotOffered)
		}
		return nil
	}
	c.tls.Offered = true
	// Not pipelined: STARTTLS is sent alone and its reply read before the
	// handshake (RFC 3207 section 4; RFC 2920 section 3.1).
	rep, err := c.cmd(StageSTARTTLS, c.opts.Timeouts.Command, "STARTTLS")
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		e := replyError(StageSTARTTLS, rep)
		if c.opts.TLS == RequireVerified {
			e.Kind = KindTLS
			return e
		}
		c.tls.HandshakeError = fmt.Sprintf("STARTTLS refused: %d %s", rep.Code, rep.Enhanced)
		return nil
	}

	var verifyErr error
	cfg := c.tlsConfig(&verifyErr)
	tc := tls.Client(c.conn, cfg)
	if err := c.deadline(c.opts.Timeouts.Command); err != nil {
		return c.ioError(StageSTARTTLS, err)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = true
		return c.handshakeFailure(err, verifyErr)
	}
	// RFC 3207 section 4.2: forget everything from before TLS, including
	// any bytes the server (or an attacker) sent ahead, and say EHLO again.
	c.setConn(tc)
	c.ext = nil
	c.recordTLS(tc.ConnectionState(), verifyErr)
	if c.opts.TLS == RequireVerified && !c.tls.Verified {
		// Unreachable while MinVersion and VerifyConnection do their work;
		// checked again because this is the line PHI must not cross.
		return &Error{Stage: StageTLSVerify, Kind: KindTLS, Err: errors.New(c.tls.VerifyError)}
	}
	return c.ehlo()
}

// tlsConfig verifies in VerifyConnection rather than in crypto/tls, so that
// the outcome is recorded under Opportunistic and the hook can replace PKIX.
// *verifyErr receives the verification outcome.
func (c *Conn) tlsConfig(verifyErr *error) *tls.Config {
	minVersion := uint16(tls.VersionTLS12)
	if c.opts.TLS == Opportunistic {
		// RFC 7435: any encryption beats none; the report records the version
		// and Verified stays false below TLS 1.2.
		minVersion = tls.VersionTLS10
	}
	return &tls.Config{
		ServerName: c.opts.Host,
		MinVersion: minVersion,
		// Verification is done below, always; crypto/tls's own would make
		// both the DANE hook and recording under Opportunistic impossible.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := c.verify(cs)
			*verifyErr = err
			if c.opts.TLS == RequireVerified {
				return err
			}
			return nil
		},
	}
}

// verify judges the peer: the hook when one is given, else PKIX.
func (c *Conn) verify(cs tls.ConnectionState) error {
	if c.opts.VerifyConnection != nil {
		return c.opts.VerifyConnection(cs)
	}
	return verifyPKIX(cs, c.opts.Host, c.opts.RootCAs)
}

// verifyPKIX checks the chain against the system roots, then against
// extra, for host.
func verifyPKIX(cs tls.ConnectionState, host string, extra *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no peer certificate")
	}
	if host == "" {
		return errors.New("no host name to verify against")
	}
	opts := x509.VerifyOptions{DNSName: host, Intermediates: x509.NewCertPool()}
	for _, cert := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(cert)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	if err == nil || extra == nil {
		return err
	}
	opts.Roots = extra
	_, err = cs.PeerCertificates[0].Verify(opts)
	return err
}

func (c *Conn) recordTLS(cs tls.ConnectionState, verifyErr error) {
	c.tls.Version = cs.Version
	c.tls.CipherSuite = cs.CipherSuite
	c.tls.DANE = c.opts.VerifyConnection != nil
	if len(cs.PeerCertificates) > 0 {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		c.tls.PeerCertSHA256 = hex.EncodeToString(sum[:])
	}
	switch {
	case verifyErr != nil:
		c.tls.VerifyError = verifyErr.Error()
	case cs.Version < tls.VersionTLS12:
		c.tls.VerifyError = fmt.Sprintf("%s is below the TLS 1.2 minimum for verified delivery", tls.VersionName(cs.Version))
	default:
		c.tls.Verified = true
	}
}

// handshakeFailure classifies a failed handshake. Verification failures are
// KindTLS at StageTLSVerify; a dropped or timed-out connection is
// temporary; anything else (version or cipher mismatch, alerts) is KindTLS.
// Under Opportunistic every failure is a *handshakeError, so Dial retries
// in plaintext.
func (c *Conn) handshakeFailure(err, verifyErr error) error {
	var e *Error
	switch {
	case verifyErr != nil && c.opts.TLS == RequireVerified:
		e = &Error{Stage: StageTLSVerify, Kind: KindTLS, Err: verifyErr}
	case isNetworkFailure(err):
		e = c.ioError(StageSTARTTLS, err)
	default:
		e = &Error{Stage: StageSTARTTLS, Kind: KindTLS, Err: err}
	}
	if c.opts.TLS == Opportunistic {
		return &handshakeError{err: e}
	}
	return e
}

// isNetworkFailure tells a lost or timed-out connection from a TLS refusal.
// crypto/tls reports the peer's alerts as a *net.OpError with Op "remote
// error": those are refusals, not network failures.
func isNetworkFailure(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return false
	}
	var ne net.Error
	return (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
