package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// The encryption policy (package policy, docs/POLICY.md): the document,
// the dry run, and partner transport pins. Reading the policy is for those
// who set it (policy:write) and auditors (audit:read); overrides can name
// patients' addresses, which auditors without phi:read see masked.

func canReadPolicy(p auth.Principal) bool {
	return p.Perms.Has(access.PolicyWrite) || p.Perms.Has(access.AuditRead)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := id.Principal
	if !canReadPolicy(p) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	doc, err := s.deps.Policy.Policy(r.Context(), p.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !p.Perms.Has(access.PolicyWrite) && !p.Perms.Has(access.PHIRead) {
		for i := range doc.Overrides {
			doc.Overrides[i].Recipient, doc.Overrides[i].Sender = maskAddress(doc.Overrides[i].Recipient), maskAddress(doc.Overrides[i].Sender)
		}
	}
	s.ok(w, 0, doc)
}

func maskAddress(a string) string {
	if a == "" {
		return ""
	}
	return "•••@" + a[strings.LastIndexByte(a, '@')+1:]
}

// putPolicy replaces the document: fields left out keep their defaults.
func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	doc := policy.Default()
	if err := decode(r, &doc); err != nil {
		s.fail(w, r, err)
		return
	}
	p := id.Principal
	saved, err := s.deps.Policy.Save(r.Context(), p.Actor(), p.OrgID, doc)
	if errors.Is(err, policy.ErrStale) {
		httpserver.WriteError(w, r, http.StatusConflict, "stale_version", err.Error(), "version")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, saved)
}

// explainPolicy answers what POST /messages would decide for the same body,
// per recipient, and stores and sends nothing.
func (s *Server) explainPolicy(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := id.Principal
	if !p.Perms.Has(access.MessagesSend) && !p.Perms.Has(access.PolicyWrite) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	sub, err := sendSubmission(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ex, err := s.deps.Outbox.Explain(r.Context(), sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, ex)
}

type pinView struct {
	Domain     string    `json:"domain"`
	MXPattern  string    `json:"mx_pattern"`
	CertSHA256 string    `json:"cert_sha256"`
	CreatedAt  time.Time `json:"created_at"`
}

func viewPin(p store.TransportPin) pinView {
	return pinView{Domain: p.Domain, MXPattern: p.MXPattern, CertSHA256: p.CertSHA256, CreatedAt: p.CreatedAt}
}

type pinInput struct {
	Domain     string `json:"domain"`
	MXPattern  string `json:"mx_pattern"`
	CertSHA256 string `json:"cert_sha256"`
}

type pinUpdate struct {
	MXPattern  string `json:"mx_pattern"`
	CertSHA256 string `json:"cert_sha256"`
}

func (s *Server) listPins(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if !canReadPolicy(id.Principal) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	pins, err := s.deps.Policy.Pins(r.Context(), id.Principal.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]pinView, 0, len(pins))
	for _, p := range pins {
		out = append(out, viewPin(p))
	}
	s.ok(w, 0, map[string]any{"pins": out})
}

func (s *Server) getPin(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if !canReadPolicy(id.Principal) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	p, err := s.deps.Policy.Pin(r.Context(), id.Principal.OrgID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewPin(p))
}

func (s *Server) createPin(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in pinInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	pr := id.Principal
	p, err := s.deps.Policy.PutPin(r.Context(), pr.Actor(), store.TransportPin{OrgID: pr.OrgID, Domain: in.Domain,
		MXPattern: in.MXPattern, CertSHA256: in.CertSHA256}, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewPin(p))
}

func (s *Server) updatePin(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in pinUpdate
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	pr := id.Principal
	p, err := s.deps.Policy.PutPin(r.Context(), pr.Actor(), store.TransportPin{OrgID: pr.OrgID, Domain: r.PathValue("id"),
		MXPattern: in.MXPattern, CertSHA256: in.CertSHA256}, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewPin(p))
}

func (s *Server) deletePin(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	pr := id.Principal
	if err := s.deps.Policy.DeletePin(r.Context(), pr.Actor(), pr.OrgID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// policySchemas are the OpenAPI components of the policy endpoints.
func policySchemas() schema {
	level := func(desc string) schema {
		return schema{"type": "string", "enum": []string{"verified-tls", "e2e", "portal"}, "description": desc}
	}
	anyLevel := schema{"type": "string", "enum": []string{"opportunistic", "verified-tls", "e2e", "portal"}}
	strs := list(str(""))
	finding := obj(nil, schema{"detector": str("ssn, mrn, dob, icd10, npi, keyword, attachment, regex:<name>"), "count": integer(""),
		"confidence": schema{"type": "string", "enum": []string{"low", "medium", "high"}}, "location": str("subject, body or attachment")})
	reason := obj(nil, schema{"rule": str("rule id: default, content:<name>, subject.tag, domain.always-portal, domain.pin, override:<name>, tls-only, fallback, …"),
		"level": anyLevel, "detail": str("what the rule saw; never message content or addresses")})
	decision := obj(nil, schema{"level": anyLevel, "methods": list(anyLevel), "drop": boolean("no portal when the methods run out: the recipient fails"),
		"phi": boolean(""), "rule": str("the rule that set the level"), "reasons": list(reason), "subject_flagged": boolean("PHI in the subject: notifications omit it")})
	return schema{
		"Policy": obj(nil, schema{
			"version":        integer("assigned on save; on PUT, the version you edited (0: whatever is current), else 409 stale_version"),
			"updated_at":     at("ignored on input"),
			"min_confidence": schema{"type": "string", "enum": []string{"low", "medium", "high"}, "description": "weakest finding that counts as PHI (default medium)"},
			"content_rules": list(obj([]string{"name", "detectors", "level"}, schema{"name": str("[a-z0-9-], unique"),
				"detectors": list(str("any, ssn, mrn, dob, icd10, npi, keyword, attachment, regex, regex:<pattern>")),
				"min_count": integer("default 1"), "min_confidence": str("default: the document's"), "in": str("subject, body, attachment or empty"),
				"level": level("what the rule requires")})),
			"detectors": obj(nil, schema{"disabled": list(str("built-in detectors to turn off")), "mrn_pattern": str("RE2; default [A-Za-z]{0,3}-?[0-9]{6,10}"),
				"mrn_keywords": strs, "keywords": strs, "patterns": list(obj([]string{"name", "regex"}, schema{"name": str(""), "regex": str("RE2, at most 512 bytes")})),
				"attachment_types": list(str("application/pdf, image/*, .csv or dicom"))}),
			"subject_tag":           str("default [secure]; empty turns it off"),
			"always_portal_domains": list(str("PHI to these domains (and subdomains) goes by portal")),
			"overrides": list(obj([]string{"name", "level"}, schema{"name": str("shown in receipts: say why, not whom"), "recipient": str(""),
				"recipient_domain": str(""), "sender": str(""), "sender_group": str("role id or built-in role"), "level": level("raises only")})),
			"e2e_fallback": boolean("offer e2e before the portal when verified TLS fails and a key is known (default true)")}),
		"Explanation": obj(nil, schema{"policy_version": integer("0: the built-in default"), "phi": boolean(""), "subject_flagged": boolean(""),
			"findings": list(finding), "recipients": list(obj(nil, schema{"email": str(""), "kind": str("to, cc or bcc"),
				"state": str("what submitting would make it: queued, held or failed"), "reason": str(""), "decision": decision}))}),
		"RecipientPolicy": obj(nil, schema{"methods": list(anyLevel), "drop": boolean(""), "subject_flagged": boolean(""), "reasons": list(reason)}),
		"Pin": obj(nil, schema{"domain": str(""), "mx_pattern": str("empty: any MX host of the domain; or a host, or *.domain"),
			"cert_sha256": str("optional leaf certificate SHA-256, hex"), "created_at": at("")}),
		"PinInput":  obj([]string{"domain"}, schema{"domain": str("the partner's domain"), "mx_pattern": str(""), "cert_sha256": str("")}),
		"PinUpdate": obj(nil, schema{"mx_pattern": str(""), "cert_sha256": str("")}),
		"PinList":   obj(nil, schema{"pins": list(ref("Pin"))}),
	}
}
