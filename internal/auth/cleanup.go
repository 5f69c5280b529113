package auth

import (
	"context"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// SessionKeep is how long a session row is kept after it ended or expired,
// so users and administrators can still see recent sign-ins in the session
// list; the audit log keeps the sign-ins themselves for its retention.
const SessionKeep = 30 * 24 * time.Hour

// Cleaned counts what Cleanup removed.
type Cleaned struct {
	Throttle, LoginFlows, OIDCStates, Sessions int
}

// Cleanup removes the sign-in state that grants nothing any more: throttle
// counters that block nothing and have been quiet for ForgetAfter, half
// sign-ins and SSO states past their expiry, and sessions that ended or
// expired more than SessionKeep ago. Sign-ins prune their own kind as they
// go; this periodic sweep (the app's auth_cleanup job) catches the rest, so
// the tables stay the size of the live state. One transaction.
func (s *Service) Cleanup(ctx context.Context) (Cleaned, error) {
	var c Cleaned
	err := s.tx(ctx, func(tx *store.Tx) error {
		now := s.now()
		var err error
		if c.Throttle, err = store.PruneThrottle(ctx, tx, now, now.Add(-s.opts.Throttle.ForgetAfter)); err != nil {
			return err
		}
		if c.LoginFlows, err = store.DeleteExpiredLoginFlows(ctx, tx, now); err != nil {
			return err
		}
		if c.OIDCStates, err = store.DeleteExpiredOIDCStates(ctx, tx, now); err != nil {
			return err
		}
		c.Sessions, err = store.DeleteOldSessions(ctx, tx, now.Add(-SessionKeep))
		return err
	})
	return c, err
}
