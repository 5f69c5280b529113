package campaign

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// ScheduleInput is when to send: a local time in an IANA timezone
// ("2026-03-02T09:00" in "America/Chicago"), or an RFC 3339 instant with
// its offset (the timezone then only labels it).
type ScheduleInput struct {
	SendAt   string
	Timezone string
}

// localLayouts are the wall-clock forms accepted with a timezone.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// parse reads the instant to send at.
func (in ScheduleInput) parse() (time.Time, string, error) {
	tz := strings.TrimSpace(in.Timezone)
	var loc *time.Location
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return time.Time{}, "", fe("timezone", "is not an IANA timezone name (e.g. America/Chicago)")
		}
		loc = l
	}
	v := strings.TrimSpace(in.SendAt)
	if v == "" {
		return time.Time{}, "", fe("send_at", "is required")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		if tz == "" {
			tz = "UTC"
		}
		return t.UTC(), tz, nil
	}
	if loc == nil {
		return time.Time{}, "", fe("timezone", "is required with a local send_at (or give send_at with its offset, RFC 3339)")
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), tz, nil
		}
	}
	return time.Time{}, "", fe("send_at", "must be a local time like 2026-03-02T09:00 or an RFC 3339 instant")
}

// Schedule sets a draft (or scheduled) campaign to start at a time. The
// start job is written with the campaign in one transaction.
func (s *Service) Schedule(ctx context.Context, a Actor, campaignID string, in ScheduleInput) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	at, tz, err := in.parse()
	if err != nil {
		return Campaign{}, err
	}
	if !at.After(s.now()) {
		return Campaign{}, fe("send_at", "is in the past: schedule a later time, or send now")
	}
	return s.transition(ctx, a, campaignID, "schedule", func(tx *store.Tx, r *store.CampaignRow) error {
		if err := s.check(ctx, tx, r); err != nil {
			return err
		}
		r.State, r.SendAt, r.Timezone, r.StateReason = string(Scheduled), at, tz, ""
		r.Epoch++
		_, err := s.deps.Jobs.InsertTx(ctx, tx, StartArgs{OrgID: r.OrgID, CampaignID: r.ID, Epoch: r.Epoch}, &river.InsertOpts{ScheduledAt: at})
		return err
	})
}

// Send starts a draft or scheduled campaign now.
func (s *Service) Send(ctx context.Context, a Actor, campaignID string) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	return s.transition(ctx, a, campaignID, "send", func(tx *store.Tx, r *store.CampaignRow) error {
		if err := s.check(ctx, tx, r); err != nil {
			return err
		}
		return s.startTx(ctx, tx, r)
	})
}

// startTx moves r to sending now and writes its prepare job.
func (s *Service) startTx(ctx context.Context, tx *store.Tx, r *store.CampaignRow) error {
	now := s.now()
	r.State, r.StartedAt, r.StateReason = string(Sending), now, ""
	if r.SendAt.IsZero() {
		r.SendAt = now
	}
	r.Epoch++
	_, err := s.deps.Jobs.InsertTx(ctx, tx, PrepareArgs{OrgID: r.OrgID, CampaignID: r.ID}, nil)
	return err
}

// Start is the start job: a scheduled campaign whose time came starts
// sending, unless it was rescheduled, paused or cancelled since (another
// epoch or state), or its sender domain or template no longer checks out,
// in which case it is paused with the reason.
func (s *Service) Start(ctx context.Context, orgID, campaignID string, epoch int) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetCampaign(ctx, tx, orgID, campaignID)
		if err != nil {
			return err
		}
		if r.State != string(Scheduled) || r.Epoch != epoch {
			return nil
		}
		action := "campaign.start"
		if err := s.check(ctx, tx, &r); err != nil {
			if !isFieldErrors(err) {
				return err
			}
			r.State, r.StateReason = string(Paused), reasonOf(err)
			action = "campaign.pause"
		} else if err := s.startTx(ctx, tx, &r); err != nil {
			return err
		}
		r.UpdatedAt = s.now()
		if err := store.UpdateCampaign(ctx, tx, r); err != nil {
			return err
		}
		return s.audit(ctx, tx, engineActor, action, r, map[string]string{"reason": r.StateReason})
	})
}

// Pause stops a sending (or scheduled) campaign: no batch claims another
// contact once it has committed; a chunk already being written finishes.
// Nothing is lost: resume continues with the contacts not yet sent to.
func (s *Service) Pause(ctx context.Context, a Actor, campaignID string) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	return s.transition(ctx, a, campaignID, "pause", func(_ *store.Tx, r *store.CampaignRow) error {
		r.State = string(Paused)
		return nil
	})
}

// Resume continues a paused campaign: a new epoch, and a job for every
// batch not yet done, spaced by the throttle from now. A campaign paused
// before its send time is scheduled again (or started, if the time has
// passed).
func (s *Service) Resume(ctx context.Context, a Actor, campaignID string) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	return s.transition(ctx, a, campaignID, "resume", func(tx *store.Tx, r *store.CampaignRow) error {
		if err := s.check(ctx, tx, r); err != nil {
			return err
		}
		now := s.now()
		if r.StartedAt.IsZero() {
			if r.SendAt.After(now) {
				r.State, r.StateReason = string(Scheduled), ""
				r.Epoch++
				_, err := s.deps.Jobs.InsertTx(ctx, tx, StartArgs{OrgID: r.OrgID, CampaignID: r.ID, Epoch: r.Epoch}, &river.InsertOpts{ScheduledAt: r.SendAt})
				return err
			}
			return s.startTx(ctx, tx, r)
		}
		r.State, r.StateReason = string(Sending), ""
		r.Epoch++
		pending, err := store.PendingCampaignBatches(ctx, tx, r.OrgID, r.ID)
		if err != nil {
			return err
		}
		due := make(map[int]time.Time, len(pending))
		next := now
		for _, b := range pending {
			due[b] = next
			opts := &river.InsertOpts{}
			if next.After(now) {
				opts.ScheduledAt = next
			}
			if _, err := s.deps.Jobs.InsertTx(ctx, tx, BatchArgs{OrgID: r.OrgID, CampaignID: r.ID, Batch: b, Epoch: r.Epoch}, opts); err != nil {
				return err
			}
			r.PacedUntil = next
			next = next.Add(s.interval(*r))
		}
		if err := store.RescheduleCampaignBatches(ctx, tx, r.OrgID, r.ID, due, now); err != nil {
			return err
		}
		if len(pending) == 0 && r.Prepared {
			// Everything was sent before the pause took effect.
			if _, err := store.CompleteCampaign(ctx, tx, r.OrgID, r.ID, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Cancel stops a campaign for good. Contacts not yet sent to stay pending
// and count as cancelled in the report.
func (s *Service) Cancel(ctx context.Context, a Actor, campaignID string) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	c, err := s.transition(ctx, a, campaignID, "cancel", func(_ *store.Tx, r *store.CampaignRow) error {
		r.State, r.FinishedAt = string(Cancelled), s.now()
		r.Epoch++
		return nil
	})
	if err == nil {
		s.forgetLinks(campaignID)
	}
	return c, err
}

// transition runs one person's action on a campaign in a transaction: lock
// the row, check the action is allowed in its state, apply, save, audit.
func (s *Service) transition(ctx context.Context, a Actor, campaignID, action string, apply func(*store.Tx, *store.CampaignRow) error) (Campaign, error) {
	var out store.CampaignRow
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetCampaign(ctx, tx, a.orgID, campaignID)
		if err != nil {
			return err
		}
		if err := allowed(action, State(r.State)); err != nil {
			return err
		}
		before := r.State
		if err := apply(tx, &r); err != nil {
			return err
		}
		r.UpdatedAt = s.now()
		if err := store.UpdateCampaign(ctx, tx, r); err != nil {
			return err
		}
		// Resume may have completed the campaign in the same transaction.
		if out, err = store.GetCampaign(ctx, tx, a.orgID, campaignID); err != nil {
			return err
		}
		more := map[string]string{"from_state": before, "epoch": strconv.Itoa(r.Epoch)}
		if !r.SendAt.IsZero() && action == "schedule" {
			more["send_at"], more["timezone"] = r.SendAt.UTC().Format(time.RFC3339), r.Timezone
		}
		return s.audit(ctx, tx, a.who, "campaign."+action, out, more)
	})
	if err != nil {
		return Campaign{}, err
	}
	return fromRow(out), nil
}

// batchSize is how many contacts a batch of r holds: the service's batch
// size, or less under a throttle so a batch never exceeds a minute's quota.
func (s *Service) batchSize(r store.CampaignRow) int {
	if r.Throttle > 0 && r.Throttle < s.opts.BatchSize {
		return r.Throttle
	}
	return s.opts.BatchSize
}

// interval is the time between two batches of r's: zero without a
// throttle; otherwise a batch's share of a minute.
func (s *Service) interval(r store.CampaignRow) time.Duration {
	if r.Throttle <= 0 {
		return 0
	}
	return time.Duration(float64(s.batchSize(r)) / float64(r.Throttle) * float64(time.Minute))
}

func isFieldErrors(err error) bool {
	var fes message.FieldErrors
	var f *message.FieldError
	return errors.As(err, &fes) || errors.As(err, &f)
}

// reasonOf is the first field problem of err, for StateReason.
func reasonOf(err error) string {
	var fes message.FieldErrors
	if errors.As(err, &fes) && len(fes) > 0 {
		return fes[0].Field + ": " + fes[0].Msg
	}
	var f *message.FieldError
	if errors.As(err, &f) {
		return f.Field + ": " + f.Msg
	}
	return "stopped by an error"
}
