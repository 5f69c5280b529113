package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// userAgent identifies carepost to receivers; it names no version, which
// would tell a scanner what to attack.
const userAgent = "carepost-webhooks"

// maxDrain is how much of a response body is read (and thrown away) so the
// connection can be reused. Bodies are never stored: they may echo anything.
const maxDrain = 64 << 10

// newClient returns the HTTP client of every attempt. The guard sits in the
// dialer, below everything that could redirect a connection: proxies from
// the environment are not used (Proxy nil; a proxy would dial on our
// behalf, out of the guard's sight), redirects are not followed, and each
// address the dialer tries is checked after resolution.
func newClient(o Options) *http.Client {
	g := guard{allow: o.Allow}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: g.control}
	transport := &http.Transport{
		Proxy:       nil,
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    o.RootCAs,
		},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// request is one signed POST.
type request struct {
	url       string
	msgID     string
	timestamp time.Time
	signature string
	body      []byte
}

// result is what one attempt produced.
type result struct {
	status   int    // 0: no response
	reason   string // "" on success; else a short generic reason
	duration time.Duration
}

// post sends r and reports the status or a generic reason for the failure.
func post(ctx context.Context, c *http.Client, r request) result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return result{reason: "invalid request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, r.msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(r.timestamp.Unix(), 10))
	req.Header.Set(HeaderSignature, r.signature)
	resp, err := c.Do(req)
	if err != nil {
		return result{reason: failureReason(err), duration: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	res := result{status: resp.StatusCode, duration: time.Since(start)}
	if classify(resp.StatusCode) != succeeded {
		res.reason = "http status " + strconv.Itoa(resp.StatusCode)
	}
	return res
}

// failureReason names a transport error generically: the delivery log is
// shown to the endpoint's owner, so it says what kind of failure happened,
// not the addresses or internals involved.
func failureReason(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var recErr tls.RecordHeaderError
	var alertErr tls.AlertError
	switch {
	case errors.Is(err, ErrAddressNotAllowed):
		return "address not allowed"
	case errors.As(err, &dnsErr):
		return "dns lookup failed"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &authErr):
		return "tls certificate not trusted"
	case errors.As(err, &recErr) || errors.As(err, &alertErr):
		return "tls handshake failed"
	default:
		return "connection failed"
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
