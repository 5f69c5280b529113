package delivery_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestConnectionReuse: 50 messages to one domain travel in a few
// connections, each carrying many transactions.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.verifiedDomain("dest.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			res := n.submit(fmt.Sprintf("Message %d %s", i, canary()), []string{rcpt(fmt.Sprint("pat", i), "dest.test")}, nil)
			mu.Lock()
			ids = append(ids, res.MessageID)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, id := range ids {
		n.waitState(id, "delivered", 30*time.Second)
	}
	conns := sink.Conns()
	tx := transactions(t, conns)
	if tx != 50 {
		t.Fatalf("%d transactions, want 50", tx)
	}
	// Batches claim what is due when they start, so a burst that is still
	// arriving takes a few batches; each reuses its connection.
	if len(conns) > 20 {
		t.Fatalf("%d connections for 50 messages, want reuse", len(conns))
	}
	t.Logf("50 messages in %d connections", len(conns))
}

// TestJobKeepsItsSlotAndSession: a backlog of four full batches for one
// domain with one slot goes through fewer sessions than batches — the job
// that delivered a full batch claims the next at once and keeps its
// verified session, instead of ending and leaving the slot idle until the
// job engine fetches the next job (which opened a session per batch).
func TestJobKeepsItsSlotAndSession(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sink := w.discardSink("dest.test")
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()), paused: true,
		edit: func(c *config.Config) { c.Delivery.Batch, c.Delivery.ConnectionsPerDomain = 5, 1 }})
	var ids []string
	for i := range 20 {
		ids = append(ids, n.submit("Reminder", []string{rcpt(fmt.Sprint("p", i), "dest.test")}, nil).MessageID)
	}
	n.start()
	for _, id := range ids {
		n.waitState(id, "delivered", 30*time.Second)
	}
	conns := sink.Conns()
	if tx := transactions(t, conns); tx != 20 || len(conns) >= 4 {
		t.Fatalf("%d messages in %d sessions; want 20 in fewer sessions than the 4 batches", tx, len(conns))
	}
}

// transactions counts the messages the sink took over conns, each of
// which must have been TLS.
func transactions(t *testing.T, conns []smtptest.ConnStats) int {
	t.Helper()
	n := 0
	for _, c := range conns {
		n += c.Transactions
		if !c.TLS {
			t.Error("a session without TLS")
		}
	}
	return n
}

// TestOpportunisticOnlyWithoutPHI: a source that declares no PHI may use
// a server without STARTTLS, in plaintext; a PHI message to the same
// server goes to the portal, and only its notification travels there.
func TestOpportunisticOnlyWithoutPHI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.mxDomain("oldmail.test")
	sink := smtptest.NewSink(t, smtptest.Options{}) // no STARTTLS
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})

	notice := n.submit("Our office is closed on Monday.", []string{rcpt("pat", "oldmail.test")},
		func(s *outbox.Submission) { s.NonPHI = true })
	rows := n.waitState(notice.MessageID, "delivered", 20*time.Second)
	if rc := receipt(t, rows[0]); rc.AuthorizedBy != "none" || rc.TLS != "none" || rc.Verified || rc.Level != "opportunistic" {
		t.Fatalf("receipt %+v", rc)
	}
	phi := canary()
	res := n.submit("Diagnosis: "+phi, []string{rcpt("pat", "oldmail.test")}, nil)
	n.portaled(res.MessageID, delivery.NoVerifiedPath)
	if !strings.Contains(string(sink.Wire()), "Our office is closed") {
		t.Fatal("the non-PHI notice did not travel in plaintext as expected")
	}
	noCanary(t, phi, sink.Wire())
	if msgs := sink.Messages(); len(msgs) != 2 {
		t.Fatalf("%d messages at the sink, want the notice and the portal notification", len(msgs))
	} else {
		onlyNotices(t, msgs[1:])
	}
}

// TestMTASTSTestingModeDoesNotAuthorize: RFC 8461 section 5: testing
// reports, it does not enforce, so it is no verified path.
func TestMTASTSTestingModeDoesNotAuthorize(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("dest.test")
	w.enforce("dest.test", "testing", mx)
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
	phi := canary()
	res := n.submit("Results: "+phi, []string{rcpt("pat", "dest.test")}, nil)
	n.portaled(res.MessageID, delivery.NoVerifiedPath)
	onlyNotices(t, sink.Messages())
	noCanary(t, phi, sink.Wire())
}

// TestTwoNodesDeliverEachMessageOnce: two nodes share one PostgreSQL
// database and its queue; 200 messages reach the sink exactly once each.
func TestTwoNodesDeliverEachMessageOnce(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s not set", storetest.PostgresEnv)
	}
	w := newWorld(t)
	mx := w.verifiedDomain("dest.test")
	w.verifiedDomain("other.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx, "mx.other.test")})
	url := storetest.URL(t, store.Postgres)
	small := func(c *config.Config) { c.Delivery.Batch = 20 } // many batches, so both nodes claim
	a := w.startNode(nodeOptions{dbURL: url, mxPort: port(t, sink.Addr()), edit: small})
	sameKey := func(c *config.Config) { small(c); c.Keys.KEKFile = a.app.Config.Keys.KEKFile }
	b := w.startNode(nodeOptions{dbURL: url, mxPort: port(t, sink.Addr()), edit: sameKey, org: &a.org})

	// The first message creates the organization's blind-index key; two
	// nodes creating it at once race (see the report), so one goes first.
	a.submit("n0", []string{rcpt("p0", "dest.test")}, nil)
	var wg sync.WaitGroup
	for i := 1; i < 200; i++ {
		n := a
		if i%2 == 1 {
			n = b
		}
		domain := []string{"dest.test", "other.test"}[i%4/2]
		wg.Go(func() { n.submit(fmt.Sprintf("n%d", i), []string{rcpt(fmt.Sprint("p", i), domain)}, nil) })
	}
	wg.Wait()
	if _, err := sink.WaitFor(200, 60*time.Second); err != nil {
		depth, _ := store.QueueDepth(context.Background(), a.app.DB.Reader())
		t.Fatalf("%v; queue %v", err, depth)
	}
	time.Sleep(500 * time.Millisecond) // any duplicate would arrive now
	msgs := sink.Messages()
	seen := map[string]int{}
	idRE := regexp.MustCompile(`(?m)^Message-ID: <([^>]+)>`)
	for _, m := range msgs {
		id := idRE.FindStringSubmatch(string(m.Data))
		if id == nil {
			t.Fatal("a message without Message-ID")
		}
		seen[id[1]]++
	}
	if len(msgs) != 200 || len(seen) != 200 {
		t.Fatalf("%d deliveries of %d distinct messages, want 200 of 200", len(msgs), len(seen))
	}
	var nodes int
	if err := store.Scan(a.app.DB.Reader().QueryRow(context.Background(),
		`SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = 'delivery'`), &nodes); err != nil {
		t.Fatal(err)
	}
	if nodes != 2 {
		t.Fatalf("delivery jobs ran on %d nodes, want both", nodes)
	}
}

// TestRequireTLS: RFC 8689 REQUIRETLS travels with the message; a domain
// whose MX host does not support it gets nothing, and the message bounces
// with 5.7.30.
func TestRequireTLS(t *testing.T) {
	t.Parallel()
	for _, supported := range []bool{true, false} {
		t.Run(map[bool]string{true: "supported", false: "unsupported"}[supported], func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			mx := w.verifiedDomain("dest.test")
			sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx), RequireTLS: supported})
			n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
			res := n.submit("Results: "+canary(), []string{rcpt("pat", "dest.test")}, func(s *outbox.Submission) { s.RequireTLS = true })
			if !supported {
				rows := n.waitState(res.MessageID, "bounced", 20*time.Second)
				if rows[0].LastEnhanced != "5.7.30" || sink.Mails() != 0 {
					t.Fatalf("bounced with %s after %d MAIL commands", rows[0].LastEnhanced, sink.Mails())
				}
				return
			}
			n.waitState(res.MessageID, "delivered", 20*time.Second)
			if m := sink.Messages(); len(m) != 1 || !m[0].RequireTLS {
				t.Fatalf("sink %+v", m)
			}
		})
	}
}

// TestRatePerDomain: a domain limited to 5 recipients a minute gets 5, and
// the rest once the minute has passed. (The job for the next window is
// scheduled in real time; on this test's fake clock the sweep's repair of
// an armed domain whose job has not started within a lease stands in.)
func TestRatePerDomain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sink := w.discardSink("dest.test")
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()), paused: true,
		edit: func(c *config.Config) {
			c.Delivery.RatePerDomain, c.Delivery.Lease = 5, config.Duration(30*time.Second)
		}})
	for i := range 8 {
		n.submit("Reminder", []string{rcpt(fmt.Sprint("p", i), "dest.test")}, nil)
	}
	n.start()
	if _, err := sink.WaitFor(5, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := len(sink.Messages()); got != 5 {
		t.Fatalf("%d delivered in the first minute, want 5", got)
	}
	n.submit("Reminder", []string{rcpt("p8", "dest.test")}, nil) // waits too: the domain is armed for the next minute
	time.Sleep(500 * time.Millisecond)
	if got := len(sink.Messages()); got != 5 {
		t.Fatalf("%d delivered in the first minute after another submission, want 5", got)
	}
	n.clock.Advance(61 * time.Second)
	if _, err := sink.WaitFor(9, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestMetrics: the delivery series exist with bounded labels only.
func TestMetrics(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.verifiedDomain("dest.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr())})
	res := n.submit("Results", []string{rcpt("pat", "dest.test")}, nil)
	n.waitState(res.MessageID, "delivered", 20*time.Second)
	// The outcome's counters are updated once its transaction has
	// committed, a moment after the state is visible: gather until they
	// are there (or give up after ten seconds).
	var want map[string]bool
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		want = map[string]bool{"carepost_delivery_queue_depth": false, "carepost_deliveries_total": false,
			"carepost_delivery_duration_seconds": false, "carepost_delivery_connections_total": false}
		fams, err := n.app.Metrics.Gather()
		if err != nil {
			t.Fatal(err)
		}
		all := true
		for _, f := range fams {
			if _, ok := want[f.GetName()]; ok {
				want[f.GetName()] = true
			}
		}
		for _, seen := range want {
			all = all && seen
		}
		if all || time.Now().After(deadline) {
			break
		}
	}
	fams, err := n.app.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if _, ok := want[f.GetName()]; !ok {
			continue
		}
		want[f.GetName()] = true
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), ".test") || strings.Contains(l.GetValue(), "@") {
					t.Errorf("%s has label %s=%q", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("no %s", name)
		}
	}
}

// TestChunkingFollowsTheConfiguration: by default a message goes to a host
// offering CHUNKING by BDAT pipelined with its envelope; with
// delivery.chunking off it goes by DATA.
func TestChunkingFollowsTheConfiguration(t *testing.T) {
	t.Parallel()
	for _, chunking := range []bool{true, false} {
		t.Run(fmt.Sprint("chunking=", chunking), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			mx := w.verifiedDomain("dest.test")
			sink := smtptest.NewLeanSink(t, *w.leaf(mx))
			n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()),
				edit: func(c *config.Config) { c.Delivery.Chunking = chunking }})
			for i := range 3 {
				res := n.submit(fmt.Sprintf("Message %d %s", i, canary()), []string{rcpt(fmt.Sprint("pat", i), "dest.test")}, nil)
				n.waitState(res.MessageID, "delivered", 30*time.Second)
			}
			want := int64(0)
			if chunking {
				want = 3
			}
			if sink.Delivered() != 3 || sink.Chunked() != want {
				t.Fatalf("delivered %d, by BDAT %d; want 3 and %d", sink.Delivered(), sink.Chunked(), want)
			}
		})
	}
}
