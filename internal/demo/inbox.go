package demo

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// listLimit bounds the inbox page.
const listLimit = 100

// entry is one capture as the pages show it.
type entry struct {
	ID, From, To, Subject string
	Received              time.Time
	Text                  string
}

// Mount registers the inbox pages.
func (in *Inbox) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo/inbox", in.signedIn(in.list))
	mux.HandleFunc("GET /demo/inbox/{id}", in.signedIn(in.show))
}

// signedIn requires a session: API keys do not open pages.
func (in *Inbox) signedIn(next func(http.ResponseWriter, *http.Request, webauth.Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := in.deps.WebAuth.Identify(r)
		if err != nil || who.Via != webauth.ViaSession {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r, who)
	}
}

func (in *Inbox) list(w http.ResponseWriter, r *http.Request, who webauth.Identity) {
	ctx, p := r.Context(), who.Principal
	rows, err := store.ListDemoMessages(ctx, in.deps.DB.Reader(), p.OrgID, listLimit)
	if err != nil {
		http.Error(w, "temporary server error", http.StatusInternalServerError)
		return
	}
	var out []entry
	for _, row := range rows {
		if !access.CanReadMessage(p.Perms, p.UserID, row.SenderUserID) {
			continue
		}
		e, err := in.open(ctx, row)
		if err != nil {
			continue
		}
		e.Text = ""
		out = append(out, e)
	}
	if !in.audit(ctx, w, p.OrgID, p.UserID, "demo.inbox.list", "", len(out)) {
		return
	}
	render(w, listPage, map[string]any{"Entries": out})
}

func (in *Inbox) show(w http.ResponseWriter, r *http.Request, who webauth.Identity) {
	ctx, p := r.Context(), who.Principal
	row, err := store.GetDemoMessage(ctx, in.deps.DB.Reader(), p.OrgID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || err == nil && !access.CanReadMessage(p.Perms, p.UserID, row.SenderUserID) {
		http.NotFound(w, r)
		return
	}
	var e entry
	if err == nil {
		e, err = in.open(ctx, row)
	}
	if err != nil {
		http.Error(w, "temporary server error", http.StatusInternalServerError)
		return
	}
	if !in.audit(ctx, w, p.OrgID, p.UserID, "demo.message.read", row.ID, 1) {
		return
	}
	render(w, messagePage, e)
}

// open unseals a capture and reads what the pages show.
func (in *Inbox) open(ctx context.Context, row store.DemoMessageRow) (entry, error) {
	q := in.deps.DB.Reader()
	raw, err := in.deps.Keys.Open(ctx, q, ContentAAD(row.OrgID, row.ID), row.Content)
	if err != nil {
		return entry{}, err
	}
	e := entry{ID: row.ID, Received: row.ReceivedAt}
	if parsed, err := message.Inspect(raw, message.Limits{}); err == nil {
		e.Subject, e.Text = parsed.Subject, parsed.Text
		if len(parsed.From) > 0 {
			e.From = parsed.From[0].Email
		}
	}
	rcpts, err := store.RecipientsOfMessage(ctx, q, row.OrgID, row.MessageID)
	if err != nil {
		return entry{}, err
	}
	for _, rc := range rcpts {
		if rc.ID == row.RecipientID {
			addr, err := in.deps.Keys.Open(ctx, q, outbox.AddressAAD(row.OrgID, rc.ID), rc.Address)
			if err != nil {
				return entry{}, err
			}
			e.To = string(addr)
		}
	}
	return e, nil
}

// audit records a person reading captured content (HIPAA 164.312(b)); when
// it cannot be recorded, the page is refused.
func (in *Inbox) audit(ctx context.Context, w http.ResponseWriter, orgID, userID, action, target string, n int) bool {
	e := audit.Entry{Chain: orgID, Actor: audit.Actor{Type: audit.ActorUser, ID: userID}, Action: action,
		Outcome: audit.Success, Details: map[string]string{"count": strconv.Itoa(n)}}
	if target != "" {
		e.TargetType, e.TargetID = "demo_message", target
	}
	if _, err := in.deps.Audit.Record(ctx, e); err != nil {
		http.Error(w, "temporary server error", http.StatusInternalServerError)
		return false
	}
	return true
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = t.Execute(w, data)
}

var listPage = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo inbox — carepost</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/carepost.css"></head>
<body><main>
<h1>Demo inbox</h1>
<p role="note"><strong>Demo mode:</strong> nothing is sent. Mail your organization sends is captured here instead.</p>
{{if .Entries}}<table>
<thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Received</th></tr></thead>
<tbody>{{range .Entries}}<tr><td>{{.From}}</td><td>{{.To}}</td><td><a href="/demo/inbox/{{.ID}}">{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</a></td>
<td><time datetime="{{.Received.Format "2006-01-02T15:04:05Z07:00"}}">{{.Received.Format "2006-01-02 15:04:05 MST"}}</time></td></tr>
{{end}}</tbody></table>{{else}}<p>No mail captured yet.</p>{{end}}
</main></body></html>
`))

var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}} — demo inbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/carepost.css"></head>
<body><main>
<p><a href="/demo/inbox">Back to the demo inbox</a></p>
<h1>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</h1>
<dl><dt>From</dt><dd>{{.From}}</dd><dt>To</dt><dd>{{.To}}</dd>
<dt>Received</dt><dd>{{.Received.Format "2006-01-02 15:04:05 MST"}}</dd></dl>
<pre>{{.Text}}</pre>
</main></body></html>
`))
