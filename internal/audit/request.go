package audit

import "context"

// Request is what the HTTP (or SMTP) edge knows about the request an action
// serves. Handlers set it once with WithRequest; Append copies it into
// entries that leave ClientIP or UserAgent empty, and records RequestID as
// the DetailRequestID detail so an entry can be matched with server logs.
type Request struct {
	ClientIP  string
	UserAgent string
	RequestID string
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the Request carried by ctx, if any.
func RequestFrom(ctx context.Context) (Request, bool) {
	r, ok := ctx.Value(requestKey{}).(Request)
	return r, ok
}

// fillFromRequest completes e from the request in ctx. A client IP or
// request id that would not pass validation is left out rather than refusing
// the action: it came from the client, and a strange value must not make an
// action unauditable. Values the caller set explicitly are validated as
// usual.
func fillFromRequest(ctx context.Context, e *Entry) {
	r, ok := RequestFrom(ctx)
	if !ok {
		return
	}
	if e.ClientIP == "" {
		if ip, err := normalizeIP(r.ClientIP); err == nil {
			e.ClientIP = ip
		}
	}
	if e.UserAgent == "" {
		e.UserAgent = r.UserAgent
	}
	if r.RequestID == "" || checkDetailValue(r.RequestID) != nil {
		return
	}
	if _, set := e.Details[DetailRequestID]; set {
		return
	}
	if e.Details == nil {
		e.Details = map[string]string{}
	}
	e.Details[DetailRequestID] = r.RequestID
}
