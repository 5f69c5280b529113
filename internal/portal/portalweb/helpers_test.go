package portalweb_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/demo"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// env is a running node in demo mode (outbound mail is captured in the
// demo inbox, nothing leaves loopback) with one organization.
type env struct {
	t     *testing.T
	app   *app.App
	url   string
	clock *clock
	org   auth.Org
	owner auth.User
}

func setup(t *testing.T, d store.Driver) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Submission.Listen, cfg.Submission.TLSListen, cfg.Gateway.Listen = config.ListenOff, config.ListenOff, config.ListenOff
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Demo.Enabled = true // captures outbound mail; sender domains verify themselves
	cfg.Jobs.FetchPollInterval = config.Duration(50 * time.Millisecond)
	cfg.Delivery.SweepInterval = config.Duration(100 * time.Millisecond)
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(time.Now())
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	node, err := a.NewNode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	org, owner, _, err := a.Auth.Bootstrap(context.Background(), "Riverside Clinic", "owner@clinic.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Domains.Add(context.Background(), senderdomain.System(org.ID, "test"), "clinic.example"); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, app: a, url: "https://" + node.Addr().String(), clock: c, org: org, owner: owner}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := store.Scan(e.app.DB.Reader().QueryRow(context.Background(), query, args...), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// captured waits for the demo inbox to hold a message's capture and
// returns its bytes: exactly what delivery would have sent.
func (e *env) captured(messageID string) []byte {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		rows, err := store.ListDemoMessages(ctx, e.app.DB.Reader(), e.org.ID, 500)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range rows {
			if r.MessageID != messageID {
				continue
			}
			b, err := e.app.Keys.Open(ctx, e.app.DB.Reader(), demo.ContentAAD(e.org.ID, r.ID), r.Content)
			if err != nil {
				e.t.Fatal(err)
			}
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("message %s was never captured", messageID)
	return nil
}

// auditActions lists an action's entries as "outcome actor_type:actor_id".
func (e *env) audits(action string) []string {
	e.t.Helper()
	rows, err := e.app.DB.Reader().Query(context.Background(), `SELECT outcome, actor_type, actor_id, details FROM audit_entries
		WHERE chain = ? AND action = ? ORDER BY seq`, e.org.ID, action)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var outcome, typ, id, details string
		if err := rows.Scan(&outcome, &typ, &id, &details); err != nil {
			e.t.Fatal(err)
		}
		if strings.Contains(details, "@") {
			e.t.Errorf("audit %s details carry an address: %s", action, details)
		}
		out = append(out, outcome+" "+typ+":"+id)
	}
	return out
}

// browser is a recipient's browser: it keeps cookies, does not follow
// redirects, and sends the Origin and Sec-Fetch-Site a browser would.
type browser struct {
	t      *testing.T
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, client: &http.Client{Jar: jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the node's development certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.e.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the first form of a page.
func (r response) csrf(t *testing.T) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no CSRF token in page (%d): %.300s", r.status, r.body)
	}
	return m[1]
}

// staff is a principal of the organization's owner with perms.
func (e *env) staff(perms ...access.Permission) auth.Principal {
	return auth.Principal{OrgID: e.org.ID, UserID: e.owner.ID, Email: e.owner.Email, Perms: access.NewSet(perms...)}
}
