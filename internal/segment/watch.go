package segment

import (
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/store"
)

// Entering a dynamic segment.
//
// A static segment's entries are seen as they happen (AddStatic and
// AddMembers tell the observer). A dynamic segment has no such moment: a
// contact enters it when an update, an import, an event or merely the
// clock (days_since(last_visit) > 180) makes its expression true. So the
// segments someone watches (an active workflow's segment_in trigger) are
// swept: evaluated again and compared, in contact id order, with the
// members seen last time (table segment_entries). Contacts that are
// members now and were not are entries, told to the observer in the
// transaction that records them; contacts that left are forgotten, so a
// later return is an entry again (the workflow's no-re-entry rule still
// applies). This is how Mautic's segment rebuild starts its campaigns;
// the latency is the sweep interval (marketing.segment_watch_interval).
//
// The first sweep of a segment, and the first after its expression
// changed, takes a baseline: it records the members without telling
// anyone, so publishing a workflow or editing a segment does not count
// everyone already matching as entering (the "segment" trigger enrols
// current members on purpose). A segment nobody watches any more is
// forgotten, so watching it again starts from a new baseline.

// Ref names one organization's segment.
type Ref struct{ OrgID, SegmentID string }

// SweepResult counts what sweeps saw.
type SweepResult struct {
	// Segments swept, and of those, Baselines taken.
	Segments, Baselines int
	// Members in the swept segments now.
	Members int64
	// Entered: contacts told to the observer; Left: contacts that are no
	// longer members.
	Entered, Left int
}

func (r *SweepResult) add(o SweepResult) {
	r.Segments += o.Segments
	r.Baselines += o.Baselines
	r.Members += o.Members
	r.Entered += o.Entered
	r.Left += o.Left
}

// sweepBatch is how many changes one transaction records.
const sweepBatch = 1000

// SweepWatched makes watched the set of segments: it forgets watches of
// segments not in it, and sweeps each dynamic one (static segments and
// segments that no longer exist are skipped). A failure on one segment
// does not stop the others; the failures are returned together.
func (s *Service) SweepWatched(ctx context.Context, watched []Ref) (SweepResult, error) {
	var total SweepResult
	want := make(map[Ref]bool, len(watched))
	for _, r := range watched {
		want[r] = true
	}
	have, err := store.SegmentWatches(ctx, s.deps.DB.Reader())
	if err != nil {
		return total, err
	}
	var errs []error
	for _, w := range have {
		if want[Ref{w.OrgID, w.SegmentID}] {
			continue
		}
		if err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error { return store.DeleteSegmentWatch(ctx, tx, w.OrgID, w.SegmentID) }); err != nil {
			errs = append(errs, err)
		}
	}
	for r := range want {
		res, err := s.Sweep(ctx, r)
		total.add(res)
		if err != nil {
			s.opts.Log.Error("segment sweep failed", "org", r.OrgID, "segment", r.SegmentID, "err", err)
			errs = append(errs, fmt.Errorf("sweep segment %s/%s: %w", r.OrgID, r.SegmentID, err))
		}
	}
	return total, errors.Join(errs...)
}

// Sweep evaluates one dynamic segment and records who entered and left
// since its last sweep, telling the observer about entries (see above).
// A static segment, or one that does not exist, is nothing to sweep.
func (s *Service) Sweep(ctx context.Context, ref Ref) (SweepResult, error) {
	var res SweepResult
	row, err := store.GetSegment(ctx, s.deps.DB.Reader(), ref.OrgID, ref.SegmentID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && Kind(row.Kind) != Dynamic) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	now := s.now()
	watch, err := store.GetSegmentWatch(ctx, s.deps.DB.Reader(), ref.OrgID, ref.SegmentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		watch = store.SegmentWatchRow{OrgID: ref.OrgID, SegmentID: ref.SegmentID}
	case err != nil:
		return res, err
	}
	primed := !watch.PrimedAt.IsZero() && watch.Version == row.Version // a row exists and took this version's baseline
	res.Segments = 1
	if !primed {
		res.Baselines = 1
		watch.Version, watch.PrimedAt = row.Version, now
	}

	seen := &entryCursor{s: s, ref: ref}
	var add, drop []string
	flush := func() error {
		if len(add) == 0 && len(drop) == 0 {
			return nil
		}
		err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
			added, err := store.AddSegmentEntries(ctx, tx, ref.OrgID, ref.SegmentID, add, now)
			if err != nil {
				return err
			}
			if err := store.RemoveSegmentEntries(ctx, tx, ref.OrgID, ref.SegmentID, drop); err != nil {
				return err
			}
			if primed {
				if err := s.notifyEntered(ctx, tx, ref.OrgID, ref.SegmentID, added); err != nil {
					return err
				}
				res.Entered += len(added)
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Left += len(drop)
		add, drop = add[:0], drop[:0]
		return nil
	}
	// Merge two ascending streams: members now, members seen.
	for id, err := range s.MembersAfter(ctx, ref.OrgID, ref.SegmentID, "") {
		if err != nil {
			return res, err
		}
		res.Members++
		for {
			head, ok, err := seen.peek(ctx)
			if err != nil {
				return res, err
			}
			if !ok || head > id {
				add = append(add, id)
				break
			}
			seen.pop()
			if head == id {
				break
			}
			drop = append(drop, head)
		}
		if len(add)+len(drop) >= sweepBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	for {
		head, ok, err := seen.peek(ctx)
		if err != nil {
			return res, err
		}
		if !ok {
			break
		}
		seen.pop()
		if drop = append(drop, head); len(drop) >= sweepBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	watch.SweptAt = now
	return res, s.deps.DB.Tx(ctx, func(tx *store.Tx) error { return store.PutSegmentWatch(ctx, tx, watch) })
}

// entryCursor reads the members seen last time in id order, a page at a
// time. Pages are read ahead of the merge: every id the merge writes
// (an entry or a removal) is at or below the last id read, or the table
// was read to its end, so no page ever returns the merge's own writes.
type entryCursor struct {
	s     *Service
	ref   Ref
	buf   []string
	after string
	done  bool
}

func (c *entryCursor) peek(ctx context.Context) (string, bool, error) {
	if len(c.buf) == 0 && !c.done {
		page, err := store.SegmentEntriesPage(ctx, c.s.deps.DB.Reader(), c.ref.OrgID, c.ref.SegmentID, c.after, sweepBatch)
		if err != nil {
			return "", false, err
		}
		c.buf, c.done = page, len(page) < sweepBatch
		if len(page) > 0 {
			c.after = page[len(page)-1]
		}
	}
	if len(c.buf) == 0 {
		return "", false, nil
	}
	return c.buf[0], true, nil
}

func (c *entryCursor) pop() { c.buf = c.buf[1:] }
