package campaign

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/store"
)

// The campaign engine's jobs. Each worker is a thin adapter to a Service
// method; the jobs are at least once (a node killed mid-job has it rescued),
// and every method is safe to run again.

// StartArgs starts a scheduled campaign at its send time.
type StartArgs struct {
	OrgID      string `json:"org_id"`
	CampaignID string `json:"campaign_id"`
	Epoch      int    `json:"epoch"`
}

// Kind names the job in River's tables.
func (StartArgs) Kind() string { return "campaign_start" }

// PrepareArgs writes a sending campaign's audience as recipients and
// batches.
type PrepareArgs struct {
	OrgID      string `json:"org_id"`
	CampaignID string `json:"campaign_id"`
}

// Kind names the job in River's tables.
func (PrepareArgs) Kind() string { return "campaign_prepare" }

// BatchArgs sends one batch of a campaign.
type BatchArgs struct {
	OrgID      string `json:"org_id"`
	CampaignID string `json:"campaign_id"`
	Batch      int    `json:"batch"`
	Epoch      int    `json:"epoch"`
}

// Kind names the job in River's tables.
func (BatchArgs) Kind() string { return "campaign_batch" }

// BatchQueue is the job queue batches run on, with a concurrency of its
// own (config jobs.campaign_workers): a batch is CPU-bound while it
// renders and holds its chunk of finished messages until they commit, so
// more batches at once than a few per processor add memory and no speed,
// and they would take the default queue's workers from delivery.
const BatchQueue = "campaign"

// InsertOpts puts every batch job on BatchQueue.
func (BatchArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: BatchQueue} }

// SweepArgs gives stalled batches and prepares a new job.
type SweepArgs struct{}

// Kind names the job in River's tables.
func (SweepArgs) Kind() string { return "campaign_sweep" }

type startWorker struct {
	river.WorkerDefaults[StartArgs]
	s *Service
}

func (w *startWorker) Work(ctx context.Context, job *river.Job[StartArgs]) error {
	return w.s.Start(ctx, job.Args.OrgID, job.Args.CampaignID, job.Args.Epoch)
}

type prepareWorker struct {
	river.WorkerDefaults[PrepareArgs]
	s *Service
}

// Timeout: a million contacts take a while; progress is durable per page.
func (w *prepareWorker) Timeout(*river.Job[PrepareArgs]) time.Duration { return -1 }

func (w *prepareWorker) Work(ctx context.Context, job *river.Job[PrepareArgs]) error {
	return w.s.Prepare(ctx, job.Args.OrgID, job.Args.CampaignID)
}

type batchWorker struct {
	river.WorkerDefaults[BatchArgs]
	s *Service
}

func (w *batchWorker) Timeout(*river.Job[BatchArgs]) time.Duration { return 30 * time.Minute }

func (w *batchWorker) Work(ctx context.Context, job *river.Job[BatchArgs]) error {
	return w.s.RunBatch(ctx, job.Args.OrgID, job.Args.CampaignID, job.Args.Batch, job.Args.Epoch)
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.s.Sweep(ctx)
	return err
}

// Register adds the campaign workers to the node's job client.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &startWorker{s: s})
	river.AddWorker(workers, &prepareWorker{s: s})
	river.AddWorker(workers, &batchWorker{s: s})
	river.AddWorker(workers, &sweepWorker{s: s})
}

// PeriodicJobs is the sweep, run by River's elected leader.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.SweepInterval),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{ID: "campaign_sweep"})}
}

// sweepLimit bounds one sweep's work.
const sweepLimit = 500

// Sweep gives a new job to every pending batch of a sending campaign that
// no job touched for a lease past its due time, and to every prepare that
// stalled as long: what a node killed mid-job leaves behind (River rescues
// such jobs too, but only after an hour). A batch or prepare that was only
// slow runs twice at worst, which its recipient rows make harmless. It
// returns how many jobs it inserted.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	before := now.Add(-s.opts.Lease)
	batches, err := store.StaleCampaignBatches(ctx, s.deps.DB.Reader(), before, sweepLimit)
	if err != nil {
		return 0, err
	}
	preps, err := store.StalePreparingCampaigns(ctx, s.deps.DB.Reader(), before, sweepLimit)
	if err != nil {
		return 0, err
	}
	if len(batches)+len(preps) == 0 {
		return 0, nil
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		for _, b := range batches {
			if err := store.TouchCampaignBatch(ctx, tx, b.OrgID, b.CampaignID, b.Batch, now); err != nil {
				return err
			}
			if _, err := s.deps.Jobs.InsertTx(ctx, tx, BatchArgs{OrgID: b.OrgID, CampaignID: b.CampaignID, Batch: b.Batch, Epoch: b.Epoch}, nil); err != nil {
				return err
			}
		}
		for _, p := range preps {
			if err := store.TouchCampaign(ctx, tx, p[0], p[1], now); err != nil {
				return err
			}
			if _, err := s.deps.Jobs.InsertTx(ctx, tx, PrepareArgs{OrgID: p[0], CampaignID: p[1]}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n := len(batches) + len(preps); n > 0 {
		s.opts.Log.Warn("campaign sweep restarted stalled work", "batches", len(batches), "prepares", len(preps))
	}
	return len(batches) + len(preps), nil
}

// errStop ends an audience stream early (the campaign was cancelled).
var errStop = errors.New("campaign: stop")
