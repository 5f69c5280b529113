package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"

	"github.com/carepost/carepost/internal/dns"
)

// wellKnown is where RFC 8461 section 3.2 puts the policy.
const wellKnown = "/.well-known/mta-sts.txt"

// newHTTPClient builds the client that fetches policies. It resolves the
// policy host through our resolver, validates the certificate against
// roots (nil: the system's), refuses redirects and does no caching.
func newHTTPClient(resolver *dns.Resolver, roots *x509.CertPool) *http.Client {
	d := &dialer{resolver: resolver}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:       nil, // a policy is fetched from the domain itself, never through a proxy
			DialContext: d.dial,
			TLSClientConfig: &tls.Config{
				RootCAs:    roots,
				MinVersion: tls.VersionTLS12,
			},
			// Policies are fetched rarely and from many hosts: no pool.
			DisableKeepAlives: true,
		},
		// RFC 8461 section 3.3: "HTTP 3xx redirects MUST NOT be followed".
		// Handing back the 3xx makes it fail the status check below.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialer connects to the policy host at the addresses our resolver gives.
type dialer struct {
	resolver *dns.Resolver
	tcp      net.Dialer
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, _, err := d.resolver.LookupIP(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		c, err := d.tcp.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// fetch gets and parses the policy of domain (RFC 8461 section 3.3).
func (c *Client) fetch(ctx context.Context, domain string) (*Policy, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	host := "mta-sts." + domain
	if c.opts.HTTPSPort != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(c.opts.HTTPSPort))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+wellKnown, nil)
	if err != nil {
		return nil, fail(ErrFetch, domain, "bad request", err)
	}
	req.Header.Set("User-Agent", "carepost")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fail(ErrFetch, domain, fetchReason(err), err)
	}
	defer resp.Body.Close()

	// Section 3.3: only a 200 counts; a redirect lands here too.
	if resp.StatusCode != http.StatusOK {
		return nil, fail(ErrFetch, domain, fmt.Sprintf("HTTP status %d", resp.StatusCode), nil)
	}
	// Section 3.2: the policy is served as text/plain (parameters such as
	// charset are allowed).
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fail(ErrFetch, domain, "media type is not text/plain", nil)
	}
	// Section 3.3 asks for a limit on the body; a longer one is refused
	// rather than cut, since a cut policy could parse and mean less.
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBody+1))
	if err != nil {
		return nil, fail(ErrFetch, domain, fetchReason(err), err)
	}
	if int64(len(body)) > c.opts.MaxBody {
		return nil, fail(ErrFetch, domain, fmt.Sprintf("policy larger than %d bytes", c.opts.MaxBody), nil)
	}
	p, err := ParsePolicy(string(body))
	if err != nil {
		return nil, fail(ErrPolicy, domain, err.Error(), err)
	}
	return p, nil
}

// fetchReason names a fetch failure without addresses or certificate
// contents, which the underlying errors carry.
func fetchReason(err error) string {
	var (
		unknownAuth x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalid     x509.CertificateInvalidError
		verify      *tls.CertificateVerificationError
		netErr      net.Error
	)
	switch {
	case errors.As(err, &unknownAuth):
		return "certificate not signed by a trusted authority"
	case errors.As(err, &hostname):
		return "certificate not valid for the policy host"
	case errors.As(err, &invalid):
		return "certificate invalid or expired"
	case errors.As(err, &verify):
		return "certificate verification failed"
	case dns.IsNXDomain(err), errors.Is(err, dns.ErrNotFound):
		return "policy host not found"
	case errors.Is(err, dns.ErrTemporary):
		return "policy host lookup failed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "connection failed"
	}
}
