package smtpd

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Session results, one per connection, in order of precedence: a
// connection that had a message accepted counts as accepted even if an
// earlier attempt failed.
const (
	sessionAccepted   = "accepted"    // at least one message committed
	sessionRejected   = "rejected"    // messages offered, none accepted
	sessionAuthFailed = "auth_failed" // AUTH failed and nothing was accepted
	sessionDenied     = "denied"      // gateway: no connector matched
	sessionEmpty      = "empty"       // no message offered
)

// Message results.
const (
	messageAccepted = "accepted" // 250: committed
	messageRejected = "rejected" // 5xx: the client's fault
	messageDeferred = "deferred" // 4xx: ours, or the rate limit; the client retries
)

type metrics struct {
	sessions *prometheus.CounterVec
	messages *prometheus.CounterVec
}

// newMetrics registers the counters on reg (nil: not exported). A second
// server on the same registry shares the first one's counters.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carepost_smtp_sessions_total",
			Help: "SMTP connections by listener and outcome.",
		}, []string{"listener", "result"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carepost_smtp_messages_total",
			Help: "Messages offered over SMTP by listener and outcome.",
		}, []string{"listener", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.sessions, err = register(reg, m.sessions); err != nil {
		return nil, err
	}
	if m.messages, err = register(reg, m.messages); err != nil {
		return nil, err
	}
	return m, nil
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return c, err
}
