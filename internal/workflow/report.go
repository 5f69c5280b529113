package workflow

import (
	"context"
	"sort"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// StepReport is one step's counts. Current is how many contacts are at the
// step now; Entered how many ever reached it (historical); Sends the
// messages it queued; Opens and Clicks the contacts who opened or clicked
// its email (unique per contact, machine opens excluded); Dropoffs the
// contacts that left the workflow early there (no consent, unsubscribed,
// suppressed, deleted, a refused send); Completed the contacts whose
// journey ended there.
type StepReport struct {
	StepID    string `json:"step_id"`
	Type      string `json:"type,omitempty"`
	Current   int64  `json:"current"`
	Entered   int64  `json:"entered"`
	Sends     int64  `json:"sends"`
	Opens     int64  `json:"opens"`
	Clicks    int64  `json:"clicks"`
	Dropoffs  int64  `json:"dropoffs"`
	Completed int64  `json:"completed"`
	// Retired is true for a step of an older version that the current one
	// no longer has (contacts may still be there).
	Retired bool `json:"retired,omitempty"`
}

// Report is a workflow's per-step counts, in the current version's step
// order, then retired steps.
type Report struct {
	WorkflowID string       `json:"workflow_id"`
	Version    int          `json:"version"`
	Steps      []StepReport `json:"steps"`
}

// Report reads a workflow's counts.
func (s *Service) Report(ctx context.Context, a Actor, workflowID string) (Report, error) {
	w, err := s.Get(ctx, a, workflowID, 0)
	if err != nil {
		return Report{}, err
	}
	stats, err := store.WorkflowStats(ctx, s.deps.DB.Reader(), a.orgID, workflowID)
	if err != nil {
		return Report{}, err
	}
	rep := Report{WorkflowID: workflowID, Version: w.Version, Steps: []StepReport{}}
	for _, st := range w.Definition.Steps {
		rep.Steps = append(rep.Steps, stepReport(st.ID, st.Type, stats[st.ID]))
		delete(stats, st.ID)
	}
	var retired []string
	for id := range stats {
		retired = append(retired, id)
	}
	sort.Strings(retired)
	for _, id := range retired {
		r := stepReport(id, "", stats[id])
		r.Retired = true
		rep.Steps = append(rep.Steps, r)
	}
	return rep, nil
}

func stepReport(id, typ string, st store.WorkflowStepStats) StepReport {
	return StepReport{StepID: id, Type: typ, Current: st.Entered - st.Left, Entered: st.Entered, Sends: st.Sends, Opens: st.Opens,
		Clicks: st.Clicks, Dropoffs: st.Dropoffs, Completed: st.Complete}
}

// RunQuery narrows Runs.
type RunQuery struct {
	State, StepID, ContactID string
	After                    string
	Limit                    int // at most 1000, default 100
}

// Runs lists a workflow's runs (contacts in it, ever), in id order.
func (s *Service) Runs(ctx context.Context, a Actor, workflowID string, q RunQuery) ([]Run, error) {
	if err := a.canRead(); err != nil {
		return nil, err
	}
	if _, err := store.GetWorkflow(ctx, s.deps.DB.Reader(), a.orgID, workflowID); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	return store.ListWorkflowRuns(ctx, s.deps.DB.Reader(), store.RunQuery{OrgID: a.orgID, WorkflowID: workflowID, State: q.State,
		StepID: q.StepID, ContactID: q.ContactID, After: q.After, Limit: q.Limit})
}

// PathStep is one step of a contact's path.
type PathStep struct {
	StepID    string     `json:"step_id"`
	Type      string     `json:"type"`
	EnteredAt time.Time  `json:"entered_at"`
	LeftAt    *time.Time `json:"left_at"`
	Outcome   string     `json:"outcome,omitempty"`
	Detail    string     `json:"detail,omitempty"`
}

// Path is a run with the steps it took, in order, the current one last
// (without LeftAt) while the run goes on.
func (s *Service) Path(ctx context.Context, a Actor, runID string) (Run, []PathStep, error) {
	if err := a.canRead(); err != nil {
		return Run{}, nil, err
	}
	q := s.deps.DB.Reader()
	r, err := store.GetWorkflowRun(ctx, q, a.orgID, runID)
	if err != nil {
		return Run{}, nil, err
	}
	hist, err := store.WorkflowHistory(ctx, q, a.orgID, runID)
	if err != nil {
		return Run{}, nil, err
	}
	out := make([]PathStep, 0, len(hist)+1)
	for _, h := range hist {
		left := h.LeftAt
		out = append(out, PathStep{StepID: h.StepID, Type: h.StepType, EnteredAt: h.EnteredAt, LeftAt: &left, Outcome: h.Outcome, Detail: h.Detail})
	}
	if r.State == RunActive || r.State == RunWaiting {
		typ := ""
		if d, err := s.definition(ctx, q, a.orgID, r.WorkflowID, r.Version); err == nil {
			if st := d.step(r.StepID); st != nil {
				typ = st.Type
			}
		}
		out = append(out, PathStep{StepID: r.StepID, Type: typ, EnteredAt: r.StepAt})
	}
	return r, out, nil
}
