package auth

import (
	"context"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// attempt is one check of a credential (password, code, API key), with what
// throttling and auditing it need.
type attempt struct {
	acctKey string // "acct:"+email key, or "" (API keys)
	ipKey   string // "ip:"+address, or "" when the address is unknown
	orgID   string // the account's organization when known
	userID  string // the account when known
	actor   audit.Actor
	client  Client // IP already canonical
	action  string // "auth.login", "auth.reauth", "auth.password.change"
	target  [2]string
	details map[string]string // method, step
}

// loginAttempt describes an attempt on the account with this e-mail key;
// u is the account, or the zero row when none has the address.
func loginAttempt(action, key string, u store.UserRow, c Client, method string) attempt {
	a := attempt{acctKey: "acct:" + key, orgID: u.OrgID, userID: u.ID, action: action,
		client: Client{IP: c.ip(), UserAgent: c.UserAgent}, details: map[string]string{"method": method}}
	if a.client.IP != "" {
		a.ipKey = "ip:" + a.client.IP
	}
	if u.ID != "" {
		a.actor = audit.Actor{Type: audit.ActorUser, ID: u.ID}
		a.target = [2]string{"user", u.ID}
	} else {
		// Unknown account: no target and never the typed address.
		a.actor = audit.Actor{Type: audit.ActorSystem, ID: "anonymous"}
	}
	return a
}

func (a attempt) keys() []string {
	var ks []string
	// Always the account before the address: every transaction locks
	// throttle rows in the same order, so two never deadlock.
	for _, k := range []string{a.acctKey, a.ipKey} {
		if k != "" {
			ks = append(ks, k)
		}
	}
	return ks
}

func (a attempt) entry(outcome audit.Outcome, reason string) audit.Entry {
	chain := a.orgID
	if chain == "" {
		chain = audit.SystemChain
	}
	d := map[string]string{}
	for k, v := range a.details {
		d[k] = v
	}
	if reason != "" {
		d["reason"] = reason
	}
	return audit.Entry{Chain: chain, Actor: a.actor, Action: a.action, TargetType: a.target[0], TargetID: a.target[1],
		Outcome: outcome, ClientIP: a.client.IP, UserAgent: a.client.UserAgent, Details: d}
}

// delay is how long the n-th consecutive failure blocks:
// min(BaseDelay·2^(n−Free), MaxDelay) from the Free-th failure on.
func (t ThrottleOptions) delay(n int) time.Duration {
	if n < t.Free {
		return 0
	}
	d := t.BaseDelay
	for i := t.Free; i < n; i++ {
		d *= 2
		if d >= t.MaxDelay || d <= 0 {
			return t.MaxDelay
		}
	}
	return min(d, t.MaxDelay)
}

// count adds one failure to r at now.
func (t ThrottleOptions) count(r *store.ThrottleRow, now time.Time) {
	if !r.LastFailureAt.IsZero() && now.Sub(r.LastFailureAt) > t.ForgetAfter {
		r.Failures = 0
	}
	r.Failures++
	r.LastFailureAt = now
	if d := t.delay(r.Failures); d > 0 {
		r.BlockedUntil = now.Add(d)
	}
}

// reserve is the first half of a password or code check. In one
// transaction it refuses the attempt if a key is blocked (audited as
// "throttled", credential unchecked) or else counts it as a failure in
// advance, so a burst of parallel guesses meets the block after Free of
// them instead of all passing a check made before any failed. succeeded
// takes the advance back.
func (s *Service) reserve(ctx context.Context, a attempt) error {
	var wait time.Duration
	err := s.tx(ctx, func(tx *store.Tx) error {
		wait = 0
		now := s.now()
		rows := make([]store.ThrottleRow, 0, 2)
		for _, k := range a.keys() {
			r, err := store.LockThrottle(ctx, tx, k)
			if err != nil {
				return err
			}
			if r.BlockedUntil.After(now) {
				wait = max(wait, r.BlockedUntil.Sub(now))
			}
			rows = append(rows, r)
		}
		if wait > 0 {
			return s.record(ctx, tx, a.entry(audit.Failure, "throttled"))
		}
		for i := range rows {
			s.opts.Throttle.count(&rows[i], now)
			if err := store.SaveThrottle(ctx, tx, rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// blocked is the read-only check used for API keys, whose secrets are too
// long to guess: a failure is counted after the fact (failed with
// counted=false), and success writes nothing.
func (s *Service) blocked(ctx context.Context, a attempt) (time.Duration, error) {
	now := s.now()
	var wait time.Duration
	for _, k := range a.keys() {
		r, err := store.GetThrottle(ctx, s.reader(), k)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return 0, err
		}
		if r.BlockedUntil.After(now) {
			wait = max(wait, r.BlockedUntil.Sub(now))
		}
	}
	return wait, nil
}

// failed records a failed attempt in tx: the failure itself unless reserve
// counted it already, the alert window, and the audit entry.
func (s *Service) failed(ctx context.Context, tx *store.Tx, a attempt, reason string, counted bool) error {
	now := s.now()
	t := s.opts.Throttle
	for _, k := range a.keys() {
		r, err := store.LockThrottle(ctx, tx, k)
		if err != nil {
			return err
		}
		if !counted {
			t.count(&r, now)
		}
		if r.WindowStart.IsZero() || now.Sub(r.WindowStart) >= t.AlertWindow {
			r.WindowStart, r.WindowFailures = now, 0
		}
		r.WindowFailures++
		if err := store.SaveThrottle(ctx, tx, r); err != nil {
			return err
		}
		if r.WindowFailures == t.AlertAfter { // exactly once per window
			if err := s.failureAlert(ctx, tx, a, k == a.acctKey, r.WindowFailures); err != nil {
				return err
			}
		}
	}
	return s.record(ctx, tx, a.entry(audit.Failure, reason))
}

// failureAlert records "auth.failures": in the account's organization when
// the account is known, else install-wide ("system"), never naming an
// address typed for an unknown account.
func (s *Service) failureAlert(ctx context.Context, tx *store.Tx, a attempt, account bool, n int) error {
	org := "system"
	d := map[string]string{"failures": strconv.Itoa(n), "window": s.opts.Throttle.AlertWindow.String()}
	switch {
	case account && a.userID != "":
		org, d["subject"], d["user_id"] = a.orgID, "account", a.userID
	case account:
		d["subject"] = "unknown_account"
	default:
		d["subject"], d["client_ip"] = "client", a.client.IP
	}
	return s.raiseAlert(ctx, tx, org, "auth.failures", SeverityMedium, d)
}

// succeeded takes back reserve's advance: the account starts afresh; the
// address only loses this attempt, so one working account cannot wipe the
// record of an address spraying others.
func (s *Service) succeeded(ctx context.Context, tx *store.Tx, a attempt) error {
	t := s.opts.Throttle
	for _, k := range a.keys() {
		r, err := store.LockThrottle(ctx, tx, k)
		if err != nil {
			return err
		}
		if k == a.acctKey {
			r.Failures, r.BlockedUntil = 0, time.Time{}
		} else {
			r.Failures = max(r.Failures-1, 0)
			r.BlockedUntil = time.Time{}
			if d := t.delay(r.Failures); d > 0 {
				r.BlockedUntil = r.LastFailureAt.Add(d)
			}
		}
		if err := store.SaveThrottle(ctx, tx, r); err != nil {
			return err
		}
	}
	return nil
}

// PruneThrottle deletes throttle counters that block nothing and have been
// quiet for longer than ForgetAfter, and returns how many; a periodic job
// keeps the table small.
func (s *Service) PruneThrottle(ctx context.Context) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *store.Tx) error {
		now := s.now()
		var err error
		n, err = store.PruneThrottle(ctx, tx, now, now.Add(-s.opts.Throttle.ForgetAfter))
		return err
	})
	return n, err
}

// guarded checks a credential under the throttle: reserve, then slow (a
// password hash, outside any transaction; may be nil), then in one
// transaction check (may be nil). A failure runs onFail and failed, a
// success succeeded and onOK, each in that same transaction. It returns the
// failure's audit reason, or "" on success.
func (s *Service) guarded(ctx context.Context, a attempt, slow func() (string, error),
	check func(tx *store.Tx) (string, error), onFail, onOK func(tx *store.Tx) error) (string, error) {
	if err := s.reserve(ctx, a); err != nil {
		return "", err
	}
	reason := ""
	if slow != nil {
		var err error
		if reason, err = slow(); err != nil {
			return "", err
		}
	}
	slowReason := reason
	err := s.tx(ctx, func(tx *store.Tx) error {
		reason = slowReason
		if reason == "" && check != nil {
			var err error
			if reason, err = check(tx); err != nil {
				return err
			}
		}
		if reason != "" {
			if onFail != nil {
				if err := onFail(tx); err != nil {
					return err
				}
			}
			return s.failed(ctx, tx, a, reason, true)
		}
		if err := s.succeeded(ctx, tx, a); err != nil {
			return err
		}
		return onOK(tx)
	})
	if err != nil {
		return "", err
	}
	return reason, nil
}
