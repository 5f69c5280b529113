package dns

import (
	"context"
	"errors"
	"fmt"
	"net"

	mdns "github.com/miekg/dns"
)

// Sentinels that every lookup error wraps, so callers branch with errors.Is.
var (
	// ErrNotFound: the name does not exist (NXDOMAIN) or has no records of the
	// asked type (NODATA). IsNXDomain tells which. For MX, NODATA means "use
	// the domain's own address" (RFC 5321 section 5.1); NXDOMAIN means the
	// domain does not exist and the message bounces.
	ErrNotFound = errors.New("dns: not found")
	// ErrTemporary: the answer could not be had now — SERVFAIL, REFUSED, a
	// timeout, a network error, a broken reply. Delivery defers.
	ErrTemporary = errors.New("dns: temporary failure")
	// ErrInvalidName: the name cannot be a domain name (bad IDNA, empty or
	// over-long labels, characters outside letters, digits, '-' and '_').
	ErrInvalidName = errors.New("dns: invalid name")
)

// Error is a failed lookup. Its message names the query only.
type Error struct {
	Name     string // the name asked for, in A-labels (as given when invalid)
	Type     string // record type asked for: "MX", "A", "TLSA", …
	Kind     error  // ErrNotFound, ErrTemporary or ErrInvalidName
	NXDomain bool   // with ErrNotFound: the name does not exist at all
	Reason   string // short cause: "nxdomain", "nodata", "servfail", "timeout", …
	cause    error  // underlying error, reachable through errors.Is/As
}

func (e *Error) Error() string {
	return fmt.Sprintf("dns: lookup %s %q: %s", e.Type, e.Name, e.Reason)
}

// Unwrap exposes the kind and the underlying cause (for example
// context.DeadlineExceeded) to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// IsNXDomain reports whether err says the name does not exist (as opposed to
// existing without records of the asked type).
func IsNXDomain(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.NXDomain
}

// rcodeError is a reply whose RCODE ends the attempt with one server.
type rcodeError int

func (r rcodeError) Error() string { return "rcode " + mdns.RcodeToString[int(r)] }

// errMismatch is a reply that does not answer the question asked.
var errMismatch = errors.New("reply does not match the question")

func notFound(name, qtype string, nx bool) *Error {
	reason := "nodata"
	if nx {
		reason = "nxdomain"
	}
	return &Error{Name: name, Type: qtype, Kind: ErrNotFound, NXDomain: nx, Reason: reason}
}

func temporary(name, qtype string, cause error) *Error {
	return &Error{Name: name, Type: qtype, Kind: ErrTemporary, Reason: reasonOf(cause), cause: cause}
}

func invalidName(name, qtype string, cause error) *Error {
	return &Error{Name: name, Type: qtype, Kind: ErrInvalidName, Reason: "invalid name", cause: cause}
}

// reasonOf turns a transport error into a few words without addresses.
func reasonOf(err error) string {
	var rc rcodeError
	var ne net.Error
	switch {
	case errors.As(err, &rc):
		return lower(mdns.RcodeToString[int(rc)])
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errMismatch):
		return "mismatched reply"
	case errors.Is(err, errChainTooLong):
		return "cname chain too long"
	default:
		return "network error"
	}
}
