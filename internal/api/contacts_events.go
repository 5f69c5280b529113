package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/webauth"
)

// Contact events, authorizations and CSV export.

type contactEventView struct {
	ID         string         `json:"id"`
	ContactID  string         `json:"contact_id"`
	Name       string         `json:"name"`
	At         time.Time      `json:"at"`
	Properties map[string]any `json:"properties"`
	Masked     bool           `json:"masked"`
}

func viewEvent(e contact.Event) contactEventView {
	return contactEventView{ID: e.ID, ContactID: e.ContactID, Name: e.Name, At: e.At, Properties: e.Properties, Masked: e.Masked}
}

func (s *Server) recordContactEvent(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Name       string         `json:"name"`
		At         *time.Time     `json:"at"`
		Properties map[string]any `json:"properties"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var at time.Time
	if in.At != nil {
		at = *in.At
	}
	ev, err := s.deps.Contacts.RecordEvent(r.Context(), contact.As(id.Principal), r.PathValue("id"), in.Name, at, in.Properties)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewEvent(ev))
}

func (s *Server) listContactEvents(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	q := r.URL.Query()
	eq := contact.EventQuery{Name: q.Get("name")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &eq.Since}, {"before", &eq.Before}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.fail(w, r, &auth.InputError{Field: p.name, Msg: "must be an RFC 3339 time"})
				return
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, &auth.InputError{Field: "limit", Msg: "must be 1 to 1000"})
			return
		}
		eq.Limit = n
	}
	evs, err := s.deps.Contacts.Events(r.Context(), contact.As(id.Principal), r.PathValue("id"), eq)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]contactEventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, viewEvent(e))
	}
	s.ok(w, 0, map[string]any{"events": out})
}

type consentRecordView struct {
	ID           string     `json:"id"`
	ContactID    string     `json:"contact_id"`
	GrantedAt    time.Time  `json:"granted_at"`
	Method       string     `json:"method"`
	TextVersion  string     `json:"text_version"`
	Source       string     `json:"source"`
	ExpiresAt    *time.Time `json:"expires_at"`
	ExpiryEvent  string     `json:"expiry_event"`
	RevokedAt    *time.Time `json:"revoked_at"`
	RevokeSource string     `json:"revoke_source"`
}

func viewAuthorization(a contact.Authorization) consentRecordView {
	return consentRecordView{ID: a.ID, ContactID: a.ContactID, GrantedAt: a.GrantedAt, Method: string(a.Method), TextVersion: a.TextVersion,
		Source: a.Source, ExpiresAt: timePtr(a.ExpiresAt), ExpiryEvent: a.ExpiryEvent, RevokedAt: timePtr(a.RevokedAt), RevokeSource: a.RevokeSource}
}

type consentInput struct {
	GrantedAt   *time.Time `json:"granted_at"`
	Method      string     `json:"method"`
	TextVersion string     `json:"text_version"`
	Text        string     `json:"text"`
	Source      string     `json:"source"`
	ExpiresAt   *time.Time `json:"expires_at"`
	ExpiryEvent string     `json:"expiry_event"`
}

func (in consentInput) domain() contact.Authorization {
	a := contact.Authorization{Method: contact.Method(in.Method), TextVersion: in.TextVersion, Text: in.Text, Source: in.Source, ExpiryEvent: in.ExpiryEvent}
	if in.GrantedAt != nil {
		a.GrantedAt = *in.GrantedAt
	}
	if in.ExpiresAt != nil {
		a.ExpiresAt = *in.ExpiresAt
	}
	return a
}

func (s *Server) grantConsent(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in consentInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.deps.Contacts.Grant(r.Context(), contact.As(id.Principal), r.PathValue("id"), in.domain())
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewAuthorization(g))
}

func (s *Server) listConsents(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	l, err := s.deps.Contacts.Authorizations(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]consentRecordView, 0, len(l))
	for _, a := range l {
		out = append(out, viewAuthorization(a))
	}
	s.ok(w, 0, map[string]any{"consents": out})
}

func (s *Server) revokeConsent(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		RevokedAt *time.Time `json:"revoked_at"`
		Source    string     `json:"source"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var at time.Time
	if in.RevokedAt != nil {
		at = *in.RevokedAt
	}
	g, err := s.deps.Contacts.Revoke(r.Context(), contact.As(id.Principal), r.PathValue("id"), at, in.Source)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewAuthorization(g))
}

func (s *Server) exportContacts(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.export(w, r, id, contact.ExportOptions{})
}

func (s *Server) exportList(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	a := contact.As(id.Principal)
	if _, err := s.deps.Contacts.GetList(r.Context(), a, r.PathValue("id")); err != nil {
		s.failContact(w, r, err)
		return
	}
	s.export(w, r, id, contact.ExportOptions{ListID: r.PathValue("id")})
}

// export streams CSV. The audit entry is written before the first byte; an
// error after that can only cut the response short (and is logged).
func (s *Server) export(w http.ResponseWriter, r *http.Request, id webauth.Identity, opts contact.ExportOptions) {
	// A large export outlasts the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
	cw := &countingWriter{w: w}
	n, err := s.deps.Contacts.Export(r.Context(), contact.As(id.Principal), cw, opts)
	if err != nil {
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			s.failContact(w, r, err)
			return
		}
		s.deps.Log.Error("contact export cut short", "route", r.Pattern, "contacts", n, "err", err)
	}
}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
