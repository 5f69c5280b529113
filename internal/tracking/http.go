package tracking

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/store"
)

// The recipient-facing endpoints (docs/TRACKING.md). They take no
// credential: the signed token is the authority, and every token that does
// not verify is answered 404 with nothing recorded.
//
//	GET  /t/o/{token}.gif           the open pixel: records an open, answers a 1×1 GIF
//	GET  /t/c/{token}               a click: records it, redirects to the link table's URL
//	GET  /u/{token}                 the unsubscribe page: a button, changes nothing
//	POST /u/{token}                 unsubscribes (RFC 8058 one-click, or the page's button); idempotent
//	GET  /u/{token}/preferences     the preference page: the contact's lists
//	POST /u/{token}/preferences     applies the page's choices
//
// GET never changes a subscription: mail security gateways and link
// previews fetch every URL of a message, so only a POST unsubscribes (RFC
// 8058 section 3.2).

// Mount registers the endpoints on mux.
func (s *Service) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/o/{file}", s.servePixel)
	mux.HandleFunc("GET /t/c/{token}", s.serveClick)
	mux.HandleFunc("GET /u/{token}", s.serveUnsubscribePage)
	mux.HandleFunc("POST /u/{token}", s.serveUnsubscribe)
	mux.HandleFunc("GET /u/{token}/preferences", s.servePreferences)
	mux.HandleFunc("POST /u/{token}/preferences", s.savePreferences)
}

// pixel is a transparent 1×1 GIF89a.
var pixel = []byte{
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
}

func client(r *http.Request) Client {
	info := httpserver.Info(r.Context())
	return Client{IP: info.ClientIP, UserAgent: r.UserAgent()}
}

func (s *Service) servePixel(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".gif")
	if !ok {
		s.notFound(w)
		return
	}
	if err := s.Open(r.Context(), token, client(r)); err != nil {
		if errors.Is(err, ErrInvalid) {
			s.notFound(w)
			return
		}
		// The image still shows; only the count is lost.
		s.deps.Log.Error("record open", "err", err)
	}
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-store, private")
	_, _ = w.Write(pixel)
}

func (s *Service) serveClick(w http.ResponseWriter, r *http.Request) {
	dest, err := s.Click(r.Context(), r.PathValue("token"), client(r))
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			s.deps.Log.Error("click", "err", err)
			s.page(w, http.StatusInternalServerError, pageError, nil)
			return
		}
		s.notFound(w)
		return
	}
	// The destination comes from the link table only (Click); no
	// referrer tells it the token.
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, dest, http.StatusFound)
}

func (s *Service) serveUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if _, err := s.verify(r.Context(), token, KindUnsubscribe); err != nil {
		s.fail(w, err)
		return
	}
	s.page(w, http.StatusOK, pageConfirm, map[string]any{"Token": token})
}

// serveUnsubscribe honours a POST: RFC 8058's one-click body
// (List-Unsubscribe=One-Click, from the mail client) or the page's button.
// Anything else changes nothing.
func (s *Service) serveUnsubscribe(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := parseForm(r); err != nil {
		s.page(w, http.StatusBadRequest, pageBadRequest, map[string]any{"Token": token})
		return
	}
	source := ""
	switch {
	case r.PostForm.Get("List-Unsubscribe") == "One-Click": // RFC 8058 section 3.1
		source = SourceOneClick
	case r.PostForm.Get("unsubscribe") == "page":
		source = SourcePage
	default:
		if _, err := s.verify(r.Context(), token, KindUnsubscribe); err != nil {
			s.fail(w, err)
			return
		}
		s.page(w, http.StatusBadRequest, pageBadRequest, map[string]any{"Token": token})
		return
	}
	if _, err := s.Unsubscribe(r.Context(), token, source); err != nil {
		s.fail(w, err)
		return
	}
	if source == SourceOneClick {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("unsubscribed\n"))
		return
	}
	s.page(w, http.StatusOK, pageDone, map[string]any{"Token": token})
}

// allLists stands for "all marketing mail" (list id "") in forms.
const allLists = "*"

type prefRow struct {
	Value, Name string
	All         bool
	Subscribed  bool
}

func prefRows(p Preferences) []prefRow {
	out := make([]prefRow, 0, len(p.Lists))
	for _, l := range p.Lists {
		row := prefRow{Value: l.ID, Name: l.Name, Subscribed: l.Subscribed}
		if l.ID == "" {
			row.Value, row.All = allLists, true
		}
		out = append(out, row)
	}
	return out
}

func (s *Service) servePreferences(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	p, err := s.Preferences(r.Context(), token)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.page(w, http.StatusOK, pagePreferences, map[string]any{"Token": token, "Lists": prefRows(p)})
}

// savePreferences applies the form: every list the page showed ("shown")
// is subscribed when ticked ("subscribed"), unsubscribed otherwise.
func (s *Service) savePreferences(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := parseForm(r); err != nil {
		s.page(w, http.StatusBadRequest, pageBadRequest, map[string]any{"Token": token})
		return
	}
	ticked := map[string]bool{}
	for _, v := range r.PostForm["subscribed"] {
		ticked[v] = true
	}
	choice := map[string]bool{}
	for _, v := range r.PostForm["shown"] {
		id := v
		if v == allLists {
			id = ""
		}
		choice[id] = ticked[v]
	}
	p, err := s.SetPreferences(r.Context(), token, choice)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.page(w, http.StatusOK, pagePreferences, map[string]any{"Token": token, "Lists": prefRows(p), "Saved": true})
}

// parseForm reads a small form body, url-encoded or multipart (RFC 8058
// allows either).
func parseForm(r *http.Request) error {
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(16 << 10)
	}
	return r.ParseForm()
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		s.notFound(w)
		return
	}
	s.deps.Log.Error("unsubscribe", "err", err)
	s.page(w, http.StatusInternalServerError, pageError, nil)
}

func (s *Service) notFound(w http.ResponseWriter) { s.page(w, http.StatusNotFound, pageNotFound, nil) }

func (s *Service) page(w http.ResponseWriter, status int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.deps.Log.LogAttrs(context.Background(), slog.LevelError, "render tracking page", slog.String("page", name), slog.Any("err", err))
	}
}

const (
	pageConfirm     = "confirm"
	pageDone        = "done"
	pagePreferences = "preferences"
	pageBadRequest  = "bad-request"
	pageNotFound    = "not-found"
	pageError       = "error"
)

// The pages name no organization, person or address: the link alone
// reached them, and whoever holds it (a forwarded message) learns nothing.
var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{{.}}</title></head><body><main>{{end}}
{{define "foot"}}</main></body></html>{{end}}
{{define "confirm"}}{{template "head" "Unsubscribe"}}
<h1>Unsubscribe</h1>
<p>Press the button to stop receiving these emails.</p>
<form method="post" action="/u/{{.Token}}"><input type="hidden" name="unsubscribe" value="page"><button type="submit">Unsubscribe</button></form>
<p><a href="/u/{{.Token}}/preferences">Choose which emails you receive</a></p>
{{template "foot"}}{{end}}
{{define "done"}}{{template "head" "Unsubscribed"}}
<h1>You are unsubscribed</h1>
<p>You will not receive these emails any more. It can take a day for messages already on their way to stop.</p>
<p><a href="/u/{{.Token}}/preferences">Choose which emails you receive</a></p>
{{template "foot"}}{{end}}
{{define "preferences"}}{{template "head" "Email preferences"}}
<h1>Email preferences</h1>
{{if .Saved}}<p role="status">Your choices are saved.</p>{{end}}
<form method="post" action="/u/{{.Token}}/preferences">
<fieldset><legend>Keep me subscribed to</legend>
{{range .Lists}}<p><input type="hidden" name="shown" value="{{.Value}}"><label><input type="checkbox" name="subscribed" value="{{.Value}}"{{if .Subscribed}} checked{{end}}> {{if .All}}All marketing emails{{else if .Name}}{{.Name}}{{else}}This mailing list{{end}}</label></p>
{{end}}</fieldset>
<button type="submit">Save</button>
</form>
{{template "foot"}}{{end}}
{{define "bad-request"}}{{template "head" "Nothing changed"}}
<h1>Nothing changed</h1>
<p>This request did not say what to do. Use the button on the <a href="/u/{{.Token}}">unsubscribe page</a>.</p>
{{template "foot"}}{{end}}
{{define "not-found"}}{{template "head" "Link not valid"}}
<h1>This link is not valid</h1>
<p>It may be incomplete or changed. Use the link from the email itself.</p>
{{template "foot"}}{{end}}
{{define "error"}}{{template "head" "Something went wrong"}}
<h1>Something went wrong</h1>
<p>Please try again in a moment.</p>
{{template "foot"}}{{end}}
`))
