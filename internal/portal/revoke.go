package portal

import (
	"context"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Revoke withdraws one portal delivery: the portal refuses it from then
// on and its sessions end. The sender or a holder of messages:revoke may;
// revoking twice is not an error. Audited as portal.revoke with the
// principal as actor, with a message.revoked event.
func (s *Service) Revoke(ctx context.Context, p auth.Principal, id string) (Delivery, error) {
	var out Delivery
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, msg, err := s.visible(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !mayManage(p, msg) {
			return ErrForbidden
		}
		out, err = s.end(ctx, tx, it, store.PortalRevoked, p.Actor())
		return err
	})
	return out, err
}

// RevokeMessage withdraws the portal deliveries of a message — all of
// them, or those of the recipients listed — and returns them. A message
// the principal may not see is ErrNotFound.
func (s *Service) RevokeMessage(ctx context.Context, p auth.Principal, messageID string, recipientIDs []string) ([]Delivery, error) {
	out := []Delivery{}
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if !seesAll(p) && !p.Perms.Has(access.MessagesSend) {
			return ErrForbidden
		}
		msg, err := store.GetMessage(ctx, tx, p.OrgID, messageID)
		if err != nil {
			return err
		}
		if !seesAll(p) && (p.UserID == "" || msg.SenderUserID != p.UserID) {
			return ErrNotFound
		}
		if !mayManage(p, msg) {
			return ErrForbidden
		}
		items, err := store.ListPortalItems(ctx, tx, p.OrgID, store.PortalItemFilter{MessageID: messageID, Limit: 10000})
		if err != nil {
			return err
		}
		for _, r := range items {
			if len(recipientIDs) > 0 && !slices.Contains(recipientIDs, r.RecipientID) {
				continue
			}
			it, err := store.GetPortalItem(ctx, tx, p.OrgID, r.ID) // locked
			if err != nil {
				return err
			}
			d, err := s.end(ctx, tx, it, store.PortalRevoked, p.Actor())
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// end moves an active item to revoked or expired in tx, ends its
// sessions, and records the event and the audit entry. An item already
// ended is returned as it is.
func (s *Service) end(ctx context.Context, tx *store.Tx, it store.PortalItemRow, state string, actor audit.Actor) (Delivery, error) {
	now := s.now()
	by := ""
	if state == store.PortalRevoked {
		by = string(actor.Type) + ":" + actor.ID
	}
	ended, err := store.EndPortalItem(ctx, tx, it.OrgID, it.ID, state, by, now)
	if err != nil || !ended {
		return s.delivery(it), err
	}
	if err := store.EndPortalSessions(ctx, tx, "", it.ID, now); err != nil {
		return Delivery{}, err
	}
	typ, action := webhook.EventExpired, "portal.expire"
	it.State, it.ExpiredAt = state, now
	if state == store.PortalRevoked {
		typ, action = webhook.EventRevoked, "portal.revoke"
		it.RevokedAt, it.ExpiredAt, it.RevokedBy = now, time.Time{}, by
	}
	if err := s.record(ctx, tx, it, typ, map[string]any{"state": state, "by": string(actor.Type)}); err != nil {
		return Delivery{}, err
	}
	if err := s.appendAudit(ctx, tx, it, actor, action, audit.Success, nil); err != nil {
		return Delivery{}, err
	}
	return s.delivery(it), nil
}

// ExpireDue marks every active item whose expiry has come as expired, in
// batches, with its message.expired event and portal.expire entry (actor
// system:portal). The portal already refuses such items before this runs;
// the sweep makes the state and the event true.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	n := 0
	for {
		due, err := store.DuePortalItems(ctx, s.deps.DB.Reader(), s.now(), 100)
		if err != nil || len(due) == 0 {
			return n, err
		}
		err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
			for _, r := range due {
				it, err := store.GetPortalItem(ctx, tx, r.OrgID, r.ID)
				if err != nil {
					return err
				}
				if _, err := s.end(ctx, tx, it, store.PortalExpired, system); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(due)
	}
}

// ExpireArgs is the periodic sweep job.
type ExpireArgs struct{}

// Kind names the job.
func (ExpireArgs) Kind() string { return "portal_expire" }

type expireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	s *Service
}

func (w *expireWorker) Work(ctx context.Context, _ *river.Job[ExpireArgs]) error {
	n, err := w.s.ExpireDue(ctx)
	if n > 0 {
		w.s.opts.Logger.Info("portal messages expired", "count", n)
	}
	return err
}

// Register adds the portal's workers to the job client.
func (s *Service) Register(workers *river.Workers) { river.AddWorker(workers, &expireWorker{s: s}) }

// PeriodicJobs is the expiry sweep, every Options.SweepInterval.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.SweepInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "portal_expire"})}
}
