package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/smtpd/connector"
	"github.com/carepost/carepost/internal/webauth"
)

// Gateway connectors: the servers (Microsoft 365, Google Workspace,
// on-premises) allowed to relay the organization's outbound mail through
// the gateway listener without AUTH. See docs/GATEWAY.md.

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	cs, err := s.deps.Gateway.List(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]connectorView, 0, len(cs))
	for _, c := range cs {
		out = append(out, viewConnector(c))
	}
	s.ok(w, 0, map[string]any{"connectors": out})
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in connector.Input
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.Gateway.Create(r.Context(), id.Principal, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewConnector(c))
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	c, err := s.deps.Gateway.Get(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewConnector(c))
}

func (s *Server) updateConnector(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in connector.Input
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.Gateway.Update(r.Context(), id.Principal, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewConnector(c))
}

func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Gateway.Delete(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type connectorView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	IPRanges   []string  `json:"ip_ranges"`
	CertSHA256 []string  `json:"cert_sha256"`
	ClientCA   string    `json:"client_ca"`
	CertNames  []string  `json:"cert_names"`
	TenantID   string    `json:"tenant_id"`
	RequireTLS bool      `json:"require_tls"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func viewConnector(c connector.Connector) connectorView {
	v := connectorView{ID: c.ID, Name: c.Name, IPRanges: []string{}, CertSHA256: append([]string{}, c.CertSHA256...),
		ClientCA: c.ClientCA, CertNames: append([]string{}, c.CertNames...), TenantID: c.TenantID,
		RequireTLS: c.RequireTLS, Enabled: c.Enabled, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	for _, p := range c.IPRanges {
		v.IPRanges = append(v.IPRanges, p.String())
	}
	return v
}

// connectorSchemas are the OpenAPI schemas of the routes above.
func connectorSchemas() schema {
	strs := func(desc string) schema {
		return schema{"type": "array", "items": schema{"type": "string"}, "description": desc}
	}
	return schema{
		"GatewayConnector": obj(nil, schema{"id": str("gwc_…"), "name": str(""),
			"ip_ranges":   strs("source ranges (CIDR) the connector's servers connect from; empty: any"),
			"cert_sha256": strs("pinned client certificates: SHA-256 of the DER, hex"),
			"client_ca":   str("PEM bundle of CA certificates a client certificate may chain to"),
			"cert_names":  strs("DNS names a CA-verified client certificate must be valid for"),
			"tenant_id":   str("Microsoft 365 tenant id that X-MS-Exchange-CrossTenant-Id must carry"),
			"require_tls": boolean("refuse MAIL before STARTTLS"), "enabled": boolean(""),
			"created_at": at(""), "updated_at": at("")}),
		"GatewayConnectorList": obj([]string{"connectors"}, schema{"connectors": list(ref("GatewayConnector"))}),
		"GatewayConnectorInput": obj([]string{"name"}, schema{"name": str("1 to 100 characters"),
			"ip_ranges":   strs("CIDRs or addresses, at most 100, none wider than /8 (IPv4) or /32 (IPv6)"),
			"cert_sha256": strs("at most 20 SHA-256 fingerprints (hex, colons allowed)"),
			"client_ca":   str("PEM CA certificates only (a private key is refused); needs cert_names"),
			"cert_names":  strs("at most 20 DNS names"),
			"tenant_id":   str("Microsoft 365 tenant id (GUID)"),
			"require_tls": boolean("default true; always true with a certificate"), "enabled": boolean("default true")}),
	}
}
