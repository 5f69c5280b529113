package contact

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/store"
)

// ImportArgs runs one import: one job for the whole file, which batches
// internally (River's per-job overhead would dominate a job per row).
type ImportArgs struct {
	OrgID    string `json:"org_id"`
	ImportID string `json:"import_id"`
}

// Kind names the job in River's tables.
func (ImportArgs) Kind() string { return "contact_import" }

// ImportSweepArgs resumes imports whose worker died.
type ImportSweepArgs struct{}

// Kind names the job in River's tables.
func (ImportSweepArgs) Kind() string { return "contact_import_sweep" }

type importWorker struct {
	river.WorkerDefaults[ImportArgs]
	s *Service
}

// Timeout: an import of millions of rows runs for minutes; its lease, not
// a job timeout, is what hands it to another node when this one dies.
func (w *importWorker) Timeout(*river.Job[ImportArgs]) time.Duration { return -1 }

func (w *importWorker) Work(ctx context.Context, job *river.Job[ImportArgs]) error {
	return w.s.RunImport(ctx, job.Args.OrgID, job.Args.ImportID)
}

type sweepWorker struct {
	river.WorkerDefaults[ImportSweepArgs]
	s *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[ImportSweepArgs]) error {
	_, err := w.s.ResumeStalled(ctx)
	return err
}

// Register adds the import workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &importWorker{s: s})
	river.AddWorker(workers, &sweepWorker{s: s})
}

// PeriodicJobs is the sweep, run by River's elected leader every
// Options.SweepInterval and at start (a restarted node resumes its imports
// once their leases expire).
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.SweepInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ImportSweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "contact_import_sweep"})}
}

// ResumeStalled queues a job for every running import whose lease has
// expired — its worker's node died — and returns how many. The job resumes
// from the import's durable cursor; a duplicate job finds the lease taken
// and ends at once.
func (s *Service) ResumeStalled(ctx context.Context) (int, error) {
	stalled, err := store.StalledImports(ctx, s.deps.DB.Reader(), s.now(), 100)
	if err != nil || len(stalled) == 0 {
		return 0, err
	}
	err = s.write(ctx, func(tx *store.Tx) error {
		for _, st := range stalled {
			if _, err := s.deps.Jobs.InsertTx(ctx, tx, ImportArgs{OrgID: st[0], ImportID: st[1]}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	return len(stalled), err
}
