package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workflow"
)

const twoSends = `{"name": "Two sends", "sender": {"address": "care@clinic.example"}, "trigger": {"type": "manual"},
	"steps": [{"id": "first", "type": "send", "template_id": %q}, {"id": "second", "type": "send", "template_id": %q}]}`

// TestExactlyOnceAcrossACrashMidBatch: the engine's transaction dies after
// its sends were written (as a process killed before commit would): no
// message survives and the runs have not moved; the batch runs again and
// every contact gets each message once.
func TestExactlyOnceAcrossACrashMidBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(twoSends, tpl, tpl)
		var ids []string
		for _, addr := range []string{"a@patients.example", "b@patients.example", "c@patients.example"} {
			c := e.contact(addr, contactOpts{})
			ids = append(ids, c)
			e.enrol(wid, c)
		}
		crashes := 1
		e.a.Workflows.SetBeforeCommit(func(int) error {
			if crashes > 0 {
				crashes--
				return errors.New("killed")
			}
			return nil
		})
		if _, err := e.a.Workflows.RunDue(e.ctx); err == nil {
			t.Fatal("the crashed batch reported success")
		}
		if e.sent("") != 0 || e.count(`SELECT count(*) FROM workflow_history`) != 0 {
			t.Fatal("the crashed batch left messages or history behind")
		}
		e.run()
		for _, c := range ids {
			if e.sent(c) != 2 {
				t.Fatalf("contact %s got %d messages, want 2", c, e.sent(c))
			}
		}
	})
}

// TestExactlyOnceWhenCommittedWorkRunsAgain: the same work committed
// twice — the runs put back to where they were before a committed batch,
// as a node that finished a batch but was taken for dead might see them —
// still sends once: the outbox answers the idempotency key of run and
// step with the first message.
func TestExactlyOnceWhenCommittedWorkRunsAgain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(twoSends, tpl, tpl)
		c := e.contact("again@patients.example", contactOpts{})
		run := e.enrol(wid, c)
		e.run()
		if e.sent(c) != 2 {
			t.Fatalf("%d messages after the first run", e.sent(c))
		}
		err := e.a.DB.Tx(e.ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(e.ctx, `UPDATE workflow_runs SET state = 'active', step_id = 'first', due_at = ?, visited = 'first', outcome = '', finished_at = 0
				WHERE id = ?`, store.Micros(e.clock.Now()), run.ID)
			if err != nil {
				return err
			}
			_, err = tx.Exec(e.ctx, `DELETE FROM workflow_history WHERE run_id = ?`, run.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.run()
		if e.sent(c) != 2 {
			t.Fatalf("the replayed run sent again: %d messages", e.sent(c))
		}
		if r := e.runOf(wid, c); r.State != workflow.RunCompleted {
			t.Fatalf("the replayed run: %+v", r)
		}
		if rep := e.report(wid); rep["first"].Sends != 1 || rep["second"].Sends != 1 {
			t.Fatalf("sends counted twice: %+v %+v", rep["first"], rep["second"])
		}
	})
}

// TestExactlyOnceAcrossKill9 runs the engine in a child process that
// SIGKILLs itself inside a batch's transaction, after the sends of that
// batch were written and before the commit; the parent then opens the
// same database and finishes the work. Every contact gets each message
// exactly once.
func TestExactlyOnceAcrossKill9(t *testing.T) {
	if os.Getenv("WORKFLOW_KILL_CHILD") != "" {
		killChild()
		return
	}
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		dir := t.TempDir()
		cfg := func(c *config.Config) { c.Data.Dir = dir }
		var url string
		if d == store.Postgres {
			url = storetest.URL(t, d)
			cfg = func(c *config.Config) { c.Data.Dir, c.Database.URL = dir, url }
		}
		e := setupWith(t, d, cfg)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(twoSends, tpl, tpl)
		var ids []string
		for i := range 30 {
			c := e.contact("k"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@patients.example", contactOpts{})
			ids = append(ids, c)
			e.enrol(wid, c)
		}
		// The first batch (10 contacts) commits; the second is killed.
		cmd := exec.Command(os.Args[0], "-test.run=^TestExactlyOnceAcrossKill9$")
		cmd.Env = append(os.Environ(), "WORKFLOW_KILL_CHILD=1", "WORKFLOW_KILL_DIR="+dir, "WORKFLOW_KILL_URL="+url,
			"WORKFLOW_KILL_AT="+e.clock.Now().Format("2006-01-02T15:04:05Z07:00"))
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the child was not killed: %v\n%s", err, out)
		}
		if got := e.sent(""); got != 20 {
			t.Fatalf("after the kill %d messages are committed, want the first batch's 20", got)
		}
		// On PostgreSQL the killed child's transaction holds the rows it
		// claimed (FOR UPDATE SKIP LOCKED) until the server notices the
		// connection is gone; until then the engine skips them, as it
		// would for a live node, and runs them on a later pass.
		for deadline := time.Now().Add(30 * time.Second); e.sent("") < 2*len(ids) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			e.run()
		}
		for _, c := range ids {
			if e.sent(c) != 2 {
				t.Fatalf("contact %s got %d messages, want 2", c, e.sent(c))
			}
		}
	})
}

// killChild opens the parent's database, runs the engine in batches of 10
// and kills itself with SIGKILL inside the second batch's transaction.
func killChild() {
	dir, url := os.Getenv("WORKFLOW_KILL_DIR"), os.Getenv("WORKFLOW_KILL_URL")
	cfg := config.Defaults()
	cfg.Data.Dir, cfg.Database.URL, cfg.Demo.Enabled = dir, url, true
	cfg.Resolve()
	at, _ := time.Parse(time.RFC3339, os.Getenv("WORKFLOW_KILL_AT"))
	ctx := context.Background()
	batches := 0
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{Clock: func() time.Time { return at }})
	if err != nil {
		os.Stderr.WriteString("open: " + err.Error())
		os.Exit(2)
	}
	a.Workflows.SetBatch(10)
	a.Workflows.SetBeforeCommit(func(int) error {
		batches++
		if batches == 2 {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	})
	_, err = a.Workflows.RunDue(ctx)
	os.Stderr.WriteString("the engine finished without being killed: " + errString(err))
	os.Exit(3)
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// TestTwoNodesShareTheWorkOnce: two nodes on one PostgreSQL database run
// the engine at once. The first node holds its first batch open until the
// second has claimed a batch too — which it can only do by skipping the
// rows the first holds (FOR UPDATE SKIP LOCKED) — or has finished. Both
// take part; every contact gets each message once and passes each step
// once. (The second node's batch then waits at its flush for the first's
// commit: both add to the same step counters.)
func TestTwoNodesShareTheWorkOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		if d != store.Postgres {
			t.Skip("several nodes share a PostgreSQL database; SQLite has one node")
		}
		e := setup(t, d)
		tpl := e.template("Hello", "Hello", `<p>Hi</p>`)
		wid := e.workflow(twoSends, tpl, tpl)
		var ids []string
		for i := range 40 {
			c := e.contact(fmt.Sprintf("p%02d@patients.example", i), contactOpts{})
			ids = append(ids, c)
			e.enrol(wid, c)
		}
		const batch = 10
		other := e.node()
		e.a.Workflows.SetBatch(batch)
		other.Workflows.SetBatch(batch)
		// locked counts the due runs some node holds, from outside both.
		locked := func() int {
			tx, err := e.a.DB.SQL().BeginTx(e.ctx, nil)
			if err != nil {
				t.Error(err)
				return 0
			}
			defer tx.Rollback()
			var due, free int
			if err := tx.QueryRowContext(e.ctx, `SELECT count(*) FROM workflow_runs WHERE org_id = $1 AND due_at > 0`, e.org).Scan(&due); err != nil {
				t.Error(err)
			}
			if err := tx.QueryRowContext(e.ctx, `SELECT count(*) FROM (SELECT 1 FROM workflow_runs WHERE org_id = $1 AND due_at > 0 FOR UPDATE SKIP LOCKED) f`, e.org).Scan(&free); err != nil {
				t.Error(err)
			}
			return due - free
		}
		otherDone := make(chan struct{})
		first, sawOther := true, false
		e.a.Workflows.SetBeforeCommit(func(int) error {
			if !first {
				return nil
			}
			first = false
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				select {
				case <-otherDone:
					return nil
				default:
				}
				if locked() >= 2*batch {
					sawOther = true
					return nil
				}
			}
			return errors.New("the other node neither claimed nor finished while this one held its batch")
		})
		var wg sync.WaitGroup
		steps := make([]int, 2)
		errs := make([]error, 2)
		wg.Go(func() { steps[0], errs[0] = e.a.Workflows.RunDue(e.ctx) })
		wg.Go(func() {
			defer close(otherDone)
			steps[1], errs[1] = other.Workflows.RunDue(e.ctx)
		})
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		e.run() // whatever a node left due when its loop ended
		if steps[0] == 0 || steps[1] == 0 {
			t.Fatalf("steps per node %v: both should have worked", steps)
		}
		t.Logf("steps per node %v; the second claimed while the first held its batch: %v", steps, sawOther)
		for _, c := range ids {
			if got := e.sent(c); got != 2 {
				t.Fatalf("contact %s got %d messages, want 2", c, got)
			}
		}
		if dup := e.count(`SELECT count(*) FROM (SELECT run_id, step_id FROM workflow_history GROUP BY run_id, step_id HAVING count(*) > 1) d`); dup != 0 {
			t.Fatalf("%d runs passed a step twice", dup)
		}
		if got := e.count(`SELECT count(*) FROM workflow_history`); got != 2*len(ids) {
			t.Fatalf("%d history rows, want %d", got, 2*len(ids))
		}
	})
}
