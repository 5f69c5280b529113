package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/jobs"
	"github.com/carepost/carepost/internal/store"
)

// The foundation's background jobs. Each worker is a thin adapter from the
// job engine to a domain call; the logic lives in the domain package.

// CheckpointArgs asks for signed checkpoints of every audit chain that moved.
type CheckpointArgs struct{}

// Kind names the job in River's tables.
func (CheckpointArgs) Kind() string { return "audit_checkpoint" }

type checkpointWorker struct {
	river.WorkerDefaults[CheckpointArgs]
	app *App
}

func (w *checkpointWorker) Work(ctx context.Context, _ *river.Job[CheckpointArgs]) error {
	cps, err := w.app.Audit.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	// Each checkpoint also goes to the process log, which operators ship
	// off the machine: a copy outside the database is what makes a
	// rewritten or truncated chain detectable even by someone who can
	// write the database (see package audit).
	for _, cp := range cps {
		w.app.Log.Info("audit checkpoint", "chain", cp.Chain, "seq", cp.Seq,
			"hash", hex.EncodeToString(cp.Hash), "key_id", cp.KeyID,
			"signature", hex.EncodeToString(cp.Signature), "at", cp.At)
	}
	return nil
}

// PruneArgs deletes audit entries older than audit.retention.
type PruneArgs struct{}

// Kind names the job in River's tables.
func (PruneArgs) Kind() string { return "audit_prune" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	app *App
}

// Work prunes only what the retention allows (HIPAA 164.316(b)(2): six years
// at least; audit.Prune refuses less) and only up to verified checkpoints.
func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	retention := w.app.Config.Audit.Retention.Duration()
	n, err := w.app.Audit.Prune(ctx, w.app.Clock().Add(-retention), retention)
	if err != nil {
		return fmt.Errorf("audit prune: %w", err)
	}
	if n > 0 {
		w.app.Log.Info("pruned audit entries past retention", "entries", n)
	}
	return nil
}

// ReencryptArgs moves one scope's sealed rows to its current data key.
type ReencryptArgs struct {
	Scope string `json:"scope"`
}

// Kind names the job in River's tables.
func (ReencryptArgs) Kind() string { return "keys_reencrypt" }

type reencryptWorker struct {
	river.WorkerDefaults[ReencryptArgs]
	app *App
}

// reencryptBatch bounds each transaction so a large table does not hold the
// write lock for long.
const reencryptBatch = 500

func (w *reencryptWorker) Work(ctx context.Context, job *river.Job[ReencryptArgs]) error {
	moved, err := w.app.ReencryptScope(ctx, job.Args.Scope)
	if err != nil {
		return err
	}
	w.app.Log.Info("re-encrypted sealed rows", "scope", job.Args.Scope, "rows", moved)
	return nil
}

// ReencryptScope moves every sealed row of scope to the current data key,
// then retires versions nothing uses, recording both in the audit log.
func (a *App) ReencryptScope(ctx context.Context, scope string) (int, error) {
	total := 0
	for {
		n, err := a.Keys.Reencrypt(ctx, scope, reencryptBatch)
		if err != nil {
			return total, fmt.Errorf("re-encrypt %s: %w", scope, err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	retired, err := a.Keys.RetireUnused(ctx, scope)
	if err != nil {
		return total, fmt.Errorf("retire unused keys of %s: %w", scope, err)
	}
	details := map[string]string{"rows": strconv.Itoa(total)}
	if len(retired) > 0 {
		details["retired_versions"] = fmt.Sprint(retired)
	}
	_, err = a.Audit.Record(ctx, audit.Entry{
		Chain: auditChain(scope), Actor: audit.Actor{Type: audit.ActorSystem},
		Action: "keys.reencrypt", TargetType: "key_scope", TargetID: scope,
		Outcome: audit.Success, Details: details,
	})
	return total, err
}

// RotationCheckArgs rotates data keys older than keys.rotation_interval.
type RotationCheckArgs struct{}

// Kind names the job in River's tables.
func (RotationCheckArgs) Kind() string { return "keys_rotation_check" }

type rotationCheckWorker struct {
	river.WorkerDefaults[RotationCheckArgs]
	app *App
}

func (w *rotationCheckWorker) Work(ctx context.Context, _ *river.Job[RotationCheckArgs]) error {
	interval := w.app.Config.Keys.RotationInterval.Duration()
	if interval <= 0 {
		return nil
	}
	status, err := w.app.Keys.Status(ctx)
	if err != nil {
		return err
	}
	now := w.app.Clock()
	for _, s := range status {
		for _, v := range s.Versions {
			if v.Version == s.Current && now.Sub(v.CreatedAt) >= interval {
				if _, err := w.app.RotateScope(ctx, s.Scope, audit.Actor{Type: audit.ActorSystem}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RotateScope adds a new data-key version for scope and, in the same
// transaction, audits it and schedules re-encryption of the old rows.
func (a *App) RotateScope(ctx context.Context, scope string, actor audit.Actor) (int, error) {
	jc := a.Jobs
	var version int
	err := a.DB.Tx(ctx, func(tx *store.Tx) error {
		v, err := a.Keys.Rotate(ctx, tx, scope)
		if err != nil {
			return err
		}
		version = v
		if err := a.Audit.Append(ctx, tx, audit.Entry{
			Chain: auditChain(scope), Actor: actor,
			Action: "keys.rotate", TargetType: "key_scope", TargetID: scope,
			Outcome: audit.Success, Details: map[string]string{"version": strconv.Itoa(v)},
		}); err != nil {
			return err
		}
		if _, err := jc.InsertTx(ctx, tx, ReencryptArgs{Scope: scope}, nil); err != nil {
			return err
		}
		// Other nodes may seal with the previous version until their
		// cached current version expires; a second pass after that
		// moves what they wrote.
		later := a.Clock().Add(2 * a.Config.Keys.CurrentTTL.Duration())
		_, err = jc.InsertTx(ctx, tx, ReencryptArgs{Scope: scope}, &river.InsertOpts{ScheduledAt: later})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rotate data key of %s: %w", scope, err)
	}
	return version, nil
}

// auditChain maps a key scope to the audit chain of the same owner: an
// organization's own chain, or the system chain.
func auditChain(scope string) string { return scope }

// newJobs builds the node's one job client with every worker and periodic
// job registered. It is built in Open, not only for serve: River refuses to
// insert job kinds its client has no worker for, and every command may
// insert (a CLI key rotation, a submission from a test). Only NewNode starts
// it, so commands schedule work without running it.
func (a *App) newJobs(extra func(*river.Workers), extraPeriodic ...*river.PeriodicJob) (*jobs.Client, error) {
	campaignWorkers := a.Config.Jobs.CampaignWorkers
	if campaignWorkers == 0 {
		campaignWorkers = 2 * runtime.GOMAXPROCS(0)
	}
	opts := jobs.Options{
		Workers:           a.Config.Jobs.Workers,
		Queues:            map[string]int{campaign.BatchQueue: campaignWorkers},
		FetchPollInterval: a.Config.Jobs.FetchPollInterval.Duration(),
		Logger:            a.Log.With("component", "jobs"),
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &checkpointWorker{app: a})
	river.AddWorker(workers, &reencryptWorker{app: a})
	river.AddWorker(workers, &pruneWorker{app: a})
	river.AddWorker(workers, &rotationCheckWorker{app: a})
	if a.Contacts != nil {
		a.Contacts.Register(workers)
	}
	if a.Workflows != nil {
		a.Workflows.Register(workers)
	}
	if extra != nil {
		extra(workers)
	}
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(a.Config.Audit.CheckpointInterval.Duration()),
			func() (river.JobArgs, *river.InsertOpts) { return CheckpointArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "audit_checkpoint"}),
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
			&river.PeriodicJobOpts{ID: "audit_prune"}),
		river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return RotationCheckArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "keys_rotation_check"}),
		a.authCleanup(workers),
		a.segmentWatch(workers),
	}
	if a.Contacts != nil {
		periodic = append(periodic, a.Contacts.PeriodicJobs()...)
	}
	if a.Workflows != nil {
		periodic = append(periodic, a.Workflows.PeriodicJobs()...)
	}
	return jobs.New(a.DB, workers, append(periodic, extraPeriodic...), opts)
}
