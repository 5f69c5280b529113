package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/webauth"
)

// Contacts (package contact, docs/CONTACTS.md): PHI masked for principals
// without phi:read, and every read of PHI by a person audited, by the
// domain; these handlers translate.

func (s *Server) contactRoutes() []Route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	r, w := access.ContactsRead, access.ContactsWrite
	return append([]Route{
		{Method: get, Path: "/contacts", Tag: "contacts", Perm: r, Summary: "Search contacts: email= (exact, by blind index), status=, list=, timezone=, locale=, field.<key>= for fields not marked PHI; cursor=, limit= (≤ 100). PHI masked without phi:read; a page shown with PHI is audited", Response: "ContactPage", handler: s.searchContacts},
		{Method: post, Path: "/contacts", Tag: "contacts", Perm: w, Summary: "Create a contact (email required, unique in the organization)", Request: "ContactInput", Response: "Contact", Status: http.StatusCreated, handler: s.createContact},
		{Method: post, Path: "/contacts/bulk", Tag: "contacts", Perm: w, Summary: "Create or update up to 1000 contacts by email in one transaction; any invalid input writes nothing", Request: "ContactBulk", Response: "ContactBulkResult", handler: s.bulkContacts},
		{Method: get, Path: "/contacts/export", Tag: "contacts", Perm: r, Summary: "Export every contact as text/csv (audited); PHI columns only with phi:read", handler: s.exportContacts},
		{Method: get, Path: "/contacts/{id}", Tag: "contacts", Tenant: true, Perm: r, Summary: "A contact with its list memberships; PHI masked without phi:read, audited with it", Response: "Contact", handler: s.getContact},
		{Method: patch, Path: "/contacts/{id}", Tag: "contacts", Tenant: true, Perm: w, Summary: "Change a contact: given values change, null clears a field", Request: "ContactInput", Response: "Contact", handler: s.updateContact},
		{Method: del, Path: "/contacts/{id}", Tag: "contacts", Tenant: true, Perm: w, Summary: "Delete a contact and crypto-shred its PHI (its key is destroyed); its authorizations are retained", Status: http.StatusNoContent, handler: s.deleteContact},
		{Method: post, Path: "/contacts/{id}/events", Tag: "contacts", Tenant: true, Perm: w, Summary: "Record a custom event (from a CDP or EHR) for segments and workflows; properties are sealed", Request: "ContactEventInput", Response: "ContactEvent", Status: http.StatusCreated, handler: s.recordContactEvent},
		{Method: get, Path: "/contacts/{id}/events", Tag: "contacts", Tenant: true, Perm: r, Summary: "A contact's events, newest first (name=, since=, before=, limit=); properties masked without phi:read", Response: "ContactEventList", handler: s.listContactEvents},
		{Method: post, Path: "/contacts/{id}/consents", Tag: "consents", Tenant: true, Perm: w, Summary: "Record a marketing authorization (HIPAA 164.508(a)(3)); it becomes the contact's current one", Request: "ContactConsentInput", Response: "ContactConsent", Status: http.StatusCreated, handler: s.grantConsent},
		{Method: get, Path: "/contacts/{id}/consents", Tag: "consents", Tenant: true, Perm: r, Summary: "A contact's authorizations, newest first", Response: "ContactConsentList", handler: s.listConsents},
		{Method: post, Path: "/consents/{id}/revoke", Tag: "consents", Tenant: true, Perm: w, Summary: "Record the revocation of an authorization (HIPAA 164.508(b)(5))", Request: "ContactConsentRevoke", Response: "ContactConsent", handler: s.revokeConsent},
	}, s.contactMoreRoutes()...)
}

// failContact maps the contact domain's own errors, then the common ones.
func (s *Server) failContact(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, contact.ErrEmailTaken):
		httpserver.WriteError(w, r, http.StatusConflict, "email_taken", err.Error(), "email")
	case errors.Is(err, contact.ErrRevoked):
		httpserver.WriteError(w, r, http.StatusConflict, "revoked", err.Error(), "")
	case errors.Is(err, contact.ErrImportState):
		httpserver.WriteError(w, r, http.StatusConflict, "import_state", err.Error(), "")
	default:
		s.fail(w, r, err)
	}
}

type contactInput struct {
	Email     *string         `json:"email"`
	Phone     *string         `json:"phone"`
	FirstName *string         `json:"first_name"`
	LastName  *string         `json:"last_name"`
	Timezone  *string         `json:"timezone"`
	Locale    *string         `json:"locale"`
	Status    *contact.Status `json:"status"`
	Fields    map[string]any  `json:"fields"`
}

func (in contactInput) domain() contact.Input {
	return contact.Input{Email: in.Email, Phone: in.Phone, FirstName: in.FirstName, LastName: in.LastName,
		Timezone: in.Timezone, Locale: in.Locale, Status: in.Status, Fields: in.Fields}
}

type consentView struct {
	ID        string     `json:"id"`
	GrantedAt *time.Time `json:"granted_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Valid     bool       `json:"valid"`
}

type contactView struct {
	ID         string            `json:"id"`
	Email      string            `json:"email"`
	Phone      string            `json:"phone"`
	FirstName  string            `json:"first_name"`
	LastName   string            `json:"last_name"`
	Timezone   string            `json:"timezone"`
	Locale     string            `json:"locale"`
	Status     contact.Status    `json:"status"`
	Suppressed bool              `json:"suppressed"`
	Fields     map[string]any    `json:"fields"`
	Consent    *consentView      `json:"consent"`
	Lists      map[string]string `json:"lists,omitempty"`
	Masked     bool              `json:"masked"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

func viewContact(v contact.View) contactView {
	out := contactView{ID: v.ID, Email: v.Email, Phone: v.Phone, FirstName: v.FirstName, LastName: v.LastName,
		Timezone: v.Timezone, Locale: v.Locale, Status: v.Status, Suppressed: v.Suppressed, Fields: v.Fields,
		Lists: v.Lists, Masked: v.Masked, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if v.Consent.ID != "" {
		out.Consent = &consentView{ID: v.Consent.ID, GrantedAt: timePtr(v.Consent.GrantedAt), ExpiresAt: timePtr(v.Consent.ExpiresAt),
			RevokedAt: timePtr(v.Consent.RevokedAt), Valid: v.ConsentValid}
	}
	return out
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in contactInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Contacts.Create(r.Context(), contact.As(id.Principal), in.domain())
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewContact(v))
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	v, err := s.deps.Contacts.Get(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewContact(v))
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in contactInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Contacts.Update(r.Context(), contact.As(id.Principal), r.PathValue("id"), in.domain())
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewContact(v))
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Contacts.Delete(r.Context(), contact.As(id.Principal), r.PathValue("id")); err != nil {
		s.failContact(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) searchContacts(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	q := r.URL.Query()
	cq := contact.Query{Email: q.Get("email"), Status: contact.Status(q.Get("status")), ListID: q.Get("list"),
		Timezone: q.Get("timezone"), Locale: q.Get("locale"), After: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > contact.MaxPage {
			s.fail(w, r, &auth.InputError{Field: "limit", Msg: "must be 1 to 100"})
			return
		}
		cq.Limit = n
	}
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "field."); ok && len(vs) > 0 {
			if cq.Fields == nil {
				cq.Fields = map[string]string{}
			}
			cq.Fields[key] = vs[0]
		}
	}
	page, err := s.deps.Contacts.Search(r.Context(), contact.As(id.Principal), cq)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]contactView, 0, len(page.Contacts))
	for _, v := range page.Contacts {
		out = append(out, viewContact(v))
	}
	s.ok(w, 0, map[string]any{"contacts": out, "next_cursor": page.Next})
}

func (s *Server) bulkContacts(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Contacts []contactInput `json:"contacts"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ins := make([]contact.Input, len(in.Contacts))
	for i, c := range in.Contacts {
		ins[i] = c.domain()
	}
	out, err := s.deps.Contacts.BulkUpsert(r.Context(), contact.As(id.Principal), ins)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	results := make([]map[string]any, len(out))
	for i, o := range out {
		results[i] = map[string]any{"id": o.ID, "created": o.Created}
	}
	s.ok(w, 0, map[string]any{"results": results})
}
