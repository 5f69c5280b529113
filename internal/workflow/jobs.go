package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/store"
)

// The engine's jobs. Timers are rows, not jobs: one job (RunArgs) works
// through every due row in batches; it is armed in the transaction that
// makes rows due now (an enrolment, an event), unique per second, and
// after each run for the next due time; a periodic job (every Tick)
// catches anything no arm covered. Bulk enrolments and date milestones are
// jobs of their own.

// RunArgs asks the engine to execute due contacts. At (Unix seconds) makes
// arms within one second one job.
type RunArgs struct {
	At int64 `json:"at"`
}

// Kind names the job in River's tables.
func (RunArgs) Kind() string { return "workflow_run" }

// InsertOpts makes arms unique per second.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	s *Service
}

func (w *runWorker) Work(ctx context.Context, _ *river.Job[RunArgs]) error {
	n, err := w.s.RunDue(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.s.opts.Log.Debug("workflow steps executed", "steps", n)
	}
	return w.s.armNext(ctx)
}

// Timeout lets a run use its budget.
func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return w.s.opts.Budget + time.Minute }

// arm inserts a run job in tx (when want) for the start of the next
// second. Every arm within one second is the same job (unique by At among
// jobs not yet finished), and that job starts only after the second is
// over, so it sees the work of every transaction that armed it: an arm is
// never lost to a job that already made its last claim. The cost is up to
// a second, plus the job engine's promotion of scheduled jobs, between an
// event and the step it releases.
func (s *Service) arm(ctx context.Context, tx *store.Tx, want bool) error {
	if !want || s.deps.Jobs == nil {
		return nil
	}
	at := time.Now().Truncate(time.Second).Add(time.Second)
	_, err := s.deps.Jobs.InsertTx(ctx, tx, RunArgs{At: at.Unix()}, &river.InsertOpts{ScheduledAt: at})
	return err
}

// armNext schedules a run job for the earliest due row, if any. The
// engine's clock and the job engine's agree in production; with a fake
// clock the job is scheduled by its offset from now.
func (s *Service) armNext(ctx context.Context) error {
	if s.deps.Jobs == nil {
		return nil
	}
	due, err := store.NextDue(ctx, s.deps.DB.Reader())
	if err != nil || due.IsZero() {
		return err
	}
	at := time.Now().Add(due.Sub(s.now()))
	if at.Before(time.Now()) {
		at = time.Now()
	}
	at = at.Truncate(time.Second).Add(time.Second)
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		_, err := s.deps.Jobs.InsertTx(ctx, tx, RunArgs{At: at.Unix()}, &river.InsertOpts{ScheduledAt: at})
		return err
	})
}

// EnrolArgs enrols the members of a list or segment trigger, a page per
// transaction, from the cursor saved with each page.
type EnrolArgs struct {
	OrgID      string `json:"org_id"`
	WorkflowID string `json:"workflow_id"`
	Source     string `json:"source"`
}

// Kind names the job in River's tables.
func (EnrolArgs) Kind() string { return "workflow_enrol" }

type enrolWorker struct {
	river.WorkerDefaults[EnrolArgs]
	s *Service
}

func (w *enrolWorker) Work(ctx context.Context, job *river.Job[EnrolArgs]) error {
	_, err := w.s.RunEnrolment(ctx, job.Args.OrgID, job.Args.WorkflowID, job.Args.Source)
	return err
}

// Timeout: a large list takes a while.
func (w *enrolWorker) Timeout(*river.Job[EnrolArgs]) time.Duration { return time.Hour }

// MilestoneArgs evaluates date triggers.
type MilestoneArgs struct{}

// Kind names the job in River's tables.
func (MilestoneArgs) Kind() string { return "workflow_milestones" }

type milestoneWorker struct {
	river.WorkerDefaults[MilestoneArgs]
	s *Service
}

func (w *milestoneWorker) Work(ctx context.Context, _ *river.Job[MilestoneArgs]) error {
	_, err := w.s.RunMilestones(ctx)
	return err
}

// Timeout: a scan of every contact with a date trigger.
func (w *milestoneWorker) Timeout(*river.Job[MilestoneArgs]) time.Duration { return time.Hour }

// Register adds the engine's workers to the node's job client.
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &runWorker{s: s})
	river.AddWorker(w, &enrolWorker{s: s})
	river.AddWorker(w, &milestoneWorker{s: s})
}

// PeriodicJobs are the engine's safety tick and the milestone check.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(s.opts.Tick),
			func() (river.JobArgs, *river.InsertOpts) { return RunArgs{At: time.Now().Unix()}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "workflow_tick"}),
		river.NewPeriodicJob(river.PeriodicInterval(s.opts.MilestoneInterval),
			func() (river.JobArgs, *river.InsertOpts) { return MilestoneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "workflow_milestones"}),
	}
}

// startBulk records a bulk enrolment and queues its job, in tx.
func (s *Service) startBulk(ctx context.Context, tx *store.Tx, orgID, workflowID string, d *Definition) error {
	source := "list:" + d.Trigger.ListID
	if d.Trigger.Type == TriggerSegment {
		source = "segment:" + d.Trigger.SegmentID
	}
	now := s.now()
	if err := store.PutWorkflowEnrolment(ctx, tx, store.WorkflowEnrolmentRow{OrgID: orgID, WorkflowID: workflowID, Source: source,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	if s.deps.Jobs == nil {
		return nil
	}
	_, err := s.deps.Jobs.InsertTx(ctx, tx, EnrolArgs{OrgID: orgID, WorkflowID: workflowID, Source: source}, nil)
	return err
}

// RunEnrolment enrols a bulk enrolment's contacts page by page, each page
// with its cursor in one transaction (a restart resumes after the last
// committed page), and returns how many entered. The job calls it.
func (s *Service) RunEnrolment(ctx context.Context, orgID, workflowID, source string) (int64, error) {
	var total int64
	for {
		prog, err := store.GetWorkflowEnrolment(ctx, s.deps.DB.Reader(), orgID, workflowID, source)
		if err != nil {
			return total, err
		}
		if prog.Done {
			return total, nil
		}
		ids, next, done, err := s.bulkPage(ctx, orgID, source, prog.Cursor)
		if err != nil {
			return total, err
		}
		err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
			n := 0
			if len(ids) > 0 {
				var err error
				if n, err = s.enrolTx(ctx, tx, orgID, workflowID, ids, "", source); err != nil {
					return err
				}
			}
			if next != "" {
				prog.Cursor = next
			}
			prog.Enrolled += int64(n)
			prog.Done = done
			prog.UpdatedAt = s.now()
			total += int64(n)
			return store.PutWorkflowEnrolment(ctx, tx, prog)
		})
		if err != nil {
			return total, fmt.Errorf("bulk enrolment of %s: %w", workflowID, err)
		}
	}
}

// bulkPage reads the next page of a bulk enrolment's source: the contacts
// to enrol, the cursor after the page, and whether it was the last.
func (s *Service) bulkPage(ctx context.Context, orgID, source, after string) (ids []string, next string, done bool, err error) {
	n := s.opts.EnrolPage
	if listID, ok := strings.CutPrefix(source, "list:"); ok {
		page, err := store.ListMembers(ctx, s.deps.DB.Reader(), orgID, listID, after, n)
		if err != nil {
			return nil, "", false, err
		}
		for _, m := range page {
			if m.State == "subscribed" {
				ids = append(ids, m.ContactID)
			}
		}
		if len(page) > 0 {
			next = page[len(page)-1].ContactID
		}
		return ids, next, len(page) < n, nil
	}
	ids, err = s.deps.Segments.Members(ctx, orgID, strings.TrimPrefix(source, "segment:"), after, n)
	if err != nil {
		return nil, "", false, err
	}
	if len(ids) > 0 {
		next = ids[len(ids)-1]
	}
	return ids, next, len(ids) < n, nil
}
