package delivery_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// The sender domain every test sends from; setup verifies it through the
// real sender-domain check against the loopback DNS server.
const senderDomain = "clinic.test"

// clock is the shared fake clock.
type clock = clocktest.Clock

// node is one carepost node of a test.
type node struct {
	t      testing.TB
	w      *world
	app    *app.App
	run    *app.Node
	clock  *clock
	org    auth.Org
	owners []owner
	start  func() // runs the workers (once); startNode calls it unless paused
	stop   func()
}

// nodeOptions shape a node.
type nodeOptions struct {
	driver  store.Driver
	dbURL   string // share a database (several nodes); empty: a new one
	mxPort  int
	signers delivery.Signers
	edit    func(*config.Config)
	org     *auth.Org // reuse an organization (several nodes)
	paused  bool      // open without running the workers; call start
}

// startNode opens an App on the world and runs its workers.
func (w *world) startNode(o nodeOptions) *node {
	t := w.t
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Submission.Listen, cfg.Submission.TLSListen, cfg.Gateway.Listen = "0", "0", "0"
	switch {
	case o.dbURL != "":
		cfg.Database.URL = o.dbURL
	case o.driver == store.Postgres:
		cfg.Database.URL = storetest.URL(t, o.driver)
	}
	cfg.Jobs.FetchPollInterval = config.Duration(50 * time.Millisecond)
	d := &cfg.Delivery
	d.DNSServers, d.MXPort, d.MTASTSPort, d.ExtraRoots = []string{w.dns.Addr()}, o.mxPort, w.sts.port, w.caFile
	d.TrustDNSSEC, d.SweepInterval, d.LocalName = true, config.Duration(100*time.Millisecond), "carepost.test"
	d.ConnectTimeout, d.CommandTimeout, d.DataTimeout = config.Duration(5*time.Second), config.Duration(10*time.Second), config.Duration(10*time.Second)
	if o.edit != nil {
		o.edit(cfg)
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, w: w, clock: clocktest.New(time.Now())}
	a, err := app.Open(context.Background(), cfg, testLogger(),
		app.Options{Clock: n.clock.Now, DNSServers: []string{w.dns.Addr()}, Signers: o.signers})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	n.app = a
	if n.run, err = a.NewNode(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	n.start = sync.OnceFunc(func() { go func() { done <- n.run.Run(ctx) }() })
	if !o.paused {
		n.start()
	}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			n.start() // Run returns at once on an ended context
			<-done
			a.Close()
		})
	}
	t.Cleanup(n.stop)
	if o.org != nil {
		n.org = *o.org
	} else {
		n.org = n.newOrg("Riverside Clinic", "owner@riverside.example")
		n.verifySender(n.org, senderDomain)
	}
	return n
}

func (n *node) newOrg(name, email string) auth.Org {
	n.t.Helper()
	o, _, otp, err := n.app.Auth.Bootstrap(context.Background(), name, email, "Owner")
	if err != nil {
		n.t.Fatal(err)
	}
	n.owners = append(n.owners, owner{email: email, otp: otp})
	return o
}

// owner is an organization's first user and the one-time password
// Bootstrap gave them.
type owner struct{ email, otp string }

// signIn takes the owner through the real sign-in flow (password change,
// TOTP enrolment) and returns the session token.
func (n *node) signIn(o owner) string {
	n.t.Helper()
	ctx, c := context.Background(), auth.Client{IP: "127.0.0.1", UserAgent: "delivery-test"}
	flow, err := n.app.Auth.BeginLogin(ctx, o.email, o.otp, c)
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.app.Auth.FlowChangePassword(ctx, flow.Token, "violet lighthouse marble harbor "+o.email); err != nil {
		n.t.Fatal(err)
	}
	en, err := n.app.Auth.FlowBeginTOTP(ctx, flow.Token)
	if err != nil {
		n.t.Fatal(err)
	}
	code, err := totp.GenerateCode(en.Secret, n.clock.Now())
	if err != nil {
		n.t.Fatal(err)
	}
	sess, _, err := n.app.Auth.FlowConfirmTOTP(ctx, flow.Token, code, c)
	if err != nil {
		n.t.Fatal(err)
	}
	return sess.Token
}

// verifySender adds domain to org and verifies it through DNS.
func (n *node) verifySender(org auth.Org, domain string) {
	n.t.Helper()
	ctx := context.Background()
	actor := senderdomain.System(org.ID, "test")
	d, recs, err := n.app.Domains.Add(ctx, actor, domain)
	if err != nil {
		n.t.Fatalf("add sender domain: %v", err)
	}
	for _, r := range recs {
		n.w.dns.AddTXT(r.Name, r.Value)
	}
	if d.Status == "verified" { // demo mode verifies on Add
		return
	}
	if d, _, err = n.app.Domains.Check(ctx, actor, d.ID); err != nil || d.Status != "verified" {
		n.t.Fatalf("verify sender domain: %+v %v", d, err)
	}
}

// canary is a PHI stand-in: a string that must never cross an unverified
// or cleartext path.
func canary() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "PHI-CANARY-" + hex.EncodeToString(b[:])
}

// submit sends a message with body text to rcpts through the outbox.
func (n *node) submit(body string, rcpts []string, edit func(*outbox.Submission)) outbox.Result {
	n.t.Helper()
	d := &message.Draft{From: message.Address{Name: "Riverside Clinic", Email: "results@" + senderDomain},
		Subject: "Your lab results", Text: body}
	for _, r := range rcpts {
		d.To = append(d.To, message.Address{Email: r})
	}
	s := outbox.Submission{OrgID: n.org.ID, Actor: audit.Actor{Type: audit.ActorAPIKey, ID: "key_test"}, Source: outbox.SourceAPI, Draft: d}
	if edit != nil {
		edit(&s)
	}
	res, err := n.app.Outbox.Submit(context.Background(), s)
	if err != nil {
		n.t.Fatalf("submit: %v", err)
	}
	return res
}

// rows reads a message's recipient rows.
func (n *node) rows(msgID string) []store.RecipientRow {
	n.t.Helper()
	rows, err := store.RecipientsOfMessage(context.Background(), n.app.DB.Reader(), n.org.ID, msgID)
	if err != nil {
		n.t.Fatal(err)
	}
	return rows
}

// waitState waits until every recipient of msgID is in state.
func (n *node) waitState(msgID, state string, timeout time.Duration) []store.RecipientRow {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rows := n.rows(msgID)
		all := len(rows) > 0
		for _, r := range rows {
			all = all && r.State == state
		}
		if all {
			return rows
		}
		if time.Now().After(deadline) {
			var got []string
			for _, r := range rows {
				got = append(got, r.State+" ("+r.LastReason+")")
			}
			n.t.Fatalf("message %s: recipients %v after %v, want all %s", msgID, got, timeout, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receipt decodes a recipient's security receipt.
func receipt(t testing.TB, r store.RecipientRow) delivery.Receipt {
	t.Helper()
	var rc delivery.Receipt
	if err := json.Unmarshal([]byte(r.Receipt), &rc); err != nil {
		t.Fatalf("receipt %q: %v", r.Receipt, err)
	}
	return rc
}

// events lists the types of a message's events, oldest first.
func (n *node) events(msgID string) []string {
	n.t.Helper()
	evs, err := store.EventsOf(context.Background(), n.app.DB.Reader(), n.org.ID, msgID, 1000)
	if err != nil {
		n.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, strings.TrimPrefix(e.Type, "message."))
	}
	return out
}

// eventSet is the distinct event types of a message, sorted: events
// recorded at one instant of the fake clock have no order among them.
func (n *node) eventSet(msgID string) string {
	evs := n.events(msgID)
	slices.Sort(evs)
	return strings.Join(slices.Compact(evs), ",")
}

// port is the port of a "host:port".
func port(t testing.TB, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// noCanary fails if any recorded bytes hold the canary in the clear.
func noCanary(t testing.TB, c string, wires ...[]byte) {
	t.Helper()
	for i, w := range wires {
		if strings.Contains(string(w), c) {
			t.Fatalf("the PHI canary crossed path %d in the clear", i)
		}
	}
}

func rcpt(local, domain string) string { return fmt.Sprintf("%s@%s", local, domain) }

// portaled waits until every recipient of msgID is in the portal and its
// notification delivered, checks each receipt says why the walk got there
// (first passed over: verified-tls for skipReason), and returns the
// recipients' rows and the notifications' message ids.
func (n *node) portaled(msgID, skipReason string) ([]store.RecipientRow, []string) {
	n.t.Helper()
	rows := n.waitState(msgID, "portal", 20*time.Second)
	var notices []string
	for _, r := range rows {
		rc := receipt(n.t, r)
		if rc.Method != "portal" || len(rc.Skipped) == 0 || rc.Skipped[0].Method != "verified-tls" || rc.Skipped[0].Reason != skipReason {
			n.t.Fatalf("portal receipt %+v", rc)
		}
		it, err := store.PortalItemByRecipient(context.Background(), n.app.DB.Reader(), n.org.ID, r.ID)
		if err != nil || it.NoticeID == "" {
			n.t.Fatalf("portal item of %s: %+v %v", r.ID, it, err)
		}
		n.waitState(it.NoticeID, "delivered", 20*time.Second)
		notices = append(notices, it.NoticeID)
	}
	return rows, notices
}

// onlyNotices fails unless every message the sink received is a portal
// notification (they carry no PHI and declare it: Auto-Submitted).
func onlyNotices(t testing.TB, msgs []smtptest.Message) {
	t.Helper()
	for _, m := range msgs {
		if !strings.Contains(string(m.Data), "Auto-Submitted: auto-generated") || !strings.Contains(string(m.Data), "/portal/m/cpm_") {
			t.Fatalf("the sink received something other than a portal notification:\n%.400s", m.Data)
		}
	}
}

// testLogger discards the node's logs, or writes warnings and errors to
// standard error with CAREPOST_TEST_LOG=1 (ids only, as in production).
func testLogger() *slog.Logger {
	if os.Getenv("CAREPOST_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
