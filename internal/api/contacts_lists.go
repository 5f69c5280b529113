package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/webauth"
)

// Contact fields, lists and their memberships.

func (s *Server) contactMoreRoutes() []Route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	r, w := access.ContactsRead, access.ContactsWrite
	return append([]Route{
		{Method: get, Path: "/contact-fields", Tag: "contact-fields", Perm: r, Summary: "The organization's contact fields: built-ins (always PHI), then custom fields", Response: "ContactFieldList", handler: s.listContactFields},
		{Method: post, Path: "/contact-fields", Tag: "contact-fields", Perm: w, Summary: "Define a custom field (text, number, date, boolean or list); PHI unless phi is false; key, type and phi never change", Request: "ContactFieldInput", Response: "ContactField", Status: http.StatusCreated, handler: s.createContactField},
		{Method: patch, Path: "/contact-fields/{id}", Tag: "contact-fields", Tenant: true, Perm: w, Summary: "Change a custom field's label or a list field's options, by key", Request: "ContactFieldPatch", Response: "ContactField", handler: s.updateContactField},
		{Method: del, Path: "/contact-fields/{id}", Tag: "contact-fields", Tenant: true, Perm: w, Summary: "Delete a custom field, by key: its values are no longer shown, its tag never reused", Status: http.StatusNoContent, handler: s.deleteContactField},

		{Method: get, Path: "/lists", Tag: "lists", Perm: r, Summary: "The organization's lists with their subscribed counts", Response: "ContactListList", handler: s.listLists},
		{Method: post, Path: "/lists", Tag: "lists", Perm: w, Summary: "Create a list (name it by purpose, never after a patient)", Request: "ContactListInput", Response: "ContactList", Status: http.StatusCreated, handler: s.createList},
		{Method: get, Path: "/lists/{id}", Tag: "lists", Tenant: true, Perm: r, Summary: "A list", Response: "ContactList", handler: s.getList},
		{Method: patch, Path: "/lists/{id}", Tag: "lists", Tenant: true, Perm: w, Summary: "Rename or re-describe a list", Request: "ContactListInput", Response: "ContactList", handler: s.updateList},
		{Method: del, Path: "/lists/{id}", Tag: "lists", Tenant: true, Perm: w, Summary: "Delete a list and its memberships (not the contacts)", Status: http.StatusNoContent, handler: s.deleteList},
		{Method: post, Path: "/lists/{id}/members", Tag: "lists", Tenant: true, Perm: w, Summary: "Subscribe up to 1000 contacts to the list, or unsubscribe them", Request: "ListMembersInput", Response: "ContactList", handler: s.setListMembers},
		{Method: get, Path: "/lists/{id}/members", Tag: "lists", Tenant: true, Perm: r, Summary: "A page of the list's memberships: contact ids and states (cursor=, limit= ≤ 1000)", Response: "ListMemberPage", handler: s.listMembers},
		{Method: get, Path: "/lists/{id}/export", Tag: "lists", Tenant: true, Perm: r, Summary: "Export the list's subscribed members as text/csv (audited); PHI columns only with phi:read", handler: s.exportList},
	}, s.importRoutes()...)
}

type fieldView struct {
	Key     string   `json:"key"`
	Label   string   `json:"label"`
	Type    string   `json:"type"`
	PHI     bool     `json:"phi"`
	Options []string `json:"options"`
	BuiltIn bool     `json:"built_in"`
}

func viewField(f contact.Field) fieldView {
	return fieldView{Key: f.Key, Label: f.Label, Type: string(f.Type), PHI: f.PHI, Options: nonNil(f.Options), BuiltIn: f.BuiltIn}
}

func (s *Server) listContactFields(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	fs, err := s.deps.Contacts.Fields(r.Context(), contact.As(id.Principal))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]fieldView, 0, len(fs))
	for _, f := range fs {
		out = append(out, viewField(f))
	}
	s.ok(w, 0, map[string]any{"fields": out})
}

func (s *Server) createContactField(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Key     string   `json:"key"`
		Label   string   `json:"label"`
		Type    string   `json:"type"`
		PHI     *bool    `json:"phi"`
		Options []string `json:"options"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.deps.Contacts.CreateField(r.Context(), contact.As(id.Principal),
		contact.FieldInput{Key: in.Key, Label: in.Label, Type: contact.FieldType(in.Type), PHI: in.PHI, Options: in.Options})
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewField(f))
}

func (s *Server) updateContactField(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Label   string   `json:"label"`
		Options []string `json:"options"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.deps.Contacts.UpdateField(r.Context(), contact.As(id.Principal), r.PathValue("id"), in.Label, in.Options)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewField(f))
}

func (s *Server) deleteContactField(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Contacts.DeleteField(r.Context(), contact.As(id.Principal), r.PathValue("id")); err != nil {
		s.failContact(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type listView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Subscribed  int64     `json:"subscribed"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewList(l contact.List) listView {
	return listView{ID: l.ID, Name: l.Name, Description: l.Description, Subscribed: l.Subscribed, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

type listInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func (s *Server) listLists(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	ls, err := s.deps.Contacts.Lists(r.Context(), contact.As(id.Principal))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]listView, 0, len(ls))
	for _, l := range ls {
		out = append(out, viewList(l))
	}
	s.ok(w, 0, map[string]any{"lists": out})
}

func (s *Server) createList(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in listInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var name, desc string
	if in.Name != nil {
		name = *in.Name
	}
	if in.Description != nil {
		desc = *in.Description
	}
	l, err := s.deps.Contacts.CreateList(r.Context(), contact.As(id.Principal), name, desc)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewList(l))
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	l, err := s.deps.Contacts.GetList(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewList(l))
}

func (s *Server) updateList(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in listInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.deps.Contacts.UpdateList(r.Context(), contact.As(id.Principal), r.PathValue("id"), in.Name, in.Description)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewList(l))
}

func (s *Server) deleteList(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Contacts.DeleteList(r.Context(), contact.As(id.Principal), r.PathValue("id")); err != nil {
		s.failContact(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setListMembers(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		ContactIDs []string `json:"contact_ids"`
		State      string   `json:"state"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.State == "" {
		in.State = string(contact.MemberSubscribed)
	}
	a := contact.As(id.Principal)
	if err := s.deps.Contacts.SetMembers(r.Context(), a, r.PathValue("id"), in.ContactIDs, contact.MemberState(in.State)); err != nil {
		s.failContact(w, r, err)
		return
	}
	s.getList(w, r, id)
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	q := r.URL.Query()
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, &auth.InputError{Field: "limit", Msg: "must be 1 to 1000"})
			return
		}
		limit = n
	}
	ms, err := s.deps.Contacts.Members(r.Context(), contact.As(id.Principal), r.PathValue("id"), q.Get("cursor"), limit)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{"contact_id": m.ContactID, "state": m.State, "updated_at": m.UpdatedAt})
	}
	next := ""
	if len(ms) == limit {
		next = ms[len(ms)-1].ContactID
	}
	s.ok(w, 0, map[string]any{"members": out, "next_cursor": next})
}
