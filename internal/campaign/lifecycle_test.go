package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func people(n int) []person {
	out := make([]person, n)
	for i := range out {
		out[i] = person{local: fmt.Sprintf("p%03d", i), consent: true}
	}
	return out
}

// oneMessageEach checks every targeted contact has exactly one message and
// a sent row naming it.
func oneMessageEach(t *testing.T, e *env, id string, ids map[string]string) {
	t.Helper()
	rs := e.recipients(id)
	for who, cid := range ids {
		if r := rs[cid]; r.State != "sent" || r.MessageID == "" {
			t.Fatalf("%s: %+v, want sent", who, r)
		}
	}
	if n := e.count(`SELECT count(*) FROM messages WHERE org_id = ? AND source = 'campaign'`, e.org); n != len(ids) {
		t.Fatalf("%d messages for %d contacts", n, len(ids))
	}
	if n := e.count(`SELECT count(DISTINCT message_id) FROM campaign_recipients WHERE campaign_id = ? AND state = 'sent'`, id); n != len(ids) {
		t.Fatalf("%d distinct messages named for %d contacts", n, len(ids))
	}
}

// TestExactlyOnceAcrossCrashesAndRetries crashes a batch after its first
// committed chunk (as kill -9 after a commit would leave it), runs the job
// again as River's retry would, then runs every batch and the prepare once
// more as a duplicate delivery of the jobs would: each contact gets one
// message, and the counts do not move.
func TestExactlyOnceAcrossCrashesAndRetries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		var crashes atomic.Int32
		crash := errors.New("killed")
		e := setup(t, d, func(o *campaign.Options) {
			o.AfterChunk = func(string, int) error {
				if crashes.Add(1) == 1 {
					return crash
				}
				return nil
			}
		})
		ctx := context.Background()
		ids := e.contacts(people(25)...)
		c, err := e.svc.Send(ctx, e.admin(), e.create(nil).ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil { // the prepare job delivered twice
			t.Fatal(err)
		}
		c = e.get(c.ID)
		if c.Targeted != 25 || c.Batches != 3 {
			t.Fatalf("prepared %d contacts in %d batches, want 25 in 3", c.Targeted, c.Batches)
		}
		epoch := e.epoch(c.ID)
		if err := e.svc.RunBatch(ctx, e.org, c.ID, 0, epoch); !errors.Is(err, crash) {
			t.Fatalf("first run of batch 0: %v", err)
		}
		if n := e.count(`SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? AND state = 'sent'`, c.ID); n != 4 {
			t.Fatalf("%d sent after the crash, want the first chunk's 4", n)
		}
		e.batches(c.ID)                                                      // River's retry of batch 0, and batches 1 and 2
		e.batches(c.ID)                                                      // every job once more
		if err := e.svc.RunBatch(ctx, e.org, c.ID, 0, epoch-1); err != nil { // a job of an older epoch
			t.Fatal(err)
		}
		oneMessageEach(t, e, c.ID, ids)
		c = e.get(c.ID)
		if c.State != campaign.Completed || c.BatchesDone != 3 {
			t.Fatalf("campaign %s with %d batches done", c.State, c.BatchesDone)
		}
		if rep := e.report(c.ID, e.admin()); rep.Sent.N != 25 || rep.Targeted.N != 25 {
			t.Fatalf("report sent %d of %d", rep.Sent.N, rep.Targeted.N)
		}
	})
}

// TestPauseResumeCancel pauses a campaign in the middle of a batch: the
// batch stops after the chunk in flight, jobs of the old epoch do nothing,
// and resume sends the rest, each contact once. Cancel stops another for
// good, and its report counts the contacts never sent to as cancelled.
func TestPauseResumeCancel(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		var pauseOnce atomic.Bool
		var e *env
		var target atomic.Value
		e = setup(t, d, func(o *campaign.Options) {
			o.AfterChunk = func(id string, _ int) error {
				if id == target.Load() && pauseOnce.CompareAndSwap(false, true) {
					if _, err := e.svc.Pause(context.Background(), e.admin(), id); err != nil {
						return err
					}
				}
				return nil
			}
		})
		ctx := context.Background()
		ids := e.contacts(people(22)...)
		c := e.create(nil)
		target.Store(c.ID)
		c, err := e.svc.Send(ctx, e.admin(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
			t.Fatal(err)
		}
		old := e.epoch(c.ID)
		e.batches(c.ID)
		c = e.get(c.ID)
		sent := e.count(`SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? AND state = 'sent'`, c.ID)
		if c.State != campaign.Paused || sent != 4 {
			t.Fatalf("after pause: %s with %d sent, want paused with the one chunk in flight (4)", c.State, sent)
		}
		if _, err := e.svc.Pause(ctx, e.admin(), c.ID); !isState(err) {
			t.Fatalf("pausing a paused campaign: %v", err)
		}
		for b := 0; b < c.Batches; b++ { // jobs of the old epoch
			if err := e.svc.RunBatch(ctx, e.org, c.ID, b, old); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.count(`SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? AND state = 'sent'`, c.ID); n != 4 {
			t.Fatalf("%d sent while paused", n)
		}
		if c, err = e.svc.Resume(ctx, e.admin(), c.ID); err != nil || c.State != campaign.Sending {
			t.Fatalf("resume: %v %v", c.State, err)
		}
		if n := e.count(`SELECT count(*) FROM river_job WHERE kind = 'campaign_batch'`); n != 3+3 {
			t.Fatalf("%d batch jobs after resume, want the first 3 and 3 more", n)
		}
		e.batches(c.ID)
		oneMessageEach(t, e, c.ID, ids)
		if c = e.get(c.ID); c.State != campaign.Completed {
			t.Fatalf("resumed campaign is %s", c.State)
		}

		// Cancel half way: prepared, nothing sent.
		k := e.create(nil)
		k, err = e.svc.Send(ctx, e.admin(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Prepare(ctx, e.org, k.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RunBatch(ctx, e.org, k.ID, 0, e.epoch(k.ID)); err != nil {
			t.Fatal(err)
		}
		if k, err = e.svc.Cancel(ctx, e.admin(), k.ID); err != nil || k.State != campaign.Cancelled {
			t.Fatalf("cancel: %v %v", k.State, err)
		}
		e.batches(k.ID)
		rep := e.report(k.ID, e.admin())
		if rep.Sent.N != 10 || rep.Cancelled.N != 12 || rep.Pending.N != 0 {
			t.Fatalf("cancelled report: sent %d cancelled %d pending %d; want 10, 12, 0", rep.Sent.N, rep.Cancelled.N, rep.Pending.N)
		}
		if _, err := e.svc.Resume(ctx, e.admin(), k.ID); !isState(err) {
			t.Fatalf("resuming a cancelled campaign: %v", err)
		}
		if _, err := e.svc.Update(ctx, e.admin(), k.ID, campaign.Input{}); !isState(err) {
			t.Fatalf("editing a cancelled campaign: %v", err)
		}
	})
}

func isState(err error) bool {
	var se *campaign.StateError
	return errors.As(err, &se)
}

// TestThrottleSpacesBatches prepares a campaign limited to 3 messages a
// minute: batches of 3, due a minute apart.
func TestThrottleSpacesBatches(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	ctx := context.Background()
	e.contacts(people(8)...)
	c := e.create(func(in *campaign.Input) { n := 3; in.Throttle = &n })
	c, err := e.svc.Send(ctx, e.admin(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
		t.Fatal(err)
	}
	rows, err := e.a.DB.Reader().Query(ctx, `SELECT size, due_at FROM campaign_batches WHERE campaign_id = ? ORDER BY batch`, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sizes []int
	var dues []time.Time
	for rows.Next() {
		var size int
		var due int64
		if err := rows.Scan(&size, &due); err != nil {
			t.Fatal(err)
		}
		sizes, dues = append(sizes, size), append(dues, store.FromMicros(due))
	}
	if fmt.Sprint(sizes) != "[3 3 2]" {
		t.Fatalf("batch sizes %v, want [3 3 2]", sizes)
	}
	for i := 1; i < len(dues); i++ {
		if gap := dues[i].Sub(dues[i-1]); gap != time.Minute {
			t.Fatalf("batch %d is due %v after the one before, want 1m", i, gap)
		}
	}
}

// TestSweepRestartsStalledWork: batches and a prepare that no job touched
// for a lease (their node was killed) get new jobs; fresh ones do not.
func TestSweepRestartsStalledWork(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	ctx := context.Background()
	e.contacts(people(25)...)
	c, err := e.svc.Send(ctx, e.admin(), e.create(nil).ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Send(ctx, e.admin(), e.create(nil).ID); err != nil { // its prepare job "died"
		t.Fatal(err)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep of fresh work: %d %v", n, err)
	}
	before := e.count(`SELECT count(*) FROM river_job WHERE kind IN ('campaign_batch', 'campaign_prepare')`)
	e.clock.Advance(6 * time.Minute)
	if err := e.svc.RunBatch(ctx, e.org, c.ID, 1, e.epoch(c.ID)); err != nil { // batch 1 is worked now
		t.Fatal(err)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 2+1 {
		t.Fatalf("sweep: %d jobs (%v), want batches 0 and 2 and one prepare", n, err)
	}
	if got := e.count(`SELECT count(*) FROM river_job WHERE kind IN ('campaign_batch', 'campaign_prepare')`); got != before+3 {
		t.Fatalf("%d jobs, want %d", got, before+3)
	}
	if n, _ := e.svc.Sweep(ctx); n != 0 {
		t.Fatalf("a second sweep inserted %d more", n)
	}
}
