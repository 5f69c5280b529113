package smtpd_test

import (
	"context"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestInternalFailureAnswers451AndStoresNothing makes the database refuse
// the recipients insert, after the message row is already written in the
// same transaction. The client must get 451 (keep the message, retry) and
// the database must hold no part of it.
func TestInternalFailureAnswers451AndStoresNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		ctx := context.Background()
		from := e.Sender(t, e.A)
		w := login(t, addr(t, e, smtpd.Submission), e.A.Key)

		failing := []string{`CREATE TRIGGER fail_recipients BEFORE INSERT ON recipients BEGIN SELECT RAISE(ABORT, 'injected failure'); END`}
		healed := []string{`DROP TRIGGER fail_recipients`}
		if d == store.Postgres {
			failing = []string{
				`CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
				`CREATE TRIGGER fail_recipients BEFORE INSERT ON recipients FOR EACH ROW EXECUTE FUNCTION fail_insert()`,
			}
			healed = []string{`DROP TRIGGER fail_recipients ON recipients`}
		}
		exec := func(stmts []string) {
			t.Helper()
			err := e.App.DB.Tx(ctx, func(tx *store.Tx) error {
				for _, s := range stmts {
					if _, err := tx.Exec(ctx, s); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		exec(failing)
		r := w.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Results", "Ready."))
		if r != "451 4.3.0 Temporary server error, try again later" {
			t.Fatalf("reply after DATA with a failing commit: %q", r)
		}
		if n := messagesOf(t, e, e.A); n != 0 {
			t.Fatalf("%d messages stored by a failed commit", n)
		}
		if n := count(t, e, `SELECT count(*) FROM recipients WHERE org_id = ?`, e.A.Org.ID); n != 0 {
			t.Fatalf("%d recipients stored by a failed commit", n)
		}
		// The client retries on the same connection once the fault is gone.
		exec(healed)
		queuedID(t, w.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Results", "Ready.")))
	})
}
