// Package portalweb serves the secure portal's pages to recipients: the
// landing page a notification links to, the identity proofs, the message
// with its attachments, the reply form and portal accounts. Handlers
// translate HTTP to package portal and choose status codes; the rules are
// there.
//
// Pages are server-rendered HTML forms that work without JavaScript, with
// one stylesheet of our own and nothing from anywhere else: no fonts,
// scripts, images or trackers. Every response carries Cache-Control:
// no-store and a CSP that loads only that stylesheet and data: images
// (default-src 'none'; style-src 'self'; img-src 'self' data:;
// form-action 'self'; frame-ancestors 'none'; base-uri 'none'), so
// message HTML that slipped past the sanitizer still cannot load or run
// anything. Accessibility follows the console: labels on every input,
// errors announced (role=alert) and tied to their field, visible focus, a
// layout that reflows on small screens, one-time-code autofill hints.
//
// GET never changes state: the link's landing page only reads, because
// mail scanners fetch links before people do. Every action is a POST with
// two CSRF checks (CrossOriginProtection, plus a token: double-submit
// before a portal session, session-bound after). The portal session has
// its own cookie, __Host-carepost-portal, apart from the staff session
// cookie; the two never stand in for each other.
package portalweb

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/portal"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names: the portal session and the pre-session CSRF token.
// __Host- requires Secure, Path=/ and no Domain (RFC 6265bis 4.1.3.2).
const (
	SessionCookie = "__Host-carepost-portal"
	CSRFCookie    = "__Host-carepost-portal-csrf"
)

// CSP is the Content-Security-Policy of every portal page.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Server serves the portal pages.
type Server struct {
	portal *portal.Service
	secure bool
	log    *slog.Logger
	pages  map[string]*template.Template
	cross  *http.CrossOriginProtection
}

// New parses the templates. secure marks cookies Secure (false only when
// serving plain HTTP, in tests with TLS off).
func New(p *portal.Service, secure bool, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{portal: p, secure: secure, log: log, pages: map[string]*template.Template{}, cross: http.NewCrossOriginProtection()}
	funcs := template.FuncMap{"date": func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
		"size": humanSize}
	layout := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	entries, _ := fs.Glob(templateFS, "templates/*.html")
	for _, e := range entries {
		name := e[len("templates/") : len(e)-len(".html")]
		if name != "layout" {
			s.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, e))
		}
	}
	return s
}

// Mount registers the portal's routes.
func (s *Server) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /portal/static/", http.StripPrefix("/portal/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600") // no PHI in assets
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /portal/m/{token}", s.landing)
	mux.HandleFunc("POST /portal/m/{token}/code", s.pre(s.sendCode))
	mux.HandleFunc("POST /portal/m/{token}/verify", s.pre(s.verifyCode))
	mux.HandleFunc("POST /portal/m/{token}/passphrase", s.pre(s.verifyPassphrase))
	mux.HandleFunc("POST /portal/m/{token}/signin", s.pre(s.signIn))
	mux.HandleFunc("GET /portal/read", s.session(s.read))
	mux.HandleFunc("GET /portal/read/attachments/{n}", s.session(s.download))
	mux.HandleFunc("POST /portal/read/reply", s.session(s.reply))
	mux.HandleFunc("POST /portal/account", s.session(s.createAccount))
	mux.HandleFunc("POST /portal/account/confirm", s.session(s.confirmAccount))
	mux.HandleFunc("POST /portal/signout", s.session(s.signOut))
}

// view is what every template sees.
type view struct {
	Title, Error, Notice string
	Field                string // the input the error is about
	CSRF                 string
	Token                string
	Landing              portal.Landing
	Sent                 string // the proof method a code was just sent by
	Content              portal.Content
	HTML                 template.HTML
	Account              string // "", pending, active
	CanCreate            bool
	Enrollment           *enrollmentView
	SignedIn             bool
	Text                 string
}

type enrollmentView struct {
	Secret string
	QR     template.URL // data: URI of the PNG
}

// headers sets what every portal response carries.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	headers(w)
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render portal page", "page", name, "request_id", httpserver.Info(r.Context()).ID, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", Secure: s.secure, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}

// preToken returns the pre-session CSRF token, setting its cookie when
// absent.
func (s *Server) preToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	s.setCookie(w, CSRFCookie, v, 0)
	return v
}

// checkPre is the CSRF check of forms shown before a portal session.
func (s *Server) checkPre(r *http.Request) bool {
	if s.cross.Check(r) != nil {
		return false
	}
	c, err := r.Cookie(CSRFCookie)
	got := r.PostFormValue("csrf")
	return err == nil && c.Value != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
