package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

func newClock(t time.Time) *clock { return clocktest.New(t) }

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)

type env struct {
	db     *store.DB
	log    *audit.Log
	clock  *clock
	signer audit.Signer
}

func newSigner(t testing.TB) audit.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewEd25519Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setup gives a test a fresh migrated database on driver d and a log over
// it with a fake clock and a signer. Walks read three rows per query.
func setup(t *testing.T, d store.Driver) *env {
	t.Helper()
	e := &env{db: storetest.Open(t, d), clock: newClock(t0), signer: newSigner(t)}
	e.log = e.newLog(audit.Options{Signer: e.signer})
	return e
}

// newLog returns another log over the same database and clock.
func (e *env) newLog(opts audit.Options) *audit.Log {
	opts.Clock = e.clock.Now
	l := audit.New(e.db, opts)
	audit.SetPageSize(l, 3)
	return l
}

func entry(chain, action string, i int) audit.Entry {
	return audit.Entry{
		Chain:      chain,
		Actor:      audit.Actor{Type: audit.ActorUser, ID: "usr_1"},
		Action:     action,
		TargetType: "message",
		TargetID:   fmt.Sprintf("msg_%d", i),
		Outcome:    audit.Success,
		Details:    map[string]string{"n": fmt.Sprint(i)},
	}
}

// record appends n entries to chain, one second apart, each in its own
// transaction.
func (e *env) record(t *testing.T, chain string, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := 0; i < n; i++ {
		e.clock.Advance(time.Second)
		got, err := e.log.Record(context.Background(), entry(chain, "message.read", i))
		if err != nil {
			t.Fatalf("record %s #%d: %v", chain, i, err)
		}
		out = append(out, got)
	}
	return out
}

func (e *env) checkpoint(t *testing.T) []audit.Checkpoint {
	t.Helper()
	e.clock.Advance(time.Minute)
	cps, err := e.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	return cps
}

func (e *env) verify(t *testing.T, opts audit.VerifyOptions) audit.Report {
	t.Helper()
	rep, err := e.log.Verify(context.Background(), opts)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// attack runs raw SQL as an attacker with database access would, after
// dropping the triggers that refuse edits and young deletes.
func (e *env) attack(t *testing.T, stmts ...string) {
	t.Helper()
	e.dropTriggers(t)
	e.exec(t, stmts...)
}

func (e *env) dropTriggers(t *testing.T) {
	t.Helper()
	on := ""
	if e.db.Driver() == store.Postgres {
		on = " ON "
	}
	for _, tr := range []struct{ name, table string }{
		{"audit_entries_no_update", "audit_entries"},
		{"audit_entries_retention", "audit_entries"},
		{"audit_checkpoints_no_update", "audit_checkpoints"},
	} {
		stmt := "DROP TRIGGER IF EXISTS " + tr.name
		if on != "" {
			stmt += on + tr.table
		}
		e.exec(t, stmt)
	}
}

func (e *env) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), s)
			return err
		}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func (e *env) execArgs(t *testing.T, query string, args ...any) {
	t.Helper()
	if err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), query, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := store.Scan(e.db.Reader().QueryRow(context.Background(), query, args...), &n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// chainReport returns the report of one chain, failing if it is absent.
func chainReport(t *testing.T, rep audit.Report, chain string) audit.ChainReport {
	t.Helper()
	for _, c := range rep.Chains {
		if c.Chain == chain {
			return c
		}
	}
	t.Fatalf("report has no chain %s: %+v", chain, rep)
	return audit.ChainReport{}
}

func hasProblem(rep audit.Report, chain string, seq int64, kind audit.ProblemKind) bool {
	for _, p := range rep.Problems() {
		if p.Chain == chain && p.Kind == kind && (seq < 0 || p.Seq == seq) {
			return true
		}
	}
	return false
}
