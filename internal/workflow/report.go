package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/store"
)

// StepReport is one step's counts. Current is how many contacts are at the
// step now; Entered how many ever reached it (historical); Sends the
// messages it queued; Opens and Clicks the contacts who opened or clicked
// its email (unique per contact, machine opens excluded); Dropoffs the
// contacts that left the workflow early there (no consent, unsubscribed,
// suppressed, deleted, a refused send); Completed the contacts whose
// journey ended there.
//
// Hidden names the figures the small-cell floor withholds from a viewer
// without phi:read (see Report); they read 0 here and null in JSON.
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
	Retired bool     `json:"retired,omitempty"`
	Hidden  []string `json:"-"`
}

// MarshalJSON writes a hidden figure as null, as campaign reports do.
func (r StepReport) MarshalJSON() ([]byte, error) {
	figure := func(name string, n int64) *int64 {
		if slices.Contains(r.Hidden, name) {
			return nil
		}
		return &n
	}
	return json.Marshal(struct {
		StepID    string `json:"step_id"`
		Type      string `json:"type,omitempty"`
		Current   *int64 `json:"current"`
		Entered   *int64 `json:"entered"`
		Sends     *int64 `json:"sends"`
		Opens     *int64 `json:"opens"`
		Clicks    *int64 `json:"clicks"`
		Dropoffs  *int64 `json:"dropoffs"`
		Completed *int64 `json:"completed"`
		Retired   bool   `json:"retired,omitempty"`
	}{r.StepID, r.Type, figure("current", r.Current), figure("entered", r.Entered), figure("sends", r.Sends),
		figure("opens", r.Opens), figure("clicks", r.Clicks), figure("dropoffs", r.Dropoffs),
		figure("completed", r.Completed), r.Retired})
}

// Report is a workflow's per-step counts, in the current version's step
// order, then retired steps. Floor is the small-cell floor applied (0:
// none, the viewer has phi:read).
type Report struct {
	WorkflowID string       `json:"workflow_id"`
	Version    int          `json:"version"`
	Floor      int          `json:"floor"`
	Steps      []StepReport `json:"steps"`
}

// Report reads a workflow's counts. A workflow's steps split its contacts
// by what it tests (a branch on a condition, a wait for a form), so for a
// viewer without phi:read every figure from 1 to the small-cell floor is
// withheld, and so are the figures that would give one back by
// subtraction: a step's contacts who entered are those still there, those
// who dropped off, completed, or went on (access.SuppressCells over that
// partition, each step's).
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
	if floor := s.floorFor(a); floor > 1 {
		rep.Floor = int(floor)
		for i := range rep.Steps {
			suppressStep(&rep.Steps[i], floor)
		}
	}
	return rep, nil
}

// suppressStep withholds a step's small figures (Report).
func suppressStep(r *StepReport, floor int64) {
	figures := []struct {
		name string
		n    *int64
	}{{"entered", &r.Entered}, {"current", &r.Current}, {"dropoffs", &r.Dropoffs}, {"completed", &r.Completed},
		{"sends", &r.Sends}, {"opens", &r.Opens}, {"clicks", &r.Clicks}}
	counts := make([]int64, 0, len(figures))
	for _, f := range figures {
		counts = append(counts, *f.n)
	}
	// Entered is current + dropoffs + completed + the contacts that went
	// on. Those are not shown here, but the next steps' figures tell them,
	// so they count as known: the partition is of what remains, and what
	// it hides must be safe against entered minus the went-on.
	hidden := access.SuppressCells(counts, floor, []access.Partition{{Total: 0, Cells: []int{1, 2, 3}}})
	for i, f := range figures {
		if hidden[i] {
			*f.n = 0
			r.Hidden = append(r.Hidden, f.name)
		}
	}
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
	rq := store.RunQuery{OrgID: a.orgID, WorkflowID: workflowID, State: q.State, StepID: q.StepID, ContactID: q.ContactID,
		After: q.After, Limit: q.Limit}
	if floor := s.floorFor(a); floor > 1 {
		n, err := store.CountWorkflowRuns(ctx, s.deps.DB.Reader(), rq)
		if err != nil {
			return nil, err
		}
		if n > 0 && n < floor {
			return nil, ErrSmallCell
		}
	}
	return store.ListWorkflowRuns(ctx, s.deps.DB.Reader(), rq)
}

// ErrSmallCell refuses a viewer without phi:read a list of contacts, or a
// contact's path, that names a group smaller than the small-cell floor:
// the contacts at a step a branch on a condition led to, or the one
// contact a listing by contact is, would tell what the workflow tested.
var ErrSmallCell = errors.New("workflow: fewer contacts than the small-cell floor are there; listing them needs phi:read")

// floorFor is the small-cell floor for a's views (0 with phi:read).
func (s *Service) floorFor(a Actor) int64 {
	if a.perms.Has(access.PHIRead) {
		return 0
	}
	return int64(s.opts.SmallCellFloor)
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
	if floor := s.floorFor(a); floor > 1 {
		// Each step on the path is a group the contact belongs to; the
		// path is withheld when one of them is smaller than the floor.
		stats, err := store.WorkflowStats(ctx, q, a.orgID, r.WorkflowID)
		if err != nil {
			return Run{}, nil, err
		}
		steps := []string{r.StepID}
		for _, h := range hist {
			steps = append(steps, h.StepID)
		}
		for _, id := range steps {
			if n := stats[id].Entered; id != "" && n > 0 && n < floor {
				return Run{}, nil, ErrSmallCell
			}
		}
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
