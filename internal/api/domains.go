package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/webauth"
)

type domainView struct {
	ID         string        `json:"id"`
	Domain     string        `json:"domain"`
	Status     string        `json:"status"`
	VerifiedBy string        `json:"verified_by"`
	Selectors  selectorsView `json:"selectors"`
	CreatedAt  time.Time     `json:"created_at"`
	VerifiedAt *time.Time    `json:"verified_at"`
	LastCheck  *checkView    `json:"last_check"`
}

type selectorsView struct {
	RSA     string `json:"rsa"`
	Ed25519 string `json:"ed25519"`
}

type checkView struct {
	At       time.Time       `json:"at"`
	Checks   []checkItemView `json:"checks"`
	Warnings []checkItemView `json:"warnings"`
}

type checkItemView struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Detail   string `json:"detail"`
	Required bool   `json:"required"`
}

type recordView struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	Zone     string `json:"zone"`
	Required bool   `json:"required"`
}

func viewDomain(d senderdomain.Domain) domainView {
	v := domainView{ID: d.ID, Domain: d.Name, Status: d.Status, VerifiedBy: d.VerifiedBy,
		Selectors: selectorsView{RSA: d.Selectors.RSA, Ed25519: d.Selectors.Ed25519},
		CreatedAt: d.CreatedAt, VerifiedAt: timePtr(d.VerifiedAt)}
	if d.LastCheck != nil {
		c := viewCheck(*d.LastCheck)
		v.LastCheck = &c
	}
	return v
}

func viewCheck(c senderdomain.CheckResult) checkView {
	items := func(cs []senderdomain.Check) []checkItemView {
		out := make([]checkItemView, 0, len(cs))
		for _, ch := range cs {
			out = append(out, checkItemView{Kind: ch.Kind, Name: ch.Name, Status: ch.Status, Detail: ch.Detail, Required: ch.Required})
		}
		return out
	}
	return checkView{At: c.At, Checks: items(c.Checks), Warnings: items(c.Warnings())}
}

func viewRecords(recs []senderdomain.Record) []recordView {
	out := make([]recordView, 0, len(recs))
	for _, r := range recs {
		out = append(out, recordView{Kind: r.Kind, Name: r.Name, Type: r.Type, Value: r.Value, Zone: r.String(), Required: r.Required()})
	}
	return out
}

// failDomain answers the sender-domain errors fail does not know.
func (s *Server) failDomain(w http.ResponseWriter, r *http.Request, err error) {
	var inUse *senderdomain.InUseError
	switch {
	case errors.As(err, &inUse):
		httpserver.WriteError(w, r, http.StatusConflict, "domain_in_use", inUse.Error(), "")
	case errors.Is(err, senderdomain.ErrNoResolver):
		httpserver.WriteError(w, r, http.StatusServiceUnavailable, "dns_unavailable", "the server has no DNS resolver configured to check records", "")
	default:
		s.fail(w, r, err)
	}
}

type domainRequest struct {
	Domain string `json:"domain"`
}

func (s *Server) addDomain(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in domainRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	d, recs, err := s.deps.Domains.Add(r.Context(), senderdomain.As(id.Principal), in.Domain)
	if err != nil {
		s.failDomain(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, map[string]any{"domain": viewDomain(d), "records": viewRecords(recs)})
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	ds, err := s.deps.Domains.List(r.Context(), senderdomain.As(id.Principal))
	if err != nil {
		s.failDomain(w, r, err)
		return
	}
	out := make([]domainView, 0, len(ds))
	for _, d := range ds {
		out = append(out, viewDomain(d))
	}
	s.ok(w, 0, map[string]any{"domains": out})
}

func (s *Server) getDomain(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	a := senderdomain.As(id.Principal)
	d, err := s.deps.Domains.Get(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.failDomain(w, r, err)
		return
	}
	recs, err := s.deps.Domains.Records(r.Context(), a, d.ID)
	if err != nil {
		s.failDomain(w, r, err)
		return
	}
	s.ok(w, 0, map[string]any{"domain": viewDomain(d), "records": viewRecords(recs)})
}

func (s *Server) verifyDomain(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	d, res, err := s.deps.Domains.Check(r.Context(), senderdomain.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failDomain(w, r, err)
		return
	}
	c := viewCheck(res)
	s.ok(w, 0, map[string]any{"domain": viewDomain(d), "verified": d.Status == senderdomain.StatusVerified,
		"checks": c.Checks, "warnings": c.Warnings})
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Domains.Delete(r.Context(), senderdomain.As(id.Principal), r.PathValue("id")); err != nil {
		s.failDomain(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
