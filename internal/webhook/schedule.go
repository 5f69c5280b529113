package webhook

import (
	"math/rand/v2"
	"time"
)

// nextAttempt returns when attempt n+1 is due, attempt n (counted from 1)
// having failed at now, or false when n was the schedule's last attempt.
// The delay is Schedule[n] plus up to Jitter of it at random.
func (o Options) nextAttempt(n int, now time.Time) (time.Time, bool) {
	if n < 1 || n >= len(o.Schedule) {
		return time.Time{}, false
	}
	d := o.Schedule[n]
	if spread := int64(float64(d) * o.Jitter); spread > 0 {
		d += time.Duration(rand.Int64N(spread + 1))
	}
	return now.Add(d), true
}

// outcome is what one attempt's result means for the delivery.
type outcome int

const (
	succeeded outcome = iota // 2xx
	gone                     // 410: disable the endpoint, stop
	retry                    // anything else: try again per the schedule
)

// classify maps a response status (0: no response) to an outcome, after
// "Delivery success and failure" in the Standard Webhooks specification.
// Redirects are not followed and count as failures: the owner should fix
// the URL, and following them would let a receiver point us elsewhere
// after validation.
func classify(status int) outcome {
	switch {
	case status >= 200 && status <= 299:
		return succeeded
	case status == 410:
		return gone
	default:
		return retry
	}
}
