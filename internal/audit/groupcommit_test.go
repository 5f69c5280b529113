package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// Requests of several organizations share group-commit transactions (the
// API's and SMTP's accepted messages each append to their organization's
// chain), so one transaction holds several chain heads: concurrent
// batches holding the same heads in opposite orders would deadlock on
// PostgreSQL, failing every request in both. None may fail, and a request
// that fails after appending (its savepoint rolled back) leaves no entry.
func TestGroupCommittedAppendsOfSeveralChains(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		log := audit.New(db, audit.Options{})
		c := store.NewCommitter(db, store.CommitterOptions{})
		t.Cleanup(c.Close)
		chains := []string{orgA, orgB, "org_c"}
		const clients, each = 12, 40
		refused := errors.New("the action failed after its audit entry")
		errs := make(chan error, clients)
		var committed atomic.Int64
		var wg sync.WaitGroup
		for w := range clients {
			wg.Go(func() {
				for i := range each {
					en := entry(chains[(w+i)%len(chains)], "message.send", i)
					fail := (w+i)%5 == 0
					err := c.Do(ctx, func(tx *store.Tx) error {
						if err := log.Append(ctx, tx, en); err != nil {
							return err
						}
						if fail {
							return refused
						}
						return nil
					})
					switch {
					case fail && errors.Is(err, refused):
					case err != nil:
						errs <- fmt.Errorf("client %d #%d: %w", w, i, err)
						return
					default:
						committed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var n int64
		if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT count(*) FROM audit_entries`), &n); err != nil {
			t.Fatal(err)
		}
		if n != committed.Load() {
			t.Fatalf("%d audit entries for %d committed requests", n, committed.Load())
		}
		rep, err := log.Verify(ctx, audit.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("chains do not verify: %+v", rep)
		}
	})
}
