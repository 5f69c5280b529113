package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/webauth"
	"github.com/carepost/carepost/internal/workflow"
)

// Automated workflows (package workflow, docs/WORKFLOWS.md). Reading needs
// workflows:write or reports:read (checked by the domain); changes need
// workflows:write.

func (s *Server) workflowRoutes() []Route {
	const get, post, put = http.MethodGet, http.MethodPost, http.MethodPut
	w := access.WorkflowsWrite
	return []Route{
		{Method: get, Path: "/workflows", Tag: "workflows", Summary: "The organization's workflows (workflows:write or reports:read)", Response: "WorkflowList", handler: s.listWorkflows},
		{Method: post, Path: "/workflows", Tag: "workflows", Perm: w, Summary: "Create a draft workflow from a definition; every problem names its step (docs/WORKFLOWS.md)", Request: "WorkflowDefinition", Response: "Workflow", Status: http.StatusCreated, handler: s.createWorkflow},
		{Method: get, Path: "/workflows/{id}", Tag: "workflows", Tenant: true, Summary: "A workflow with its definition (version= for an older one)", Response: "Workflow", handler: s.getWorkflow},
		{Method: put, Path: "/workflows/{id}", Tag: "workflows", Tenant: true, Perm: w, Summary: "Publish a new version (base= the version edited, else 409 when it moved on); contacts in flight stay on their version", Request: "WorkflowDefinition", Response: "Workflow", handler: s.publishWorkflow},
		{Method: post, Path: "/workflows/{id}/activate", Tag: "workflows", Tenant: true, Perm: w, Summary: "Start the workflow: its trigger enrols contacts (a list or segment trigger enrols its members now)", Response: "Workflow", handler: s.activateWorkflow},
		{Method: post, Path: "/workflows/{id}/stop", Tag: "workflows", Tenant: true, Perm: w, Summary: "Stop enrolling; contacts in flight finish their path", Response: "Workflow", handler: s.stopWorkflow},
		{Method: post, Path: "/workflows/{id}/enrolments", Tag: "workflows", Tenant: true, Perm: w, Summary: "Enrol one contact (any active workflow); 409 when the contact was in it before (no re-entry)", Request: "WorkflowEnrolment", Response: "WorkflowRun", Status: http.StatusCreated, handler: s.enrolWorkflow},
		{Method: get, Path: "/workflows/{id}/report", Tag: "workflows", Tenant: true, Summary: "Per step: contacts there now and ever, sends, opens, clicks, drop-offs, completions", Response: "WorkflowReport", handler: s.workflowReport},
		{Method: get, Path: "/workflows/{id}/runs", Tag: "workflows", Tenant: true, Summary: "The workflow's contacts and where they are (state=, step=, contact_id=, after=, limit= ≤ 1000)", Response: "WorkflowRunList", handler: s.workflowRuns},
		{Method: get, Path: "/workflow-runs/{id}", Tag: "workflows", Tenant: true, Summary: "One contact's journey: the path taken with times and outcomes", Response: "WorkflowPath", handler: s.workflowPath},
	}
}

// failWorkflow maps the workflow domain's errors, then the common ones.
func (s *Server) failWorkflow(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, workflow.ErrAlreadyEnrolled):
		httpserver.WriteError(w, r, http.StatusConflict, "already_enrolled", err.Error(), "contact_id")
	case errors.Is(err, workflow.ErrInactive):
		httpserver.WriteError(w, r, http.StatusConflict, "inactive", err.Error(), "")
	case errors.Is(err, workflow.ErrState):
		httpserver.WriteError(w, r, http.StatusConflict, "state", err.Error(), "")
	case errors.Is(err, workflow.ErrStale):
		httpserver.WriteError(w, r, http.StatusConflict, "stale", err.Error(), "base")
	case errors.Is(err, workflow.ErrSmallCell):
		httpserver.WriteError(w, r, http.StatusForbidden, "small_cell", err.Error(), "")
	default:
		s.fail(w, r, err)
	}
}

type workflowView struct {
	ID             string               `json:"id"`
	Name           string               `json:"name"`
	State          string               `json:"state"`
	CurrentVersion int                  `json:"current_version"`
	Version        int                  `json:"version"`
	Definition     *workflow.Definition `json:"definition,omitempty"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
}

func viewWorkflow(wf workflow.Workflow) workflowView {
	return workflowView{ID: wf.ID, Name: wf.Name, State: wf.State, CurrentVersion: wf.CurrentVersion, Version: wf.Version,
		Definition: wf.Definition, CreatedAt: wf.CreatedAt, UpdatedAt: wf.UpdatedAt}
}

type runView struct {
	ID         string     `json:"id"`
	WorkflowID string     `json:"workflow_id"`
	Version    int        `json:"version"`
	ContactID  string     `json:"contact_id"`
	State      string     `json:"state"`
	StepID     string     `json:"step_id"`
	StepAt     time.Time  `json:"step_at"`
	DueAt      *time.Time `json:"due_at"`
	Outcome    string     `json:"outcome,omitempty"`
	Source     string     `json:"source"`
	EnteredAt  time.Time  `json:"entered_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func viewRun(r workflow.Run) runView {
	return runView{ID: r.ID, WorkflowID: r.WorkflowID, Version: r.Version, ContactID: r.ContactID, State: r.State, StepID: r.StepID,
		StepAt: r.StepAt, DueAt: timePtr(r.DueAt), Outcome: r.Outcome, Source: r.Source, EnteredAt: r.EnteredAt, FinishedAt: timePtr(r.FinishedAt)}
}

// readDefinition decodes the body as a definition, strictly.
func readDefinition(r *http.Request) (*workflow.Definition, error) {
	var raw json.RawMessage
	if err := decode(r, &raw); err != nil {
		return nil, err
	}
	d, err := workflow.ParseDefinition(raw)
	if err != nil {
		return nil, &auth.InputError{Field: "definition", Msg: err.Error()}
	}
	return d, nil
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	list, err := s.deps.Workflows.List(r.Context(), workflow.As(id.Principal))
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	out := make([]workflowView, 0, len(list))
	for _, wf := range list {
		out = append(out, viewWorkflow(wf))
	}
	s.ok(w, 0, map[string]any{"workflows": out})
}

func (s *Server) createWorkflow(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	d, err := readDefinition(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	wf, err := s.deps.Workflows.Create(r.Context(), workflow.As(id.Principal), d)
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewWorkflow(wf))
}

// intParam reads an optional non-negative integer query parameter.
func intParam(r *http.Request, name string, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > max {
		return 0, &auth.InputError{Field: name, Msg: "must be a whole number from 0 to " + strconv.Itoa(max)}
	}
	return n, nil
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	v, err := intParam(r, "version", 1<<30)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	wf, err := s.deps.Workflows.Get(r.Context(), workflow.As(id.Principal), r.PathValue("id"), v)
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, 0, viewWorkflow(wf))
}

func (s *Server) publishWorkflow(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	base, err := intParam(r, "base", 1<<30)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := readDefinition(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	wf, err := s.deps.Workflows.Publish(r.Context(), workflow.As(id.Principal), r.PathValue("id"), d, base)
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, 0, viewWorkflow(wf))
}

func (s *Server) activateWorkflow(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	wf, err := s.deps.Workflows.Activate(r.Context(), workflow.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, 0, viewWorkflow(wf))
}

func (s *Server) stopWorkflow(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	wf, err := s.deps.Workflows.Stop(r.Context(), workflow.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, 0, viewWorkflow(wf))
}

func (s *Server) enrolWorkflow(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		ContactID string `json:"contact_id"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := s.deps.Workflows.Enrol(r.Context(), workflow.As(id.Principal), r.PathValue("id"), in.ContactID)
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewRun(run))
}

func (s *Server) workflowReport(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	rep, err := s.deps.Workflows.Report(r.Context(), workflow.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, 0, rep)
}

func (s *Server) workflowRuns(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	runs, err := s.deps.Workflows.Runs(r.Context(), workflow.As(id.Principal), r.PathValue("id"), workflow.RunQuery{
		State: q.Get("state"), StepID: q.Get("step"), ContactID: q.Get("contact_id"), After: q.Get("after"), Limit: limit})
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	out := make([]runView, 0, len(runs))
	next := ""
	for _, run := range runs {
		out = append(out, viewRun(run))
		next = run.ID
	}
	s.ok(w, 0, map[string]any{"runs": out, "next_cursor": next})
}

func (s *Server) workflowPath(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	run, steps, err := s.deps.Workflows.Path(r.Context(), workflow.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failWorkflow(w, r, err)
		return
	}
	s.ok(w, 0, map[string]any{"run": viewRun(run), "path": steps})
}

// workflowSchemas are the OpenAPI components of the workflow endpoints.
func workflowSchemas() schema {
	step := obj([]string{"id", "type"}, schema{
		"id":   str("stable across versions: a-z, 0-9, _ and -"),
		"type": schema{"type": "string", "enum": []string{"send", "wait", "wait_event", "branch", "goto", "add_to_segment", "end"}},
		"next": str("the step after this one (default: the next in the list)"), "template_id": str("send"), "template_version": schema{"type": "integer"},
		"track":    boolean("send: open pixel and click redirects when delivery allows (default true)"),
		"duration": str("wait: e.g. 48h, 7d"), "until": when("wait"), "relative_to": schema{"type": "object"}, "window": schema{"type": "object"},
		"event": schema{"type": "object"}, "timeout": str("wait_event"), "timeout_next": str("wait_event"),
		"branches": list(schema{"type": "object"}), "fallback": str("branch"), "target": str("goto: a step"), "workflow_id": str("goto: another workflow"),
		"segment_id": str("add_to_segment")})
	run := obj(nil, schema{"id": str(""), "workflow_id": str(""), "version": schema{"type": "integer"}, "contact_id": str(""),
		"state": schema{"type": "string", "enum": []string{"active", "waiting", "completed", "exited"}}, "step_id": str(""), "step_at": at(""),
		"due_at": when(""), "outcome": str(""), "source": str(""), "entered_at": at(""), "finished_at": when("")})
	return schema{
		"WorkflowDefinition": obj([]string{"name", "sender", "trigger", "steps"}, schema{"name": str(""),
			"sender":   obj([]string{"address"}, schema{"name": str(""), "address": str("an address of a verified sending domain")}),
			"reply_to": str(""), "priority": schema{"type": "integer", "minimum": 0, "maximum": 9}, "require_consent": boolean("default true"),
			"trigger": obj([]string{"type"}, schema{"type": schema{"type": "string", "enum": []string{"list", "segment", "list_join", "segment_in", "form", "event", "date", "manual"}},
				"list_id": str(""), "segment_id": str(""), "form_id": str(""), "event": str(""), "field": str("date"), "offset_days": schema{"type": "integer"}, "at": str("HH:MM")}),
			"steps": list(step)}),
		"Workflow": obj(nil, schema{"id": str(""), "name": str(""), "state": schema{"type": "string", "enum": []string{"draft", "active", "stopped"}},
			"current_version": schema{"type": "integer"}, "version": schema{"type": "integer"}, "definition": ref("WorkflowDefinition"),
			"created_at": at(""), "updated_at": at("")}),
		"WorkflowList":      obj(nil, schema{"workflows": list(ref("Workflow"))}),
		"WorkflowEnrolment": obj([]string{"contact_id"}, schema{"contact_id": str("")}),
		"WorkflowRun":       run,
		"WorkflowRunList":   obj(nil, schema{"runs": list(ref("WorkflowRun")), "next_cursor": str("pass as after for the next page")}),
		"WorkflowReport": obj(nil, schema{"workflow_id": str(""), "version": schema{"type": "integer"}, "steps": list(obj(nil, schema{
			"step_id": str(""), "type": str(""), "current": schema{"type": "integer"}, "entered": schema{"type": "integer"}, "sends": schema{"type": "integer"},
			"opens": schema{"type": "integer"}, "clicks": schema{"type": "integer"}, "dropoffs": schema{"type": "integer"}, "completed": schema{"type": "integer"},
			"retired": boolean("a step of an older version")}))}),
		"WorkflowPath": obj(nil, schema{"run": ref("WorkflowRun"), "path": list(obj(nil, schema{"step_id": str(""), "type": str(""),
			"entered_at": at(""), "left_at": when("null: the contact is there now"), "outcome": str(""), "detail": str("")}))}),
	}
}
