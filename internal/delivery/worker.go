package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/mtasts"
	"github.com/carepost/carepost/internal/store"
)

// The River adapters: one job kind per destination-domain batch, and the
// periodic sweep.

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.s.run(ctx, job.Args.Domain)
}

// Timeout lets a batch run for its lease (River's default is a minute); it
// stops starting transactions at four fifths of it.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.s.opts.Lease }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.s.Sweep(ctx)
	return err
}

// Register adds delivery's workers to the job client's set.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &deliverWorker{s: s})
	river.AddWorker(workers, &sweepWorker{s: s})
}

// PeriodicJobs is the sweep, run by River's elected leader every
// Options.SweepInterval.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.SweepInterval),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "delivery_sweep"})}
}

// policyCache keeps MTA-STS policies in the database (mtasts_policies),
// so a policy learned before an attack survives a restart and is shared by
// every node (RFC 8461 section 10.2).
type policyCache struct{ db *store.DB }

var _ mtasts.Cache = (*policyCache)(nil)

func (c *policyCache) Get(ctx context.Context, domain string) (mtasts.CachedPolicy, bool, error) {
	row, err := store.GetMTASTSPolicy(ctx, c.db.Reader(), domain)
	if errors.Is(err, store.ErrNotFound) {
		return mtasts.CachedPolicy{}, false, nil
	}
	if err != nil {
		return mtasts.CachedPolicy{}, false, err
	}
	p, err := mtasts.ParsePolicy(row.Policy)
	if err != nil {
		return mtasts.CachedPolicy{}, false, err
	}
	return mtasts.CachedPolicy{Policy: *p, ID: row.TXTID, Fetched: row.FetchedAt}, true, nil
}

func (c *policyCache) Put(ctx context.Context, domain string, p mtasts.CachedPolicy) error {
	return c.db.Tx(ctx, func(tx *store.Tx) error {
		return store.PutMTASTSPolicy(ctx, tx, store.MTASTSPolicyRow{Domain: domain, Policy: p.Policy.String(),
			TXTID: p.ID, FetchedAt: p.Fetched, ExpiresAt: p.Expires()})
	})
}
