package campaign_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// env is a real carepost core (app.Open: store, keyring, contacts,
// templates, tracking, outbox, delivery in demo mode) with one
// organization, a verified sender domain, the fields the standard workload
// has, and a campaign service of the test's own options. Its job client is
// not started unless run is: tests drive the jobs by calling Prepare and
// RunBatch, as the workers would.
type env struct {
	t     testing.TB
	a     *app.App
	svc   *campaign.Service
	clock *clock
	org   string
	list  string
	tpl   string
	stop  func()
}

const sender = "news@clinic.test"

func setup(t testing.TB, d store.Driver, edit func(*campaign.Options)) *env {
	t.Helper()
	return setupWith(t, d, setupOptions{campaign: edit})
}

// setupOptions shape an env beyond the defaults.
type setupOptions struct {
	campaign func(*campaign.Options)
	// config edits the node's configuration (demo mode is on unless it
	// turns it off); app adds Open's options.
	config func(*config.Config)
	app    app.Options
	// verify publishes the sender domain's records where its check looks
	// (demo mode verifies on Add without it).
	verify func(name, value string)
}

func setupWith(t testing.TB, d store.Driver, so setupOptions) *env {
	t.Helper()
	edit := so.campaign
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Submission.Listen, cfg.Submission.TLSListen, cfg.Gateway.Listen = "0", "0", "0"
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Demo.Enabled = true // sender domains verify themselves; delivery captures
	cfg.Jobs.FetchPollInterval = config.Duration(50 * time.Millisecond)
	if so.config != nil {
		so.config(cfg)
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: clocktest.New(time.Now())}
	so.app.Clock = e.clock.Now
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), so.app)
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	e.stop = func() { a.Close() }
	t.Cleanup(func() { e.stop() })
	ctx := context.Background()
	org, _, _, err := a.Auth.Bootstrap(ctx, "Riverside Clinic", "owner@riverside.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	e.org = org.ID
	dom, recs, err := a.Domains.Add(ctx, senderdomain.System(e.org, "test"), "clinic.test")
	if err != nil {
		t.Fatal(err)
	}
	if so.verify != nil {
		for _, r := range recs {
			so.verify(r.Name, r.Value)
		}
		if dom, _, err = a.Domains.Check(ctx, senderdomain.System(e.org, "test"), dom.ID); err != nil || dom.Status != "verified" {
			t.Fatalf("verify sender domain: %+v %v", dom, err)
		}
	}
	opts := campaign.Options{Clock: e.clock.Now, BatchSize: 10, Chunk: 4}
	if edit != nil {
		edit(&opts)
	}
	e.svc = campaign.New(campaign.Deps{DB: a.DB, Committer: a.Committer, Audit: a.Audit, Contacts: a.Contacts, Templates: a.Templates,
		Domains: a.Domains, Keys: keyPrefetch{a.Keydir}}, opts)
	e.svc.Bind(a.Jobs, a.Outbox, a.Tracking)
	e.fields()
	e.list = e.newList("Check-up reminders")
	e.tpl = e.template(checkupHTML)
	return e
}

// keyPrefetch is the app's wiring of the batches' key reads
// (campaign.KeyPrefetcher) for the tests' own campaign service.
type keyPrefetch struct{ k *keydir.Service }

func (p keyPrefetch) Prefetch(ctx context.Context, orgID string, emails []string) (policy.KeyDirectory, error) {
	return p.k.Prefetch(ctx, orgID, emails)
}

// run starts the node's workers: River runs the app's campaign jobs.
func (e *env) run() {
	e.t.Helper()
	node, err := e.a.NewNode()
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	e.stop = func() { cancel(); <-done; e.a.Close() }
}

func (e *env) actor() contact.Actor  { return contact.System(e.org, "test") }
func (e *env) admin() campaign.Actor { return campaign.System(e.org, "test") }

func (e *env) fields() {
	e.t.Helper()
	no := false
	for _, f := range []contact.FieldInput{
		{Key: "condition", Label: "Condition", Type: contact.TypeText},
		{Key: "last_visit", Label: "Last visit", Type: contact.TypeDate},
		{Key: "plan", Label: "Plan", Type: contact.TypeText, PHI: &no},
	} {
		if _, err := e.a.Contacts.CreateField(context.Background(), e.actor(), f); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) newList(name string) string {
	e.t.Helper()
	l, err := e.a.Contacts.CreateList(context.Background(), e.actor(), name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return l.ID
}

// checkupHTML reads two PHI fields in the body (travels encrypted), has a
// static and a personalized (non-PHI) link, and the unsubscribe link.
const checkupHTML = `<html><body><p>Hi {{.Contact.FirstName | default "there"}},</p>
<p>People living with {{.Contact.Fields.condition}} do best with a yearly check-up.</p>
<p><a href="https://clinic.example/book?ref=checkup">Book a visit</a></p>
<p><a href="https://clinic.example/plans/{{.Contact.Fields.plan}}">Your plan</a></p>
<p><a href="{{.Links.Unsubscribe}}">Unsubscribe</a></p></body></html>`

func (e *env) template(html string) string {
	e.t.Helper()
	tp, err := e.a.Templates.Create(context.Background(), audit.Actor{Type: audit.ActorSystem, ID: "test"}, e.org, "Check-up "+fmt.Sprint(time.Now().UnixNano()),
		template.Source{Subject: "Time for your check-up", HTML: html})
	if err != nil {
		e.t.Fatal(err)
	}
	return tp.ID
}

// person describes one contact to make.
type person struct {
	local   string // e-mail local part
	domain  string // default patients.test
	consent bool
	status  contact.Status
	lists   []string // default: the env's list
}

// contacts makes people and returns their ids by local part.
func (e *env) contacts(ps ...person) map[string]string {
	e.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for i, p := range ps {
		domain := p.domain
		if domain == "" {
			domain = "patients.test"
		}
		email, first := p.local+"@"+domain, strings.ToUpper(p.local[:1])+p.local[1:]
		st := contact.Subscribed
		if p.status != "" {
			st = p.status
		}
		v, err := e.a.Contacts.Create(ctx, e.actor(), contact.Input{Email: &email, FirstName: &first, Status: &st,
			Fields: map[string]any{"condition": "diabetes", "plan": []string{"gold", "silver"}[i%2], "last_visit": "2025-03-01"}})
		if err != nil {
			e.t.Fatalf("create contact %s: %v", p.local, err)
		}
		out[p.local] = v.ID
		if p.consent {
			if _, err := e.a.Contacts.Grant(ctx, e.actor(), v.ID, contact.Authorization{GrantedAt: e.clock.Now().Add(-time.Hour),
				Method: contact.Electronic, TextVersion: "v1", Source: "test", ExpiresAt: e.clock.Now().Add(365 * 24 * time.Hour)}); err != nil {
				e.t.Fatal(err)
			}
		}
		lists := p.lists
		if lists == nil {
			lists = []string{e.list}
		}
		for _, l := range lists {
			if err := e.a.Contacts.SetMembers(ctx, e.actor(), l, []string{v.ID}, contact.MemberSubscribed); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	return out
}

// create makes a draft campaign to the env's list (edit adjusts the input).
func (e *env) create(edit func(*campaign.Input)) campaign.Campaign {
	e.t.Helper()
	name, from, tpl := "Check-up reminder", sender, e.tpl
	in := campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl, Audience: &campaign.Audience{Lists: []string{e.list}}}
	if edit != nil {
		edit(&in)
	}
	c, err := e.svc.Create(context.Background(), e.admin(), in)
	if err != nil {
		e.t.Fatalf("create campaign: %v", err)
	}
	return c
}

// send starts c and works its jobs to the end as the workers would:
// prepare, then every batch.
func (e *env) send(c campaign.Campaign) campaign.Campaign {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.svc.Send(ctx, e.admin(), c.ID)
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
		e.t.Fatalf("prepare: %v", err)
	}
	e.batches(c.ID)
	return e.get(c.ID)
}

// batches runs every batch of the campaign at its current epoch.
func (e *env) batches(id string) {
	e.t.Helper()
	ctx := context.Background()
	c := e.get(id)
	epoch := e.epoch(id)
	for b := 0; b < c.Batches; b++ {
		if err := e.svc.RunBatch(ctx, e.org, id, b, epoch); err != nil {
			e.t.Fatalf("batch %d: %v", b, err)
		}
	}
}

func (e *env) get(id string) campaign.Campaign {
	e.t.Helper()
	c, err := e.svc.Get(context.Background(), e.admin(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) epoch(id string) int {
	e.t.Helper()
	r, err := store.GetCampaign(context.Background(), e.a.DB.Reader(), e.org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Epoch
}

// recipients is the campaign's recipient rows by contact id.
func (e *env) recipients(id string) map[string]store.CampaignRecipient {
	e.t.Helper()
	rows, err := store.CampaignRecipientsOf(context.Background(), e.a.DB.Reader(), e.org, id, "", 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]store.CampaignRecipient{}
	for _, r := range rows {
		out[r.ContactID] = r
	}
	return out
}

// content opens a message's sealed content as stored: what delivery sends
// (or the portal shows).
func (e *env) content(messageID string) string {
	e.t.Helper()
	ctx := context.Background()
	m, err := store.GetMessage(ctx, e.a.DB.Reader(), e.org, messageID)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := outbox.OpenContent(ctx, e.a.Keys, e.a.DB.Reader(), e.org, messageID, m.Content)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(raw)
}

// parsed is a message's stored content, MIME-decoded.
func (e *env) parsed(messageID string) *message.Parsed {
	e.t.Helper()
	m, err := message.Inspect([]byte(e.content(messageID)), message.Limits{})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// state is the delivery state of a message's one recipient.
func (e *env) state(messageID string) store.RecipientRow {
	e.t.Helper()
	rows, err := store.RecipientsOfMessage(context.Background(), e.a.DB.Reader(), e.org, messageID)
	if err != nil || len(rows) != 1 {
		e.t.Fatalf("recipients of %s: %v %v", messageID, rows, err)
	}
	return rows[0]
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := store.Scan(e.a.DB.Reader().QueryRow(context.Background(), query, args...), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) report(id string, a campaign.Actor) campaign.Report {
	e.t.Helper()
	r, err := e.svc.Report(context.Background(), a, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// unsubscribeToken mints the token of an unsubscribe link as a message of
// campaignID to the contact would carry it.
func (e *env) unsubscribeToken(campaignID, contactID, listID string) string {
	e.t.Helper()
	iss, err := e.a.Tracking.Issuer(context.Background(), e.org)
	if err != nil {
		e.t.Fatal(err)
	}
	u := tracking.Recipient{Issuer: iss, CampaignID: campaignID, ContactID: contactID, ListID: listID}.UnsubscribeURL()
	return u[strings.LastIndex(u, "/u/")+3:]
}
