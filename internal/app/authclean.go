package app

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// AuthCleanupArgs removes dead sign-in state (auth.Service.Cleanup).
type AuthCleanupArgs struct{}

// Kind names the job in River's tables.
func (AuthCleanupArgs) Kind() string { return "auth_cleanup" }

type authCleanupWorker struct {
	river.WorkerDefaults[AuthCleanupArgs]
	app *App
}

// Work runs one sweep; it is idempotent, so a rescued job repeats harmlessly.
func (w *authCleanupWorker) Work(ctx context.Context, _ *river.Job[AuthCleanupArgs]) error {
	c, err := w.app.Auth.Cleanup(ctx)
	if err != nil {
		return fmt.Errorf("auth cleanup: %w", err)
	}
	if c.Throttle+c.LoginFlows+c.OIDCStates+c.Sessions > 0 {
		w.app.Log.Info("removed dead sign-in state", "throttle", c.Throttle, "login_flows", c.LoginFlows,
			"oidc_states", c.OIDCStates, "sessions", c.Sessions)
	}
	return nil
}

// authCleanup registers the sweep's worker and returns its hourly periodic
// job (River's leader runs it, on one node).
func (a *App) authCleanup(workers *river.Workers) *river.PeriodicJob {
	river.AddWorker(workers, &authCleanupWorker{app: a})
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return AuthCleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "auth_cleanup"})
}
