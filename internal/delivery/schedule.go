package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// DeliverArgs is one job: deliver a batch of what is due for Domain.
type DeliverArgs struct {
	Domain string `json:"domain"`
}

// Kind names the job in River's tables.
func (DeliverArgs) Kind() string { return "delivery" }

// SweepArgs is the periodic sweep (see Service.Sweep).
type SweepArgs struct{}

// Kind names the job in River's tables.
func (SweepArgs) Kind() string { return "delivery_sweep" }

var _ outbox.Scheduler = (*Service)(nil)

// ScheduleTx arms each domain in the submission's transaction and inserts
// its job unless one is already on its way (see the package documentation,
// "Scheduling").
func (s *Service) ScheduleTx(ctx context.Context, tx *store.Tx, _ string, domains []string) error {
	for _, d := range domains {
		if err := s.wake(ctx, tx, d, false); err != nil {
			return err
		}
	}
	return nil
}

// wake arms domain and inserts its job when this call armed it (or always,
// with force).
func (s *Service) wake(ctx context.Context, tx *store.Tx, domain string, force bool) error {
	armed, err := store.ArmDelivery(ctx, tx, domain, s.clock(), force)
	if err != nil || !armed {
		return err
	}
	if s.jobs == nil {
		return fmt.Errorf("delivery: no job client bound")
	}
	_, err = s.jobs.InsertTx(ctx, tx, DeliverArgs{Domain: domain}, nil)
	return err
}

// wakeAt inserts a job for domain that starts after d, without arming: a
// rate-limited domain's next window. A spare job finds nothing to claim and
// ends.
func (s *Service) wakeAt(ctx context.Context, tx *store.Tx, domain string, d time.Duration) error {
	// River schedules in real time; d is measured on our clock.
	_, err := s.jobs.InsertTx(ctx, tx, DeliverArgs{Domain: domain}, &river.InsertOpts{ScheduledAt: time.Now().Add(d)})
	return err
}

// sweepLimit bounds the domains one sweep wakes.
const sweepLimit = 1000

// Sweep wakes every domain that has deferred recipients whose retry time
// has come or sending recipients whose lease expired (a node died
// mid-batch), and re-arms domains whose job was lost. Submissions wake
// domains themselves; the sweep is what moves time-based work. It runs
// periodically on River's elected leader (Options.SweepInterval) and
// returns how many domains and slots it woke.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.clock()
	domains, err := store.DueRetryDomains(ctx, s.deps.DB.Reader(), now, sweepLimit)
	if err != nil {
		return 0, err
	}
	// A domain armed for longer than a lease without its job starting lost
	// the job: its node died as the job started (River rescues such a job
	// only after an hour), or River discarded or an operator cancelled it.
	// A spare job is cheap; a domain stuck for an hour is not.
	stale, err := store.StaleDeliveries(ctx, s.deps.DB.Reader(), now.Add(-s.opts.Lease), sweepLimit)
	if err != nil {
		return 0, err
	}
	if len(domains)+len(stale) == 0 {
		return 0, nil
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		for _, d := range domains {
			if err := s.wake(ctx, tx, d, false); err != nil {
				return err
			}
		}
		for _, d := range stale {
			if err := s.wake(ctx, tx, d, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delivery sweep: %w", err)
	}
	return len(domains) + len(stale), nil
}
