package mtasts

import (
	"errors"
	"fmt"
)

// Kinds of discovery failure, wrapped by the errors in Status.Err so that
// callers (TLSRPT result types, receipts) branch with errors.Is.
var (
	// ErrNoRecord: no TXT record starting with v=STSv1 at _mta-sts.<domain>.
	ErrNoRecord = errors.New("mtasts: no MTA-STS record")
	// ErrRecord: several STSv1 records, or a malformed one (section 3.1).
	ErrRecord = errors.New("mtasts: invalid MTA-STS record")
	// ErrDNS: the TXT lookup failed temporarily.
	ErrDNS = errors.New("mtasts: DNS lookup failed")
	// ErrFetch: the policy could not be fetched over HTTPS: no policy host,
	// connection or certificate failure, a status other than 200, a
	// redirect, the wrong media type, or an oversize body.
	ErrFetch = errors.New("mtasts: policy fetch failed")
	// ErrPolicy: the fetched policy does not parse (section 3.2).
	ErrPolicy = errors.New("mtasts: invalid policy")
)

// syntaxError is a parse failure of a record or policy. Its message
// describes the problem, never the input, which may be large or hostile.
type syntaxError struct {
	what, msg string
}

func syntaxErr(what, msg string) error { return &syntaxError{what, msg} }

func (e *syntaxError) Error() string { return "mtasts: " + e.what + ": " + e.msg }

// failure is a discovery failure for one domain: its kind, a short reason
// and the underlying cause, reachable through errors.Is and errors.As but
// kept out of the message (network and x509 errors name addresses and
// certificate contents).
type failure struct {
	kind   error
	domain string
	reason string
	cause  error
}

func fail(kind error, domain, reason string, cause error) error {
	return &failure{kind: kind, domain: domain, reason: reason, cause: cause}
}

func (f *failure) Error() string {
	return fmt.Sprintf("%v for %s: %s", f.kind, f.domain, f.reason)
}

func (f *failure) Unwrap() []error {
	if f.cause == nil {
		return []error{f.kind}
	}
	return []error{f.kind, f.cause}
}
