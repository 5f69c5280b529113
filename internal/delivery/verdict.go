package delivery

import (
	"errors"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
)

// kind is what happened to one recipient in one attempt.
type kind uint8

const (
	// delivered: a 250 after the data (RFC 5321 section 4.2.5).
	delivered kind = iota + 1
	// temporary: a 4xx, a network or TLS failure, a failed lookup: retry
	// later (RFC 5321 section 4.5.4.1) until the message's lifetime ends.
	temporary
	// permanent: a 5xx or a condition that cannot change: bounce.
	permanent
	// held: the required level cannot be met, so the content is not sent.
	held
	// released: not attempted (the batch ran out of time); back to the
	// queue without counting an attempt.
	released
	// unavailable: this method of the recipient's fallback chain cannot be
	// used now (no verified TLS path, no valid key, no portal): the walk
	// tries the next one. It never reaches an outcome.
	unavailable
	// portaled: the walk reached the portal; Portal.Handoff takes the
	// recipient in the outcome transaction.
	portaled
	// dropped: the chain ran out and policy forbids the portal ("TLS only,
	// else drop"): the recipient fails with the reason.
	dropped
)

// Authorization names (receipt, events, metrics).
const (
	byMTASTS = "mta-sts"
	byDANE   = "dane"
	byPin    = "pin"
	byNone   = "none"
	byDemo   = "demo"
	byPortal = "portal" // no MX host: the recipient went to the portal
)

// verdict is the result of one attempt for one recipient.
type verdict struct {
	kind     kind
	code     int
	enhanced string
	// reason is carepost's own explanation, safe for the API and logs: it
	// never holds the server's text, an address or content.
	reason string
	// requireTLS: this host could not honour REQUIRETLS (RFC 8689).
	requireTLS bool
	receipt    *Receipt
	// capture is the content stored in demo mode.
	capture []byte
}

func tempf(enhanced, reason string) verdict {
	return verdict{kind: temporary, enhanced: enhanced, reason: reason}
}

func permf(enhanced, reason string) verdict {
	return verdict{kind: permanent, enhanced: enhanced, reason: reason}
}

// reply classifies a server's refusal of one recipient or transaction.
func reply(code int, enhanced string) verdict {
	if code >= 500 {
		return verdict{kind: permanent, code: code, enhanced: enhanced, reason: "refused by the recipient's server"}
	}
	return verdict{kind: temporary, code: code, enhanced: enhanced, reason: "temporarily refused by the recipient's server"}
}

// classify turns one transaction's outcome into a verdict per recipient,
// in the order the recipients were given.
func classify(n int, res smtpclient.SendResult, err error) []verdict {
	out := make([]verdict, n)
	rcpt := func(i int) (smtpclient.RcptResult, bool) {
		if i < len(res.Rcpts) {
			return res.Rcpts[i], true
		}
		return smtpclient.RcptResult{}, false
	}
	var e *smtpclient.Error
	if err != nil && !errors.As(err, &e) {
		e = &smtpclient.Error{Kind: smtpclient.KindTemporary}
	}
	for i := range out {
		rr, answered := rcpt(i)
		switch {
		case e == nil && rr.Accepted:
			out[i] = verdict{kind: delivered, code: res.Data.Code, enhanced: res.Data.Enhanced, reason: "accepted by the recipient's server"}
		case answered && !rr.Accepted && (e == nil || rr.Code >= 500 || e.Stage == smtpclient.StageRcpt):
			out[i] = reply(rr.Code, rr.Enhanced)
		case e == nil:
			// Send reports every recipient when it succeeds; a short answer
			// is retried rather than trusted.
			out[i] = tempf("4.4.0", "the server gave no answer for the recipient")
		case e.Kind == smtpclient.KindTLS:
			// Send refuses REQUIRETLS before MAIL when the session cannot
			// carry it: nothing was sent.
			out[i] = verdict{kind: temporary, enhanced: "5.7.30", requireTLS: true,
				reason: "REQUIRETLS requested and the server does not support it (RFC 8689)"}
		case e.Kind == smtpclient.KindPermanent:
			v := reply(e.Code, e.Enhanced)
			if e.Code == 0 {
				v = permf(e.Enhanced, "the message cannot be accepted by the recipient's server ("+string(e.Stage)+")")
			}
			out[i] = v
		default:
			v := reply(e.Code, e.Enhanced)
			if e.Code == 0 || e.Code >= 500 {
				v = tempf(e.Enhanced, "connection to the recipient's server failed ("+string(e.Stage)+")")
			}
			out[i] = v
		}
	}
	return out
}

// hardBounce reports whether a permanent failure says the address itself
// is bad, so later mail to it is suppressed (RFC 3463): 5.1.1 bad mailbox,
// 5.1.2 bad destination system, 5.1.3 bad address syntax, 5.1.6 mailbox
// moved, 5.1.10 null MX (RFC 7505), 5.2.1 mailbox disabled. Policy and
// content refusals (5.7.x), a full mailbox (5.2.2) and size limits are not
// about the address and are not suppressed: they would silence a patient's
// address over a sender reputation or content problem.
func hardBounce(enhanced string) bool {
	switch enhanced {
	case "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1":
		return true
	}
	return false
}

// dialVerdict classifies a failure to connect to one address of a host.
func dialVerdict(host string, err error) verdict {
	var e *smtpclient.Error
	if errors.As(err, &e) && e.Kind == smtpclient.KindTLS {
		// The attacker who strips STARTTLS or presents a bad certificate
		// only delays: verified TLS was required, so nothing was sent.
		return tempf("4.7.5", "verified TLS to "+host+" failed: "+safeCause(e))
	}
	if errors.As(err, &e) && e.Code != 0 {
		return verdict{kind: temporary, code: e.Code, enhanced: e.Enhanced, reason: "the server " + host + " refused the session"}
	}
	return tempf("4.4.1", "no connection to "+host)
}

// safeCause is the local part of an smtpclient error: its stage and the
// TLS or x509 cause, which name MX hosts and never envelope or content.
func safeCause(e *smtpclient.Error) string {
	s := e.Error()
	s = strings.TrimPrefix(s, "smtpclient: ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// expired reports whether a message's lifetime has ended.
func expired(now, expires time.Time) bool { return !now.Before(expires) }
