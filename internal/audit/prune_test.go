package audit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const orgC = "org_c"

var (
	longAgo = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	recent  = time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	today   = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

// seedOld writes org_a: 1..5 (checkpoint), 6..8 (checkpoint) in 2010 and
// 9..10 (checkpoint) in 2020; org_b: 1..3 in 2010 with no checkpoint;
// org_c: 1..2 in 2010, checkpointed at its head. The database's retention
// trigger measures from the real time, so 2010 rows are deletable there.
func seedOld(t *testing.T, e *env) {
	t.Helper()
	e.clock.Set(longAgo)
	e.record(t, orgA, 5)
	e.record(t, orgC, 2)
	e.checkpoint(t)
	e.record(t, orgA, 3)
	e.checkpoint(t)
	e.record(t, orgB, 3)
	e.clock.Set(recent)
	e.record(t, orgA, 2)
	e.checkpoint(t)
	e.clock.Set(today)
}

func TestPruneKeepsTheLogVerifiable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		seedOld(t, e)
		audit.SetPruneBatch(e.log, 3) // org_a in two transactions
		before := today.Add(-audit.MinRetention)
		n, err := e.log.Prune(t.Context(), before, audit.MinRetention)
		if err != nil {
			t.Fatal(err)
		}
		if n != 10 {
			t.Fatalf("pruned %d entries, want 10 (org_a 1..8, org_c 1..2)", n)
		}
		rep := e.verify(t, audit.VerifyOptions{})
		if !rep.OK() {
			t.Fatalf("after prune: %v", rep.Problems())
		}
		if a := chainReport(t, rep, orgA); a.FirstSeq != 9 || a.LastSeq != 10 || a.Entries != 2 {
			t.Fatalf("org_a after prune: %+v, want 9..10", a)
		}
		if b := chainReport(t, rep, orgB); b.FirstSeq != 1 || b.Entries != 3 {
			t.Fatalf("org_b has no checkpoint and must be kept whole: %+v", b)
		}
		if c := chainReport(t, rep, orgC); c.Entries != 0 || c.Checkpoints != 1 {
			t.Fatalf("org_c, pruned to its head: %+v", c)
		}
		if got := e.count(t, `SELECT count(*) FROM audit_entries WHERE chain = 'system' AND action = 'audit.prune'`); got != 3 {
			t.Fatalf("%d audit.prune entries, want 3 (org_a twice, org_c once)", got)
		}
		if again, err := e.log.Prune(t.Context(), before, audit.MinRetention); err != nil || again != 0 {
			t.Fatalf("second prune: %d, %v; want 0", again, err)
		}
		// Appends continue on the pruned chains.
		e.record(t, orgC, 1)
		if rep := e.verify(t, audit.VerifyOptions{}); !rep.OK() {
			t.Fatalf("append after prune: %v", rep.Problems())
		}
	})
}

func TestPruneRefusesTheRetention(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	seedOld(t, e)
	cases := []struct {
		name      string
		before    time.Time
		retention time.Duration
	}{
		{"retention under six years", today.AddDate(-7, 0, 0), 5 * 365 * 24 * time.Hour},
		{"before inside the retention", today.AddDate(-1, 0, 0), audit.MinRetention},
		{"before inside a longer retention", today.AddDate(-8, 0, 0), audit.MinRetention * 2},
	}
	for _, tc := range cases {
		if _, err := e.log.Prune(t.Context(), tc.before, tc.retention); !errors.Is(err, audit.ErrRetention) {
			t.Errorf("%s: got %v, want ErrRetention", tc.name, err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_entries`); n != 15 {
		t.Fatalf("refused prunes deleted entries: %d left, want 15", n)
	}
}

func TestPruneRefusesABrokenChain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		seedOld(t, e)
		e.attack(t, `UPDATE audit_entries SET action = 'auth.logout' WHERE chain = 'org_a' AND seq = 2`)
		_, err := e.log.Prune(t.Context(), today.Add(-audit.MinRetention), audit.MinRetention)
		if !errors.Is(err, audit.ErrChainBroken) {
			t.Fatalf("prune over an edited chain: %v, want ErrChainBroken", err)
		}
		if n := e.count(t, `SELECT count(*) FROM audit_entries WHERE chain = 'org_a'`); n != 10 {
			t.Fatalf("prune deleted the evidence: %d org_a entries left, want 10", n)
		}
	})
}
