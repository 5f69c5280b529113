package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/tracking"
)

// item is one contact of a chunk: its new recipient state and, when it is
// sent to, the prepared message.
type item struct {
	rc   store.CampaignRecipient
	prep *outbox.Prepared
}

// batchRun is one run of one batch.
type batchRun struct {
	s     *Service
	sd    *sender
	epoch int
	batch int
	sent  int
	skip  int
}

// RunBatch is the batch job: it sends one batch of a sending campaign.
// It reads the batch's pending recipients and the contacts as they are
// now, skips those who must not get the message (skip.go, with the reason
// recorded), renders and prepares the others through the outbox, and
// writes a chunk at a time in group-committed transactions: each
// recipient's row moves from pending in the transaction that writes its
// message, and only while the campaign is still sending in epoch. Run
// again — a retry, a node killed after a commit, the sweep — it finds
// only what is still pending, so no contact gets the campaign twice; a
// job of an older epoch (before a pause, resume or cancel) does nothing.
func (s *Service) RunBatch(ctx context.Context, orgID, campaignID string, batch, epoch int) error {
	q := s.deps.DB.Reader()
	r, err := store.GetCampaign(ctx, q, orgID, campaignID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.State != string(Sending) || r.Epoch != epoch {
		return nil
	}
	// A transaction of its own, not group commit: a shared transaction
	// holds the organization's audit head, and finishBatch takes the batch
	// row before the audit head; the two orders would deadlock on
	// PostgreSQL.
	if err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		return store.TouchCampaignBatch(ctx, tx, orgID, campaignID, batch, s.now())
	}); err != nil {
		return err
	}
	pending, err := store.PendingCampaignRecipients(ctx, q, orgID, campaignID, batch)
	if err != nil {
		return err
	}
	b := &batchRun{s: s, epoch: epoch, batch: batch}
	if len(pending) > 0 {
		if b.sd, err = s.newSender(ctx, r); err != nil {
			return err
		}
		stopped, err := b.send(ctx, pending)
		if err != nil {
			return s.batchFailed(ctx, r, err)
		}
		if stopped {
			return nil
		}
	}
	return s.finishBatch(ctx, r, b)
}

// send works through pending a chunk at a time and reports whether it
// stopped because the campaign did.
func (b *batchRun) send(ctx context.Context, pending []store.CampaignRecipient) (bool, error) {
	s, r := b.s, b.sd.c
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = p.ContactID
	}
	contacts, err := s.deps.Contacts.Load(ctx, r.OrgID, ids)
	if err != nil {
		return false, err
	}
	if s.deps.Keys != nil {
		emails := make([]string, 0, len(contacts))
		for _, c := range contacts {
			emails = append(emails, c.Email)
		}
		if b.sd.keys, err = s.deps.Keys.Prefetch(ctx, r.OrgID, emails); err != nil {
			return false, err
		}
	}
	st := audienceState{memberships: map[string]map[string]string{}}
	q := s.deps.DB.Reader()
	byList := map[string][]string{}
	for _, p := range pending {
		if p.ListID != "" {
			byList[p.ListID] = append(byList[p.ListID], p.ContactID)
		}
	}
	for list, cids := range byList {
		states, err := store.ListMemberStates(ctx, q, r.OrgID, list, cids)
		if err != nil {
			return false, err
		}
		st.memberships[list] = states
	}
	if st.unsubscribed, err = store.Unsubscribes(ctx, q, r.OrgID, ids); err != nil {
		return false, err
	}
	for start := 0; start < len(pending); start += s.opts.Chunk {
		chunk := pending[start:min(start+s.opts.Chunk, len(pending))]
		for attempt := 0; ; attempt++ {
			now := s.now()
			items := make([]item, 0, len(chunk))
			for _, rc := range chunk {
				it, err := b.prepare(ctx, rc, contacts, st, now)
				if err != nil {
					return false, err
				}
				items = append(items, it)
			}
			err := b.commit(ctx, items, now)
			if errors.Is(err, tracking.ErrLinkConflict) && attempt < 3 {
				// Another node gave a link index to another URL first: take
				// its table and render the chunk again.
				if b.sd.links, err = s.linkTable(ctx, r.OrgID, r.ID, true); err != nil {
					return false, err
				}
				continue
			}
			if err != nil {
				return false, err
			}
			break
		}
		if s.opts.AfterChunk != nil {
			if err := s.opts.AfterChunk(r.ID, b.batch); err != nil {
				return false, err
			}
		}
		cur, err := store.GetCampaign(ctx, q, r.OrgID, r.ID)
		if err != nil {
			return false, err
		}
		if cur.State != string(Sending) || cur.Epoch != b.epoch {
			return true, nil
		}
	}
	return false, nil
}

// prepare decides one contact: skipped with a reason, or its message.
func (b *batchRun) prepare(ctx context.Context, rc store.CampaignRecipient, contacts map[string]contact.Contact, st audienceState, now time.Time) (item, error) {
	c, found := contacts[rc.ContactID]
	if reason := skipReason(rc, c, found, b.sd.c.UsesPHI, st, now); reason != "" {
		return item{rc: store.CampaignRecipient{ContactID: rc.ContactID, State: "skipped", Reason: reason}}, nil
	}
	p, err := b.sd.message(ctx, rc, c, now)
	var sk errSkip
	if errors.As(err, &sk) {
		return item{rc: store.CampaignRecipient{ContactID: rc.ContactID, State: "skipped", Reason: sk.reason}}, nil
	}
	if err != nil {
		return item{}, fmt.Errorf("prepare message for contact %s: %w", rc.ContactID, err)
	}
	return item{rc: store.CampaignRecipient{ContactID: rc.ContactID, State: "sent", MessageID: p.MessageID()}, prep: p}, nil
}

// commit writes a chunk: each recipient's new state and, for those sent
// to, the message through the outbox, plus the new tracking links, in one
// group-committed transaction.
func (b *batchRun) commit(ctx context.Context, items []item, now time.Time) error {
	s, r := b.s, b.sd.c
	rcs := make([]store.CampaignRecipient, len(items))
	for i, it := range items {
		rcs[i] = it.rc
	}
	var sent, skipped int
	err := s.write(ctx, func(tx *store.Tx) error {
		settled, err := store.SettleCampaignRecipients(ctx, tx, r.OrgID, r.ID, b.epoch, rcs, now)
		if err != nil {
			return err
		}
		ps := make([]*outbox.Prepared, 0, len(items))
		sent, skipped = 0, 0
		for _, it := range items {
			switch {
			case !settled[it.rc.ContactID]:
				// settled before, or the campaign stopped
			case it.prep == nil:
				skipped++
			default:
				ps = append(ps, it.prep)
			}
		}
		if _, err := s.deps.Outbox.CommitManyTx(ctx, tx, ps); err != nil {
			return err
		}
		sent = len(ps)
		return s.deps.Tracking.SaveLinks(ctx, tx, r.OrgID, b.sd.links)
	})
	if err == nil {
		b.sent, b.skip = b.sent+sent, b.skip+skipped
	}
	return err
}

// finishBatch marks the batch done, audits what it did and completes the
// campaign when it was the last.
func (s *Service) finishBatch(ctx context.Context, r store.CampaignRow, b *batchRun) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		now := s.now()
		first, err := store.FinishCampaignBatch(ctx, tx, r.OrgID, r.ID, b.batch, now)
		if err != nil || !first {
			return err
		}
		if err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: r.OrgID, Actor: engineActor, Action: "campaign.batch",
			TargetType: "campaign", TargetID: r.ID, Outcome: audit.Success,
			Details: map[string]string{"batch": strconv.Itoa(b.batch), "sent": strconv.Itoa(b.sent), "skipped": strconv.Itoa(b.skip)}}); err != nil {
			return err
		}
		done, err := store.CompleteCampaign(ctx, tx, r.OrgID, r.ID, now)
		if err != nil || !done {
			return err
		}
		return s.auditCompleted(ctx, tx, r.OrgID, r.ID)
	})
}

func (s *Service) auditCompleted(ctx context.Context, tx *store.Tx, orgID, campaignID string) error {
	s.forgetLinks(campaignID)
	r, err := store.GetCampaign(ctx, tx, orgID, campaignID)
	if err != nil {
		return err
	}
	return s.audit(ctx, tx, engineActor, "campaign.complete", r, map[string]string{"targeted": strconv.FormatInt(r.Targeted, 10)})
}

// batchFailed handles an error that stopped a batch. A field error from
// the outbox's transaction (the sender domain is no longer verified) would
// fail every retry the same way: the campaign is paused with the reason,
// for a person to fix and resume. Anything else goes back to the job
// engine, which retries with backoff.
func (s *Service) batchFailed(ctx context.Context, r store.CampaignRow, cause error) error {
	if !isFieldErrors(cause) {
		return cause
	}
	reason := reasonOf(cause)
	s.opts.Log.Warn("campaign paused: a batch cannot be sent", "org_id", r.OrgID, "campaign_id", r.ID, "reason", reason)
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, err := store.GetCampaign(ctx, tx, r.OrgID, r.ID)
		if err != nil {
			return err
		}
		if cur.State != string(Sending) {
			return nil
		}
		cur.State, cur.StateReason, cur.UpdatedAt = string(Paused), reason, s.now()
		if err := store.UpdateCampaign(ctx, tx, cur); err != nil {
			return err
		}
		return s.audit(ctx, tx, engineActor, "campaign.pause", cur, map[string]string{"reason": reason})
	})
}
