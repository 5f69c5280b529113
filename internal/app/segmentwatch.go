package app

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/segment"
)

// SegmentWatchArgs is the periodic sweep of watched dynamic segments
// (segment/watch.go): contacts that entered a segment an active
// workflow's segment_in trigger names start that workflow.
type SegmentWatchArgs struct{}

// Kind names the job in River's tables.
func (SegmentWatchArgs) Kind() string { return "segment_watch" }

// InsertOpts keeps one sweep queued or running at a time: a sweep slower
// than the interval is not stacked up behind itself.
func (SegmentWatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
		rivertype.JobStateRetryable}}}
}

type segmentWatchWorker struct {
	river.WorkerDefaults[SegmentWatchArgs]
	app *App
}

// Work runs one sweep. Sweeps are idempotent (an entry is recorded and
// told once, and enrolment refuses re-entry), so a rescued job repeats
// harmlessly.
func (w *segmentWatchWorker) Work(ctx context.Context, _ *river.Job[SegmentWatchArgs]) error {
	res, err := w.app.SweepSegments(ctx)
	if res.Entered > 0 || res.Baselines > 0 {
		w.app.Log.Info("swept watched segments", "segments", res.Segments, "baselines", res.Baselines,
			"entered", res.Entered, "left", res.Left)
	}
	return err
}

// SweepSegments sweeps the dynamic segments active workflows watch
// (segment_in triggers) and forgets the rest: what the segment_watch job
// runs.
func (a *App) SweepSegments(ctx context.Context) (segment.SweepResult, error) {
	if a.Segments == nil || a.Workflows == nil {
		return segment.SweepResult{}, nil
	}
	pairs, err := a.Workflows.WatchedSegments(ctx)
	if err != nil {
		return segment.SweepResult{}, fmt.Errorf("watched segments: %w", err)
	}
	refs := make([]segment.Ref, len(pairs))
	for i, p := range pairs {
		refs[i] = segment.Ref{OrgID: p[0], SegmentID: p[1]}
	}
	return a.Segments.SweepWatched(ctx, refs)
}

// segmentWatch registers the sweep's worker and returns its periodic job
// (River's leader schedules it, so one node sweeps).
func (a *App) segmentWatch(workers *river.Workers) *river.PeriodicJob {
	river.AddWorker(workers, &segmentWatchWorker{app: a})
	return river.NewPeriodicJob(river.PeriodicInterval(a.Config.Marketing.SegmentWatchInterval.Duration()),
		func() (river.JobArgs, *river.InsertOpts) { return SegmentWatchArgs{}, nil },
		&river.PeriodicJobOpts{ID: "segment_watch"})
}
