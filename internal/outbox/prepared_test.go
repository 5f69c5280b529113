package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestCommitManyWritesEachMessageAsSubmitWould prepares several messages
// and commits them in one transaction: each has its message, recipients
// (a suppressed one failed), events and audit entry, the audit chain
// verifies, and a sender domain that is not verified refuses the whole
// write.
func TestCommitManyWritesEachMessageAsSubmitWould(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		a, org := setup(t, d)
		ctx := context.Background()
		if err := a.Outbox.EnsureOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		if err := a.DB.Tx(ctx, func(tx *store.Tx) error {
			ix, err := a.Index.Email(ctx, tx, org, "p2@example.org")
			if err != nil {
				return err
			}
			return store.Suppress(ctx, tx, org, ix, "hard bounce", "", time.Now())
		}); err != nil {
			t.Fatal(err)
		}
		var ps []*outbox.Prepared
		for i := range 5 {
			p, err := a.Outbox.Prepare(ctx, sub(org, draft(fmt.Sprintf("p%d@example.org", i))))
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		var res []outbox.Result
		if err := a.DB.Tx(ctx, func(tx *store.Tx) error {
			var err error
			res, err = a.Outbox.CommitManyTx(ctx, tx, ps)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			want := outbox.StateQueued
			if i == 2 {
				want = outbox.StateFailed
			}
			if r.MessageID != ps[i].MessageID() || len(r.Recipients) != 1 || r.Recipients[0].State != want {
				t.Fatalf("result %d: %+v, want one %s recipient", i, r, want)
			}
			st, err := a.Outbox.Status(ctx, a.DB.Reader(), org, r.MessageID)
			if err != nil || st.Recipients[0].Email != fmt.Sprintf("p%d@example.org", i) || st.Recipients[0].State != want {
				t.Fatalf("stored %d: %+v %v", i, st, err)
			}
		}
		if got := count(t, a, `SELECT count(*) FROM audit_entries WHERE action = 'message.submit'`); got != 5 {
			t.Fatalf("%d audit entries, want 5", got)
		}
		if got := count(t, a, `SELECT count(*) FROM events WHERE type IN ('message.queued', 'message.failed')`); got != 5 {
			t.Fatalf("%d events, want 5", got)
		}
		if rep, err := a.Audit.Verify(ctx, audit.VerifyOptions{}); err != nil || !rep.OK() {
			t.Fatalf("audit chain: %v %v", err, rep.Problems())
		}
		bad := draft("x@example.org")
		bad.From = message.Address{Email: "someone@not-ours.example"}
		p, err := a.Outbox.Prepare(ctx, sub(org, bad))
		if err != nil {
			t.Fatal(err)
		}
		ok, err := a.Outbox.Prepare(ctx, sub(org, draft("y@example.org")))
		if err != nil {
			t.Fatal(err)
		}
		err = a.DB.Tx(ctx, func(tx *store.Tx) error {
			_, err := a.Outbox.CommitManyTx(ctx, tx, []*outbox.Prepared{ok, p})
			return err
		})
		var fe *message.FieldError
		if !errors.As(err, &fe) || fe.Field != "from" {
			t.Fatalf("unverified sender in a batch: %v", err)
		}
		if got := count(t, a, `SELECT count(*) FROM messages`); got != 5 {
			t.Fatalf("%d messages after the refused batch, want 5", got)
		}
	})
}

// TestCommitManyOnceAnswersHeldKeys commits keyed messages in one
// transaction, then the same keys again with one new one: the held keys
// answer their first messages as duplicates and write nothing, the new
// one is written; a held key with another request is refused, and so is a
// key given twice in one write; PrepareOnce needs a key.
func TestCommitManyOnceAnswersHeldKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		a, org := setup(t, d)
		ctx := context.Background()
		if err := a.Outbox.EnsureOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		keyed := func(key, to string) *outbox.Prepared {
			t.Helper()
			s := sub(org, draft(to))
			s.IdempotencyKey, s.RequestHash = key, []byte("hash of "+key)
			p, err := a.Outbox.PrepareOnce(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		commit := func(ps ...*outbox.Prepared) ([]outbox.Result, error) {
			var res []outbox.Result
			err := a.DB.Tx(ctx, func(tx *store.Tx) error {
				var err error
				res, err = a.Outbox.CommitManyOnceTx(ctx, tx, ps)
				return err
			})
			return res, err
		}
		first, err := commit(keyed("k1", "a@example.org"), keyed("k2", "b@example.org"))
		if err != nil || len(first) != 2 || first[0].Duplicate || first[1].Duplicate {
			t.Fatalf("first write: %+v %v", first, err)
		}
		again, err := commit(keyed("k1", "a@example.org"), keyed("k3", "c@example.org"), keyed("k2", "b@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		if !again[0].Duplicate || again[0].MessageID != first[0].MessageID || !again[2].Duplicate || again[2].MessageID != first[1].MessageID ||
			again[1].Duplicate || len(again[0].Recipients) != 1 {
			t.Fatalf("second write: %+v (first %+v)", again, first)
		}
		if n := count(t, a, `SELECT count(*) FROM messages WHERE org_id = ?`, org); n != 3 {
			t.Fatalf("%d messages, want 3", n)
		}
		other := sub(org, draft("a@example.org"))
		other.IdempotencyKey, other.RequestHash = "k1", []byte("another request")
		p, err := a.Outbox.PrepareOnce(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := commit(p); !errors.Is(err, outbox.ErrIdempotencyMismatch) {
			t.Fatalf("a held key with another request: %v", err)
		}
		if _, err := commit(keyed("k4", "d@example.org"), keyed("k4", "d@example.org")); err == nil {
			t.Fatal("a key twice in one write was accepted")
		}
		if n := count(t, a, `SELECT count(*) FROM messages WHERE org_id = ?`, org); n != 3 {
			t.Fatalf("%d messages after the refused writes, want 3", n)
		}
		if _, err := a.Outbox.PrepareOnce(ctx, sub(org, draft("e@example.org"))); err == nil {
			t.Fatal("PrepareOnce without a key was accepted")
		}
	})
}
