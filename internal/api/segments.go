package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/webauth"
)

// Segments (package segment, docs/SEGMENTS.md): dynamic filter
// expressions and static member lists. Counts shown without phi:read obey
// the small-cell floor, in the domain.

// marketingRoutes are the segment and template endpoints.
func (s *Server) marketingRoutes() []Route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	r, w := access.ContactsRead, access.SegmentsWrite
	return append([]Route{
		{Method: get, Path: "/segments", Tag: "segments", Perm: r, Summary: "The organization's segments by name", Response: "SegmentList", handler: s.listSegments},
		{Method: post, Path: "/segments", Tag: "segments", Perm: w, Summary: "Define a segment: dynamic (an expression, compiled against the organization's fields; a bad one answers 422 with line, column and a caret) or static", Request: "SegmentInput", Response: "Segment", Status: http.StatusCreated, handler: s.createSegment},
		{Method: post, Path: "/segments/preview", Tag: "segments", Perm: r, Summary: "Try an expression without saving it: counts and a page of members (as GET /segments/{id}/preview)", Request: "SegmentTry", Response: "SegmentPreview", handler: s.tryExpression},
		{Method: get, Path: "/segments/{id}", Tag: "segments", Tenant: true, Perm: r, Summary: "A segment", Response: "Segment", handler: s.getSegment},
		{Method: patch, Path: "/segments/{id}", Tag: "segments", Tenant: true, Perm: w, Summary: "Change a segment's name, description or expression (a new expression is a new version; base_version guards concurrent edits)", Request: "SegmentPatch", Response: "Segment", handler: s.updateSegment},
		{Method: del, Path: "/segments/{id}", Tag: "segments", Tenant: true, Perm: w, Summary: "Delete a segment and its static memberships (not the contacts)", Status: http.StatusNoContent, handler: s.deleteSegment},
		{Method: get, Path: "/segments/{id}/preview", Tag: "segments", Tenant: true, Perm: r, Summary: "Evaluate now: member, subscribed and consented counts (below the small-cell floor shown as \"fewer than N\" without phi:read) and a page of members, PHI masked without phi:read (cursor=, limit= ≤ 100); audited", Response: "SegmentPreview", handler: s.previewSegment},
		{Method: post, Path: "/segments/{id}/members", Tag: "segments", Tenant: true, Perm: w, Summary: "Add up to 1000 contacts to a static segment (audited)", Request: "SegmentMembersInput", Response: "SegmentMembersResult", handler: s.addSegmentMembers},
		{Method: post, Path: "/segments/{id}/members/remove", Tag: "segments", Tenant: true, Perm: w, Summary: "Remove up to 1000 contacts from a static segment (audited)", Request: "SegmentMembersInput", Response: "SegmentMembersResult", handler: s.removeSegmentMembers},
		{Method: get, Path: "/segments/{id}/export", Tag: "segments", Tenant: true, Perm: r, Summary: "Export the segment's members as text/csv (audited); PHI columns only with phi:read; refused without phi:read below the small-cell floor", handler: s.exportSegment},
	}, s.templateRoutes()...)
}

// failSegment maps the segment domain's errors, then the common ones.
func (s *Server) failSegment(w http.ResponseWriter, r *http.Request, err error) {
	var ee *segment.Error
	var ev *segment.EvalError
	switch {
	case errors.As(err, &ee):
		var b struct {
			httpserver.ErrorBody
			Line    int    `json:"line"`
			Column  int    `json:"column"`
			Snippet string `json:"snippet"`
		}
		b.Error.Code, b.Error.Message, b.Error.Field = "invalid_expression", ee.Message, "expression"
		b.RequestID = httpserver.Info(r.Context()).ID
		b.Line, b.Column, b.Snippet = ee.Line, ee.Column, ee.Snippet
		httpserver.WriteJSON(w, http.StatusUnprocessableEntity, b)
	case errors.As(err, &ev):
		httpserver.WriteError(w, r, http.StatusUnprocessableEntity, "evaluation_failed", ev.Error(), "expression")
	case errors.Is(err, segment.ErrNotStatic):
		httpserver.WriteError(w, r, http.StatusConflict, "not_static", err.Error(), "")
	case errors.Is(err, segment.ErrStale):
		httpserver.WriteError(w, r, http.StatusConflict, "stale", err.Error(), "base_version")
	case errors.Is(err, segment.ErrSmallCell):
		httpserver.WriteError(w, r, http.StatusForbidden, "small_cell", err.Error(), "")
	default:
		s.fail(w, r, err)
	}
}

type segmentView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Kind        string    `json:"kind"`
	Expression  string    `json:"expression,omitempty"`
	Version     int       `json:"version"`
	Fields      []string  `json:"fields"`
	UsesPHI     bool      `json:"uses_phi"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewSegment(sg segment.Segment) segmentView {
	return segmentView{ID: sg.ID, Name: sg.Name, Description: sg.Description, Kind: string(sg.Kind), Expression: sg.Expression,
		Version: sg.Version, Fields: sg.Fields, UsesPHI: sg.UsesPHI, CreatedAt: sg.CreatedAt, UpdatedAt: sg.UpdatedAt}
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	sgs, err := s.deps.Segments.List(r.Context(), id.Principal)
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	out := make([]segmentView, 0, len(sgs))
	for _, sg := range sgs {
		out = append(out, viewSegment(sg))
	}
	s.ok(w, 0, map[string]any{"segments": out})
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Kind        string `json:"kind"`
		Expression  string `json:"expression"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Kind == "" {
		in.Kind = string(segment.Dynamic)
	}
	sg, err := s.deps.Segments.Create(r.Context(), id.Principal, segment.Input{Name: in.Name, Description: in.Description,
		Kind: segment.Kind(in.Kind), Expression: in.Expression})
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewSegment(sg))
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	sg, err := s.deps.Segments.Get(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	s.ok(w, 0, viewSegment(sg))
}

func (s *Server) updateSegment(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Expression  *string `json:"expression"`
		BaseVersion int     `json:"base_version"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	sg, err := s.deps.Segments.Update(r.Context(), id.Principal, r.PathValue("id"), segment.Patch{Name: in.Name,
		Description: in.Description, Expression: in.Expression, Base: in.BaseVersion})
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	s.ok(w, 0, viewSegment(sg))
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Segments.Delete(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.failSegment(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type countView struct {
	Value   *int64 `json:"value"`
	Display string `json:"display"`
	Hidden  bool   `json:"hidden"`
}

func viewCount(c segment.Count) countView {
	v := countView{Display: c.String(), Hidden: c.Hidden}
	if !c.Hidden {
		n := c.Value
		v.Value = &n
	}
	return v
}

func (s *Server) writePreview(w http.ResponseWriter, p segment.Preview) {
	page := make([]contactView, 0, len(p.Page))
	for _, v := range p.Page {
		page = append(page, viewContact(v))
	}
	s.ok(w, 0, map[string]any{"members": viewCount(p.Members), "subscribed": viewCount(p.Subscribed), "consented": viewCount(p.Consented),
		"page": page, "next_cursor": p.Next, "fields": p.Fields, "uses_phi": p.UsesPHI, "version": p.Version,
		"floor": s.deps.Segments.Floor()})
}

func pageParams(r *http.Request) (string, int, error) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > segment.MaxPage {
			return "", 0, &auth.InputError{Field: "limit", Msg: "must be 1 to 100"}
		}
		limit = n
	}
	return q.Get("cursor"), limit, nil
}

func (s *Server) previewSegment(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	after, limit, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.deps.Segments.Preview(r.Context(), id.Principal, r.PathValue("id"), after, limit)
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	s.writePreview(w, p)
}

func (s *Server) tryExpression(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Expression string `json:"expression"`
		Cursor     string `json:"cursor"`
		Limit      int    `json:"limit"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.deps.Segments.PreviewExpression(r.Context(), id.Principal, in.Expression, in.Cursor, in.Limit)
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	s.writePreview(w, p)
}

func (s *Server) segmentMembers(w http.ResponseWriter, r *http.Request, id webauth.Identity, add bool) {
	var in struct {
		ContactIDs []string `json:"contact_ids"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	change := s.deps.Segments.RemoveMembers
	if add {
		change = s.deps.Segments.AddMembers
	}
	n, err := change(r.Context(), id.Principal, r.PathValue("id"), in.ContactIDs)
	if err != nil {
		s.failSegment(w, r, err)
		return
	}
	s.ok(w, 0, map[string]any{"changed": n})
}

func (s *Server) addSegmentMembers(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.segmentMembers(w, r, id, true)
}

func (s *Server) removeSegmentMembers(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.segmentMembers(w, r, id, false)
}

// exportSegment streams CSV like the contact export: the audit entry and
// the small-cell check come before the first byte.
func (s *Server) exportSegment(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="segment.csv"`)
	cw := &countingWriter{w: w}
	n, err := s.deps.Segments.Export(r.Context(), id.Principal, r.PathValue("id"), cw)
	if err != nil {
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			w.Header().Set("Content-Type", "application/json")
			s.failSegment(w, r, err)
			return
		}
		s.deps.Log.Error("segment export cut short", "route", r.Pattern, "contacts", n, "err", err)
	}
}
