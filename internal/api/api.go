// Package api is carepost's REST API under /api/v1. Handlers translate HTTP
// to domain calls and choose status codes; they hold no business rules.
//
// # One route table
//
// Every endpoint is one Route in the table built by routes(): method, path,
// the permission it needs, whether it takes a tenant-scoped id, its request
// and response schemas and a summary. The table is the single source for
// three things that must agree: the mux registrations, the OpenAPI document
// served at /api/v1/openapi.json, and the two-organization matrix test
// (package apitest), which proves that every id-taking endpoint answers 404
// — never 403, never data — to another organization.
//
// # Authentication and errors
//
// Requests authenticate with an API key ("Authorization: Bearer cpk_…") or,
// from the console, with the session cookie plus a CSRF token (package
// webauth). Errors are JSON (httpserver.ErrorBody): a stable code, a message
// a person can act on, the offending field when there is one, and the
// request id. Messages never carry PHI or internal causes.
package api

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/portal"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/smtpd/connector"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/webauth"
	"github.com/carepost/carepost/internal/workflow"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Deps are the services the API calls.
type Deps struct {
	Auth    *auth.Service
	WebAuth *webauth.Authenticator
	Log     *slog.Logger
	DB      *store.DB
	Keys    *keyring.Keyring
	Audit   *audit.Log
	Outbox  *outbox.Outbox
	Events  *event.Recorder
	Domains *senderdomain.Service
	Gateway *connector.Service
	// Contacts are the marketing contacts (contacts*.go).
	Contacts *contact.Service
	// Keydir is the recipient key directory (keys.go).
	Keydir *keydir.Service
	// Policy is the encryption policy engine (policy.go).
	Policy *policy.Engine
	// Portal is the secure portal's administration (portal.go).
	Portal *portal.Service
	// Workflows are the automated workflows (workflows.go).
	Workflows *workflow.Service
	// Templates and Segments are secure marketing's (templates.go,
	// segments.go).
	Templates *template.Service
	Segments  *segment.Service
	// Campaigns is the campaign engine (campaigns.go).
	Campaigns *campaign.Service
}

// Server is the REST API.
type Server struct {
	deps   Deps
	routes []Route

	docOnce sync.Once
	doc     map[string]any
}

// New builds the API.
func New(deps Deps) *Server {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: deps}
	s.routes = append(append(append(append(s.table(), s.contactRoutes()...), s.marketingRoutes()...), s.workflowRoutes()...), s.campaignRoutes()...)
	return s
}

// Routes returns the route table (for the OpenAPI document and tests).
func (s *Server) Routes() []Route { return s.routes }

// Mount registers every route, the OpenAPI document, and a JSON 404 for
// unknown paths under the prefix.
func (s *Server) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+Prefix+rt.Path, s.wrap(rt))
	}
	mux.HandleFunc("GET "+Prefix+"/openapi.json", s.serveOpenAPI)
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		httpserver.WriteError(w, r, http.StatusNotFound, "not_found", "no such endpoint", "")
	})
}

// Route is one endpoint.
type Route struct {
	Method  string
	Path    string // relative to Prefix, with {id} style parameters
	Summary string
	// Perm is the permission required; empty means any authenticated
	// principal (the handler may check more, e.g. "self or users:read").
	Perm access.Permission
	// Public routes need no credential.
	Public bool
	// SessionOnly routes refuse API keys (acting on one's own browser
	// session, re-authentication).
	SessionOnly bool
	// Tenant marks routes whose path id names an organization-scoped
	// resource: the matrix test requires 404 for another organization.
	Tenant bool
	// Request and Response name schemas in the OpenAPI components.
	Request, Response string
	// Status is the success status code (default 200).
	Status  int
	Tag     string
	handler func(w http.ResponseWriter, r *http.Request, id webauth.Identity)
}

func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.deps.WebAuth.Identify(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !rt.Public {
			if id.Via == webauth.ViaNone {
				httpserver.WriteError(w, r, http.StatusUnauthorized, "unauthenticated", "sign in or send an API key (Authorization: Bearer cpk_…)", "")
				return
			}
			if rt.SessionOnly && id.Via != webauth.ViaSession {
				httpserver.WriteError(w, r, http.StatusForbidden, "session_required", "this endpoint acts on a signed-in browser session, not an API key", "")
				return
			}
			if !webauth.CheckCSRF(r, id) {
				httpserver.WriteError(w, r, http.StatusForbidden, "csrf", "missing or invalid CSRF token (send X-CSRF-Token)", "")
				return
			}
			if rt.Perm != "" && !id.Principal.Perms.Has(rt.Perm) {
				httpserver.WriteError(w, r, http.StatusForbidden, "forbidden", "your role does not allow this ("+string(rt.Perm)+")", "")
				return
			}
		}
		rt.handler(w, r, id)
	})
}
