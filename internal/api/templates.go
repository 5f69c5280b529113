package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/webauth"
)

// Templates (package template, docs/TEMPLATES.md): versioned — an update
// adds a version, versions never change — sanitized, and refused with 422
// when the PHI lint finds a PHI field in the subject, the preheader or a
// link URL.

func (s *Server) templateRoutes() []Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	w := access.TemplatesWrite
	return []Route{
		{Method: get, Path: "/templates", Tag: "templates", Summary: "The organization's templates, most recently changed first (templates:write or campaigns:write)", Response: "TemplateList", handler: s.listTemplates},
		{Method: post, Path: "/templates", Tag: "templates", Perm: w, Summary: "Create a template (version 1): HTML sanitized, a text part derived when none is given; a PHI field in the subject, preheader or a link URL answers 422 naming the part, field and position", Request: "TemplateInput", Response: "Template", Status: http.StatusCreated, handler: s.createTemplate},
		{Method: get, Path: "/templates/{id}", Tag: "templates", Tenant: true, Summary: "A template at its current version, or at version= (templates:write or campaigns:write)", Response: "Template", handler: s.getTemplate},
		{Method: put, Path: "/templates/{id}", Tag: "templates", Tenant: true, Perm: w, Summary: "Save an edit as a new version (versions are immutable); base_version guards concurrent edits; linted like create", Request: "TemplateInput", Response: "Template", handler: s.updateTemplate},
		{Method: del, Path: "/templates/{id}", Tag: "templates", Tenant: true, Perm: w, Summary: "Delete a template: no longer listed or editable; campaigns that reference its versions keep them", Status: http.StatusNoContent, handler: s.deleteTemplate},
		{Method: get, Path: "/templates/{id}/versions", Tag: "templates", Tenant: true, Summary: "A template's versions, newest first (templates:write or campaigns:write)", Response: "TemplateVersionList", handler: s.listTemplateVersions},
		{Method: post, Path: "/templates/{id}/preview", Tag: "templates", Tenant: true, Summary: "Render a version for a sample contact or a contact of the organization (contact_id: PHI masked without phi:read, audited with it); stores nothing (templates:write or campaigns:write)", Request: "TemplatePreviewInput", Response: "TemplatePreview", handler: s.previewTemplate},
	}
}

// readsTemplates: template reads are for who writes templates or
// campaigns.
func readsTemplates(p auth.Principal) error {
	if p.Perms.Has(access.TemplatesWrite) || p.Perms.Has(access.CampaignsWrite) {
		return nil
	}
	return auth.ErrForbidden
}

// failTemplate maps the template domain's errors, then the common ones.
func (s *Server) failTemplate(w http.ResponseWriter, r *http.Request, err error) {
	var le *template.LintError
	switch {
	case errors.As(err, &le) && len(le.Problems) > 0:
		var b struct {
			httpserver.ErrorBody
			Problems []template.Problem `json:"problems"`
		}
		first := le.Problems[0]
		b.Error.Code, b.Error.Message, b.Error.Field = "template_refused", first.String(), first.Part
		b.RequestID = httpserver.Info(r.Context()).ID
		b.Problems = le.Problems
		httpserver.WriteJSON(w, http.StatusUnprocessableEntity, b)
	case errors.Is(err, template.ErrStale):
		httpserver.WriteError(w, r, http.StatusConflict, "stale", err.Error(), "base_version")
	default:
		s.failContact(w, r, err)
	}
}

type templateView struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	CurrentVersion   int        `json:"current_version"`
	Version          int        `json:"version"`
	Subject          string     `json:"subject,omitempty"`
	Preheader        string     `json:"preheader,omitempty"`
	HTML             string     `json:"html,omitempty"`
	Text             string     `json:"text,omitempty"`
	TextGenerated    bool       `json:"text_generated"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	VersionCreatedAt *time.Time `json:"version_created_at,omitempty"`
}

func viewTemplate(t template.Template) templateView {
	return templateView{ID: t.ID, Name: t.Name, CurrentVersion: t.CurrentVersion, Version: t.Version, Subject: t.Subject,
		Preheader: t.Preheader, HTML: t.HTML, Text: t.Text, TextGenerated: t.TextGenerated, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, VersionCreatedAt: timePtr(t.VersionCreatedAt)}
}

type templateInput struct {
	Name        string `json:"name"`
	Subject     string `json:"subject"`
	Preheader   string `json:"preheader"`
	HTML        string `json:"html"`
	Text        string `json:"text"`
	BaseVersion int    `json:"base_version"`
}

func (in templateInput) source() template.Source {
	return template.Source{Subject: in.Subject, Preheader: in.Preheader, HTML: in.HTML, Text: in.Text}
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := readsTemplates(id.Principal); err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := s.deps.Templates.List(r.Context(), id.Principal.OrgID)
	if err != nil {
		s.failTemplate(w, r, err)
		return
	}
	out := make([]templateView, 0, len(ts))
	for _, t := range ts {
		out = append(out, viewTemplate(t))
	}
	s.ok(w, 0, map[string]any{"templates": out})
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in templateInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.Templates.Create(r.Context(), id.Principal.Actor(), id.Principal.OrgID, in.Name, in.source())
	if err != nil {
		s.failTemplate(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewTemplate(t))
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := readsTemplates(id.Principal); err != nil {
		s.fail(w, r, err)
		return
	}
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, &auth.InputError{Field: "version", Msg: "must be a version number"})
			return
		}
		version = n
	}
	t, err := s.deps.Templates.Get(r.Context(), id.Principal.OrgID, r.PathValue("id"), version)
	if err != nil {
		s.failTemplate(w, r, err)
		return
	}
	s.ok(w, 0, viewTemplate(t))
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in templateInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	// Another organization's id is 404 before the body is judged.
	if _, err := s.deps.Templates.Get(r.Context(), id.Principal.OrgID, r.PathValue("id"), 0); err != nil {
		s.failTemplate(w, r, err)
		return
	}
	t, err := s.deps.Templates.Update(r.Context(), id.Principal.Actor(), id.Principal.OrgID, r.PathValue("id"), in.Name, in.source(), in.BaseVersion)
	if err != nil {
		s.failTemplate(w, r, err)
		return
	}
	s.ok(w, 0, viewTemplate(t))
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Templates.Delete(r.Context(), id.Principal.Actor(), id.Principal.OrgID, r.PathValue("id")); err != nil {
		s.failTemplate(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTemplateVersions(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := readsTemplates(id.Principal); err != nil {
		s.fail(w, r, err)
		return
	}
	vs, err := s.deps.Templates.Versions(r.Context(), id.Principal.OrgID, r.PathValue("id"))
	if err != nil {
		s.failTemplate(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, map[string]any{"version": v.Version, "text_generated": v.TextGenerated, "created_at": v.CreatedAt,
			"actor": map[string]string{"type": string(v.Actor.Type), "id": v.Actor.ID}})
	}
	s.ok(w, 0, map[string]any{"versions": out})
}

type sampleInput struct {
	Email     string         `json:"email"`
	Phone     string         `json:"phone"`
	FirstName string         `json:"first_name"`
	LastName  string         `json:"last_name"`
	Timezone  string         `json:"timezone"`
	Locale    string         `json:"locale"`
	Fields    map[string]any `json:"fields"`
}

func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := readsTemplates(id.Principal); err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Version   int          `json:"version"`
		ContactID string       `json:"contact_id"`
		Sample    *sampleInput `json:"sample"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	org := id.Principal.OrgID
	// The template first: another organization's id is 404 whatever the
	// body names.
	if _, err := s.deps.Templates.Get(ctx, org, r.PathValue("id"), in.Version); err != nil {
		s.failTemplate(w, r, err)
		return
	}
	sch, err := s.deps.Contacts.Schema(ctx, org)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var sample template.Contact
	masked := false
	switch {
	case in.ContactID != "" && in.Sample != nil:
		s.fail(w, r, &auth.InputError{Field: "sample", Msg: "give contact_id or sample, not both"})
		return
	case in.ContactID != "":
		if !id.Principal.Perms.Has(access.ContactsRead) {
			s.fail(w, r, auth.ErrForbidden)
			return
		}
		v, err := s.deps.Contacts.Get(ctx, contact.As(id.Principal), in.ContactID)
		if err != nil {
			if errors.Is(err, auth.ErrForbidden) {
				s.fail(w, r, err)
				return
			}
			s.failContact(w, r, err)
			return
		}
		sample, masked = templateContact(sch, sampleInput{Email: v.Email, Phone: v.Phone, FirstName: v.FirstName, LastName: v.LastName,
			Timezone: v.Timezone, Locale: v.Locale, Fields: v.Fields}), v.Masked
		sample.ID = v.ID
	case in.Sample != nil:
		sample = templateContact(sch, *in.Sample)
	default:
		sample = defaultSample(sch, s.deps.Templates.Now())
	}
	out, version, err := s.deps.Templates.Preview(ctx, org, r.PathValue("id"), in.Version, sample,
		template.Links{Unsubscribe: "#unsubscribe", Preferences: "#preferences"})
	if err != nil {
		s.failTemplate(w, r, err)
		return
	}
	s.ok(w, 0, map[string]any{"version": version, "subject": out.Subject, "preheader": out.Preheader, "html": out.HTML,
		"text": out.Text, "masked": masked})
}

// templateContact turns JSON-shaped values into what a template sees:
// dates of date fields as template.Date (a masked value stays the text
// access.Masked).
func templateContact(sch *contact.Schema, in sampleInput) template.Contact {
	c := template.Contact{Email: in.Email, Phone: in.Phone, FirstName: in.FirstName, LastName: in.LastName, Timezone: in.Timezone,
		Locale: in.Locale, Fields: map[string]any{}}
	for k, v := range in.Fields {
		if f, ok := sch.Field(k); ok && f.Type == contact.TypeDate {
			if s, ok := v.(string); ok {
				if d, err := template.ParseDate(s); err == nil {
					c.Fields[k] = d
					continue
				}
			}
		}
		if list, ok := v.([]any); ok {
			items := make([]string, 0, len(list))
			for _, it := range list {
				if s, ok := it.(string); ok {
					items = append(items, s)
				}
			}
			c.Fields[k] = items
			continue
		}
		c.Fields[k] = v
	}
	return c
}

// defaultSample is a made-up contact with a plausible value for every
// field, so a preview shows each placeholder filled.
func defaultSample(sch *contact.Schema, now time.Time) template.Contact {
	c := template.Contact{ID: "con_sample", Email: "alex.sample@example.com", Phone: "+15555550100", FirstName: "Alex", LastName: "Sample",
		Timezone: "America/New_York", Locale: "en-US", Fields: map[string]any{}}
	for _, f := range sch.Custom() {
		switch f.Type {
		case contact.TypeNumber:
			c.Fields[f.Key] = float64(3)
		case contact.TypeDate:
			c.Fields[f.Key] = template.DateOf(now.AddDate(0, -6, 0))
		case contact.TypeBoolean:
			c.Fields[f.Key] = true
		case contact.TypeList:
			if len(f.Options) > 0 {
				c.Fields[f.Key] = []string{f.Options[0]}
			} else {
				c.Fields[f.Key] = []string{"sample"}
			}
		default:
			c.Fields[f.Key] = "Sample " + f.Label
		}
	}
	return c
}
