package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/pgp/pgptest"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// unsigned is a Signers seam without keys: messages go unsigned, whatever
// the state of the sender domain.
type unsigned struct{}

func (unsigned) Signer(context.Context, string, string) (delivery.Signer, error) { return nil, nil }

// TestKeyExpiredAtDeliveryFallsBackToPortal: the recipient's OpenPGP key
// was valid when the message was accepted (e2e before the portal) but has
// expired when delivery runs: it is not used, and the message goes to the
// portal, never in the clear.
func TestKeyExpiredAtDeliveryFallsBackToPortal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("pgp.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()), paused: true})
	ctx := context.Background()
	g := pgptest.New(t)
	g.Run(t, nil, "--quick-gen-key", "Pat Gee <pat@pgp.test>", "default", "default", "1d")
	if _, err := n.app.Keydir.Add(ctx, keydir.System(n.org.ID, "test"), g.Run(t, nil, "--armor", "--export", "pat@pgp.test"), ""); err != nil {
		t.Fatal(err)
	}
	phi := canary()
	res := n.submit("Biopsy: "+phi, []string{"pat@pgp.test"}, nil)
	pol, err := store.RecipientPolicies(ctx, n.app.DB.Reader(), n.org.ID, res.MessageID)
	if err != nil || pol[res.Recipients[0].ID].Methods != "verified-tls,e2e,portal" {
		t.Fatalf("decided %+v, %v; want e2e before the portal", pol, err)
	}
	n.clock.Advance(48 * time.Hour) // past the key's expiry
	n.start()
	rows, _ := n.portaled(res.MessageID, delivery.NoVerifiedPath)
	rc := receipt(t, rows[0])
	if len(rc.Skipped) != 2 || rc.Skipped[1].Method != string(policy.E2E) || !strings.Contains(rc.Skipped[1].Reason, "no valid end-to-end key") {
		t.Fatalf("receipt %+v", rc)
	}
	onlyNotices(t, sink.Messages())
	noCanary(t, phi, sink.Wire())
}

// TestPortalFailureHoldsAndSparesTheBatch: the portal cannot take a
// recipient (its notification is refused: the sender domain is no longer
// verified). Only the handoff is undone — no portal item, no notification
// — the recipient is held with the reason, and the other recipient of the
// same batch is delivered.
func TestPortalFailureHoldsAndSparesTheBatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("plain.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()), paused: true, signers: unsigned{}})
	phi := canary()
	held := n.submit("Diagnosis: "+phi, []string{"pat@plain.test"}, nil)
	notice := n.submit("We are closed on Monday.", []string{"all@plain.test"}, func(s *outbox.Submission) { s.NonPHI = true })
	n.exec(`UPDATE sender_domains SET status = 'pending' WHERE org_id = ?`, n.org.ID)
	n.start()
	n.waitState(notice.MessageID, "delivered", 20*time.Second)
	rows := n.waitState(held.MessageID, "held", 20*time.Second)
	if !strings.Contains(rows[0].LastReason, delivery.NoVerifiedPath) || !strings.Contains(rows[0].LastReason, "the secure portal did not take the recipient") {
		t.Fatalf("held with %q", rows[0].LastReason)
	}
	if n.count(`SELECT count(*) FROM portal_items WHERE org_id = ?`, n.org.ID) != 0 ||
		n.count(`SELECT count(*) FROM messages WHERE org_id = ? AND tags LIKE '%portal-notice%'`, n.org.ID) != 0 {
		t.Fatal("the failed handoff left a portal item or a notification")
	}
	if got := n.eventSet(held.MessageID); got != "held,queued" {
		t.Fatalf("events %v", got)
	}
	if n.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'message.hold' AND target_id = ?`, n.org.ID, rows[0].ID) != 1 {
		t.Fatal("no message.hold audit entry")
	}
	if msgs := sink.Messages(); len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "closed on Monday") {
		t.Fatalf("%d messages at the sink, want the notice only", len(msgs))
	}
	noCanary(t, phi, sink.Wire())
}

// TestNoAcceptableMethodStaysHeld: a recipient recorded without methods
// (accepted before decisions carried them) has its level alone; without a
// verified path it is held, and the server hears nothing.
func TestNoAcceptableMethodStaysHeld(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mx := w.mxDomain("plain.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()), paused: true})
	res := n.submit("Diagnosis: "+canary(), []string{"pat@plain.test"}, nil)
	n.exec(`UPDATE recipients SET policy_methods = '' WHERE id = ?`, res.Recipients[0].ID)
	n.start()
	rows := n.waitState(res.MessageID, "held", 20*time.Second)
	if rows[0].LastReason != delivery.NoVerifiedPath || len(sink.Conns()) != 0 {
		t.Fatalf("held with %q after %d connections", rows[0].LastReason, len(sink.Conns()))
	}
	if rc := receipt(t, rows[0]); rc.Method != "" || len(rc.Skipped) != 1 || rc.Skipped[0].Method != "verified-tls" {
		t.Fatalf("receipt %+v", rc)
	}
}

// exec changes the database behind the node's back, as an operator or an
// older version would have.
func (n *node) exec(query string, args ...any) {
	n.t.Helper()
	ctx := context.Background()
	if err := n.app.DB.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	}); err != nil {
		n.t.Fatal(err)
	}
}
