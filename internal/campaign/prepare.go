package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/store"
)

// Prepare is the prepare job: it streams the campaign's audience, source
// after source, and writes it a page at a time — one page is one batch of
// recipients, its campaign_batches row and its batch job, with the cursor,
// in one transaction. A contact already targeted through an earlier
// source is not written again (the primary key), so each contact is in
// one batch. Preparing goes on while the campaign is paused (it sends
// nothing) and stops when it is cancelled. Run again after a crash, it
// resumes from the cursor.
func (s *Service) Prepare(ctx context.Context, orgID, campaignID string) error {
	r, err := store.GetCampaign(ctx, s.deps.DB.Reader(), orgID, campaignID)
	if err != nil {
		return err
	}
	if r.Prepared || (r.State != string(Sending) && r.State != string(Paused)) {
		return nil
	}
	var a Audience
	if err := decodeAudience(r.Audience, &a); err != nil {
		return err
	}
	size := s.batchSize(r)
	sources := a.sources()
	page := make([]string, 0, size)
	for si := r.CursorSource; si < len(sources); si++ {
		src := sources[si]
		after := ""
		if si == r.CursorSource {
			after = r.CursorAfter
		}
		listID := ""
		if src.kind == "list" {
			listID = src.id
		}
		flush := func() error {
			if len(page) == 0 {
				return nil
			}
			err := s.writePage(ctx, r, store.CampaignPage{OrgID: orgID, CampaignID: campaignID, ListID: listID,
				ContactIDs: page, Source: si, After: page[len(page)-1]})
			page = page[:0]
			return err
		}
		err := s.source(src).Members(ctx, orgID, src.id, after, func(contactID string) error {
			page = append(page, contactID)
			if len(page) < size {
				return nil
			}
			return flush()
		})
		if err == nil {
			err = flush()
		}
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("prepare campaign %s: %w", campaignID, err)
		}
	}
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if _, ok, err := store.LockPreparingCampaign(ctx, tx, orgID, campaignID); err != nil || !ok {
			return err
		}
		now := s.now()
		if err := store.MarkCampaignPrepared(ctx, tx, orgID, campaignID, now); err != nil {
			return err
		}
		done, err := store.CompleteCampaign(ctx, tx, orgID, campaignID, now)
		if err != nil || !done {
			return err
		}
		return s.auditCompleted(ctx, tx, orgID, campaignID)
	})
}

func (s *Service) source(src source) Source {
	if src.kind == "segment" {
		if s.deps.Segments == nil {
			return emptySource{}
		}
		return s.deps.Segments
	}
	return s.lists
}

// emptySource has no members (segments while package segment is not wired;
// a campaign cannot be saved with one then).
type emptySource struct{}

func (emptySource) Members(context.Context, string, string, string, func(string) error) error {
	return nil
}

// writePage writes one page in a transaction of its own and the batch job
// for it, due by the campaign's pace.
func (s *Service) writePage(ctx context.Context, r store.CampaignRow, p store.CampaignPage) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		lk, ok, err := store.LockPreparingCampaign(ctx, tx, p.OrgID, p.CampaignID)
		if err != nil {
			return err
		}
		if !ok {
			return errStop
		}
		now := s.now()
		p.At, p.DueAt = now, now
		if iv := s.interval(r); iv > 0 && !lk.PacedUntil.IsZero() {
			p.DueAt = later(now, lk.PacedUntil.Add(iv))
		}
		added, err := store.WriteCampaignPage(ctx, tx, p, lk.NextBatch)
		if err != nil || added == 0 {
			return err
		}
		opts := &river.InsertOpts{}
		if p.DueAt.After(now) {
			opts.ScheduledAt = p.DueAt
		}
		_, err = s.deps.Jobs.InsertTx(ctx, tx, BatchArgs{OrgID: p.OrgID, CampaignID: p.CampaignID, Batch: lk.NextBatch, Epoch: lk.Epoch}, opts)
		return err
	})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
