// Package jobs runs carepost's background work on River, an existing job
// engine with drivers for both PostgreSQL and SQLite, rather than on
// home-made queues, locks or leader election.
//
// # Why River
//
// River stores jobs in the same database as the data they act on, so a state
// change and the job that follows it commit in one transaction (InsertTx
// takes the store's *sql.Tx). Several carepost nodes on one PostgreSQL fetch
// jobs with SELECT … FOR UPDATE SKIP LOCKED, so no job is worked twice
// concurrently, and River elects one leader among them for periodic jobs,
// maintenance and rescue of jobs from dead nodes. On PostgreSQL the client
// uses the database/sql driver with a pgx listener for LISTEN/NOTIFY, so jobs
// inserted on one node wake workers on the others at once; on SQLite it uses
// River's SQLite driver over the store's single writer connection.
//
// # Delivery semantics
//
// River runs a job at least once: a node killed mid-job has its job rescued
// and run again. Workers are therefore idempotent, and the ones that send
// mail record what they did in the same transaction that completes the job.
//
// # Throughput and the hot paths
//
// Measured on a 2-core machine River burns down about 18k jobs/s on
// PostgreSQL but about 1.7k jobs/s on SQLite, whose driver completes jobs row
// by row. Hot paths (delivery, campaign fan-out, workflow steps) therefore do
// not use one job per message: a job carries a batch (a destination domain's
// ready messages, a page of a campaign's audience) and the per-message state
// lives in domain tables.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/store"
)

// Options configures the job client.
type Options struct {
	// Workers is the concurrency of the default queue. Zero means 20.
	Workers int
	// Queues are further queues by name, with their concurrency: work
	// that must not take more than its share of the node (campaign
	// batches) runs on one, its job kinds naming it (InsertOpts).
	Queues map[string]int
	// FetchPollInterval is how often workers poll for jobs when no
	// notification arrives. Zero means 50ms (config.Jobs says why).
	FetchPollInterval time.Duration
	// Logger receives River's own logs. Nil discards them.
	Logger *slog.Logger
	// ID names this node in River's tables; empty lets River choose.
	ID string
}

// Client is the job engine bound to one store.
type Client struct {
	river *river.Client[*sql.Tx]
}

func driverFor(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Driver() == store.Postgres {
		return riverdatabasesql.NewWithPgxListener(db.SQL(), db.PgxPool())
	}
	return riversqlite.New(db.SQL())
}

// New builds a client. workers holds every job kind this node can run;
// periodic lists the jobs River's elected leader schedules. A client built
// with nil workers can only insert.
func New(db *store.DB, workers *river.Workers, periodic []*river.PeriodicJob, opts Options) (*Client, error) {
	if opts.Workers <= 0 {
		opts.Workers = 20
	}
	if opts.FetchPollInterval <= 0 {
		opts.FetchPollInterval = 50 * time.Millisecond
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{
		ID:                opts.ID,
		Logger:            logger,
		FetchPollInterval: opts.FetchPollInterval,
		FetchCooldown:     min(100*time.Millisecond, opts.FetchPollInterval),
		PeriodicJobs:      periodic,
		// A job that keeps failing stays visible for a week before
		// River discards it; domain retries have their own lifetimes.
		MaxAttempts: 25,
	}
	if workers != nil {
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
		for name, n := range opts.Queues {
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
	}
	rc, err := river.NewClient(driverFor(db), cfg)
	if err != nil {
		return nil, fmt.Errorf("create job client: %w", err)
	}
	return &Client{river: rc}, nil
}

// Start begins working jobs; it returns once workers are running.
func (c *Client) Start(ctx context.Context) error {
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("start job client: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish until ctx ends, then cancels them.
func (c *Client) Stop(ctx context.Context) error {
	err := c.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = c.river.StopAndCancel(cctx)
	}
	if err != nil {
		return fmt.Errorf("stop job client: %w", err)
	}
	return nil
}

// InsertTx adds a job in the caller's transaction: it exists if and only if
// the transaction commits.
func (c *Client) InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.river.InsertTx(ctx, tx.SQL(), args, opts)
	if err != nil {
		return nil, fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return res, nil
}

// River exposes the engine for subscriptions in tests and for admin tools.
func (c *Client) River() *river.Client[*sql.Tx] { return c.river }

// Migrate applies River's own schema migrations.
func Migrate(ctx context.Context, db *store.DB) (applied []int, err error) {
	m, err := rivermigrate.New(driverFor(db), nil)
	if err != nil {
		return nil, fmt.Errorf("job engine migrator: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate job engine tables: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, v.Version)
	}
	return applied, nil
}

// Pending reports how many of River's migrations are not applied.
func Pending(ctx context.Context, db *store.DB) (int, error) {
	m, err := rivermigrate.New(driverFor(db), nil)
	if err != nil {
		return 0, fmt.Errorf("job engine migrator: %w", err)
	}
	all := m.AllVersions()
	have, err := m.ExistingVersions(ctx)
	if err != nil {
		// Before the first migration River's version table is missing.
		return len(all), nil //nolint:nilerr // a missing table means everything is pending
	}
	return len(all) - len(have), nil
}
