package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// Workflow states.
const (
	StateDraft   = "draft"   // saved; nothing enters
	StateActive  = "active"  // triggers enrol contacts
	StateStopped = "stopped" // nothing new enters; contacts in flight finish
)

// Workflow is a workflow with one of its versions' definitions.
type Workflow struct {
	ID             string
	Name           string
	State          string
	CurrentVersion int
	Version        int
	Definition     *Definition
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ErrState means the workflow is not in a state that allows the change.
var ErrState = errors.New("workflow: not allowed in the workflow's current state")

// DefinitionAAD names a version row's sealed definition.
func DefinitionAAD(orgID, rowID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "workflow_versions", Column: "definition", RowID: rowID}
}

// Create validates d and stores it as version 1 of a new draft workflow.
func (s *Service) Create(ctx context.Context, a Actor, d *Definition) (Workflow, error) {
	if err := a.canWrite(); err != nil {
		return Workflow{}, err
	}
	wid := id.New("wfl")
	if err := Validate(ctx, s.lookup(), a.orgID, wid, d); err != nil {
		return Workflow{}, err
	}
	now := s.now()
	w := Workflow{ID: wid, Name: d.Name, State: StateDraft, CurrentVersion: 1, Version: 1, Definition: d, CreatedAt: now, UpdatedAt: now}
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.InsertWorkflow(ctx, tx, store.WorkflowRow{OrgID: a.orgID, ID: wid, Name: d.Name, State: StateDraft,
			CurrentVersion: 1, TriggerType: d.Trigger.Type, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := s.insertVersion(ctx, tx, a, wid, 1, d, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "workflow.create", wid, map[string]string{"version": "1"})
	})
	if err != nil {
		return Workflow{}, err
	}
	return w, nil
}

// Publish validates d and stores it as the workflow's next version. New
// enrolments use it at once; contacts already in flight stay on the
// version they entered with until they finish (docs/WORKFLOWS.md,
// "Versions"). base is the version the edit started from (ErrStale when
// the workflow has moved on); 0 means the newest.
func (s *Service) Publish(ctx context.Context, a Actor, workflowID string, d *Definition, base int) (Workflow, error) {
	if err := a.canWrite(); err != nil {
		return Workflow{}, err
	}
	if _, err := store.GetWorkflow(ctx, s.deps.DB.Reader(), a.orgID, workflowID); err != nil {
		return Workflow{}, err
	}
	if err := Validate(ctx, s.lookup(), a.orgID, workflowID, d); err != nil {
		return Workflow{}, err
	}
	var w Workflow
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		row, err := store.GetWorkflow(ctx, tx, a.orgID, workflowID)
		if err != nil {
			return err
		}
		if base != 0 && base != row.CurrentVersion {
			return ErrStale
		}
		now := s.now()
		row.CurrentVersion++
		row.Name, row.TriggerType, row.UpdatedAt = d.Name, d.Trigger.Type, now
		if err := store.UpdateWorkflow(ctx, tx, row); err != nil {
			return err
		}
		if err := s.insertVersion(ctx, tx, a, workflowID, row.CurrentVersion, d, now); err != nil {
			return err
		}
		if row.State == StateActive {
			if err := s.setTriggers(ctx, tx, a.orgID, workflowID, d); err != nil {
				return err
			}
		}
		w = fromRow(row, row.CurrentVersion, d)
		return s.audit(ctx, tx, a, "workflow.publish", workflowID, map[string]string{"version": strconv.Itoa(row.CurrentVersion)})
	})
	if errors.Is(err, store.ErrConflict) {
		err = ErrStale
	}
	return w, err
}

// ErrStale means the workflow changed since the version an edit started
// from.
var ErrStale = errors.New("the workflow was changed by someone else: reload it and edit the newest version")

// Activate starts the workflow: its trigger enrols contacts from now on;
// a list or segment trigger enrols their current members (in pages, by a
// job).
func (s *Service) Activate(ctx context.Context, a Actor, workflowID string) (Workflow, error) {
	if err := a.canWrite(); err != nil {
		return Workflow{}, err
	}
	// Keys the engine's transactions use are created first, each in a
	// transaction of its own (on SQLite a transaction inside the engine's
	// would wait for the single writer the engine holds).
	if s.deps.Mailer != nil {
		if err := s.deps.Mailer.EnsureOrg(ctx, a.orgID); err != nil {
			return Workflow{}, err
		}
	}
	if s.deps.Tracker != nil {
		if err := s.deps.Tracker.Ready(ctx, a.orgID); err != nil {
			return Workflow{}, err
		}
	}
	var w Workflow
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		row, err := store.GetWorkflow(ctx, tx, a.orgID, workflowID)
		if err != nil {
			return err
		}
		if row.State == StateActive {
			return ErrState
		}
		d, err := s.definition(ctx, tx, a.orgID, workflowID, row.CurrentVersion)
		if err != nil {
			return err
		}
		row.State, row.UpdatedAt = StateActive, s.now()
		if err := store.UpdateWorkflow(ctx, tx, row); err != nil {
			return err
		}
		if err := s.setTriggers(ctx, tx, a.orgID, workflowID, d); err != nil {
			return err
		}
		if d.Trigger.Type == TriggerList || d.Trigger.Type == TriggerSegment {
			if err := s.startBulk(ctx, tx, a.orgID, workflowID, d); err != nil {
				return err
			}
		}
		w = fromRow(row, row.CurrentVersion, d)
		return s.audit(ctx, tx, a, "workflow.activate", workflowID, map[string]string{"version": strconv.Itoa(row.CurrentVersion)})
	})
	return w, err
}

// Stop ends enrolment: nothing new enters; contacts in flight go on to
// the end of the version they are on.
func (s *Service) Stop(ctx context.Context, a Actor, workflowID string) (Workflow, error) {
	if err := a.canWrite(); err != nil {
		return Workflow{}, err
	}
	var w Workflow
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		row, err := store.GetWorkflow(ctx, tx, a.orgID, workflowID)
		if err != nil {
			return err
		}
		if row.State != StateActive {
			return ErrState
		}
		row.State, row.UpdatedAt = StateStopped, s.now()
		if err := store.UpdateWorkflow(ctx, tx, row); err != nil {
			return err
		}
		if err := store.SetWorkflowTriggers(ctx, tx, a.orgID, workflowID, nil); err != nil {
			return err
		}
		w = fromRow(row, row.CurrentVersion, nil)
		return s.audit(ctx, tx, a, "workflow.stop", workflowID, nil)
	})
	return w, err
}

// Get returns a workflow at version (0: the current one).
func (s *Service) Get(ctx context.Context, a Actor, workflowID string, version int) (Workflow, error) {
	if err := a.canRead(); err != nil {
		return Workflow{}, err
	}
	q := s.deps.DB.Reader()
	row, err := store.GetWorkflow(ctx, q, a.orgID, workflowID)
	if err != nil {
		return Workflow{}, err
	}
	if version == 0 {
		version = row.CurrentVersion
	}
	d, err := s.definition(ctx, q, a.orgID, workflowID, version)
	if err != nil {
		return Workflow{}, err
	}
	return fromRow(row, version, d), nil
}

// List returns the organization's workflows (without definitions).
func (s *Service) List(ctx context.Context, a Actor) ([]Workflow, error) {
	if err := a.canRead(); err != nil {
		return nil, err
	}
	rows, err := store.ListWorkflows(ctx, s.deps.DB.Reader(), a.orgID, 1000)
	if err != nil {
		return nil, err
	}
	out := make([]Workflow, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r, r.CurrentVersion, nil))
	}
	return out, nil
}

func fromRow(r store.WorkflowRow, version int, d *Definition) Workflow {
	return Workflow{ID: r.ID, Name: r.Name, State: r.State, CurrentVersion: r.CurrentVersion, Version: version, Definition: d,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (s *Service) insertVersion(ctx context.Context, tx *store.Tx, a Actor, workflowID string, version int, d *Definition, now time.Time) error {
	row := store.WorkflowVersionRow{ID: id.New("wfv"), OrgID: a.orgID, WorkflowID: workflowID, Version: version,
		ActorType: string(a.who.Type), ActorID: a.who.ID, CreatedAt: now}
	var err error
	if row.Definition, row.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, DefinitionAAD(a.orgID, row.ID), d.Encode()); err != nil {
		return fmt.Errorf("seal workflow definition: %w", err)
	}
	return store.InsertWorkflowVersion(ctx, tx, row)
}

// definition opens a version, from the cache when it was opened before.
func (s *Service) definition(ctx context.Context, q store.Querier, orgID, workflowID string, version int) (*Definition, error) {
	k := defKey{orgID, workflowID, version}
	s.mu.Lock()
	d, ok := s.defs[k]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	row, err := store.GetWorkflowVersion(ctx, q, orgID, workflowID, version)
	if err != nil {
		return nil, err
	}
	plain, err := s.deps.Keys.Open(ctx, q, DefinitionAAD(orgID, row.ID), row.Definition)
	if err != nil {
		return nil, fmt.Errorf("open workflow definition: %w", err)
	}
	if d, err = ParseDefinition(plain); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.defs) > 4096 {
		clear(s.defs)
	}
	s.defs[k] = d
	s.mu.Unlock()
	return d, nil
}

// setTriggers indexes what starts the workflow.
func (s *Service) setTriggers(ctx context.Context, tx *store.Tx, orgID, workflowID string, d *Definition) error {
	var ts []store.WorkflowTrigger
	t := d.Trigger
	switch t.Type {
	case TriggerListJoin:
		ts = append(ts, store.WorkflowTrigger{Kind: TriggerListJoin, Key: t.ListID})
	case TriggerSegmentIn:
		ts = append(ts, store.WorkflowTrigger{Kind: TriggerSegmentIn, Key: t.SegmentID})
	case TriggerForm:
		ts = append(ts, store.WorkflowTrigger{Kind: TriggerForm, Key: t.FormID})
	case TriggerEvent:
		ts = append(ts, store.WorkflowTrigger{Kind: TriggerEvent, Key: t.Event})
	case TriggerDate:
		ts = append(ts, store.WorkflowTrigger{Kind: TriggerDate, Key: t.Field})
	}
	// Manual enrolment and list or segment triggers need no entry: they
	// name the workflow.
	return store.SetWorkflowTriggers(ctx, tx, orgID, workflowID, ts)
}

func (s *Service) audit(ctx context.Context, tx *store.Tx, a Actor, action, workflowID string, details map[string]string) error {
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: a.orgID, Actor: a.who, Action: action, TargetType: "workflow",
		TargetID: workflowID, Outcome: audit.Success, Details: details})
	return err
}
