// Package web serves carepost's server-rendered pages: sign-in (password,
// forced password change, MFA enrolment and challenge with an authenticator
// app or a passkey, recovery codes, SSO with the organization's identity
// provider), and the account pages (password, sessions, second factors,
// passkeys). Pages are plain
// HTML forms that work without JavaScript, built from embedded templates and
// one stylesheet, with no third-party resources, so the console needs no
// build step and no network beyond carepost itself.
//
// Accessibility: every input has a label, errors are announced (role=alert)
// and tied to their field, focus is visible, the layout reflows on small
// screens, and autocomplete hints let password managers and one-time-code
// autofill work.
//
// Like every handler, these translate HTTP to auth calls. GET never changes
// state: even starting an MFA enrolment is a POST. The one exception is
// the SSO callback, where the provider's redirect must be a GET (sso.go).
//
// Passkeys need the browser's WebAuthn API, so static/passkey.js drives
// their ceremonies; without JavaScript the passkey controls stay hidden
// and the authenticator app works as before.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/webauth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are what the pages call.
type Deps struct {
	Auth    *auth.Service
	WebAuth *webauth.Authenticator
	Log     *slog.Logger
	// SSO reports whether an organization can sign in with OIDC (shows the
	// link on the sign-in page).
	SSO bool
}

// Server serves the pages.
type Server struct {
	deps  Deps
	pages map[string]*template.Template
}

// New parses the templates.
func New(deps Deps) *Server {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: deps, pages: map[string]*template.Template{}}
	layout := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	entries, _ := fs.Glob(templateFS, "templates/*.html")
	for _, e := range entries {
		name := e[len("templates/") : len(e)-len(".html")]
		if name == "layout" {
			continue
		}
		s.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, e))
	}
	return s
}

// Mount registers the pages and the static assets.
func (s *Server) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets carry no PHI: let browsers cache them.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /{$}", s.home)
	s.mountLogin(mux)
	s.mountAccount(mux)
	s.mountPasskeys(mux)
	s.mountSSO(mux)
	s.mountAPIKeys(mux)
}

// page is the data every template sees.
type page struct {
	Title    string
	Error    string
	Notice   string
	CSRF     string
	SignedIn bool
	Script   string
	// Page-specific fields.
	Email         string
	SSO           bool
	Action        string
	AskCurrent    bool
	TOTP          *totpView
	BeginAction   string
	ConfirmAction string
	Codes         []string
	Next          string
	User          auth.User
	Sessions      []auth.Session
	NeedReauth    bool
	// Passkeys and SSO (passkey.go, sso.go).
	PasskeysOn   bool // the server can use passkeys at all
	OfferTOTP    bool // the mfa page offers the authenticator app
	OfferPasskey bool // the mfa page offers a passkey
	Passkeys     []auth.Passkey
	Org          string
	// API keys (apikeys.go).
	APIKeys  []auth.APIKey
	Scopes   []scopeOption
	NewKey   *auth.APIKey
	NewToken string
	// Refresh sends the browser on to this URL (a fixed path, or the
	// identity provider's authorization endpoint) from a page of ours.
	Refresh string
}

type totpView struct {
	Secret string
	QR     string // base64 PNG
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	s.decorate(r, name, &p)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.deps.Log.Error("render page", "page", name, "request_id", httpserver.Info(r.Context()).ID, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if id, err := s.deps.WebAuth.Identify(r); err == nil && id.Via == webauth.ViaSession {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
