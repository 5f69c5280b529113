package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// Two nodes (two store.DB handles on one database) appending to the same
// chains at once must produce one gap-free chain per organization.
func TestConcurrentAppendsFromTwoNodesYieldOneChain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		url := storetest.URL(t, d)
		var nodes []*audit.Log
		var dbs []*store.DB
		for range 2 {
			db, err := store.Open(ctx, store.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			dbs = append(dbs, db)
			nodes = append(nodes, audit.New(db, audit.Options{Signer: newSigner(t)}))
		}
		const workers, each = 6, 15
		chains := []string{orgA, orgB}
		var wg sync.WaitGroup
		errs := make(chan error, len(nodes)*workers)
		for n, node := range nodes {
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						// Alternate Record and Append-in-a-caller-tx.
						en := entry(chains[(w+i)%2], "message.send", i)
						var err error
						if i%2 == 0 {
							_, err = node.Record(ctx, en)
						} else {
							err = dbs[n].Tx(ctx, func(tx *store.Tx) error {
								return node.Append(ctx, tx, en)
							})
						}
						if err != nil {
							errs <- fmt.Errorf("node %d worker %d #%d: %w", n, w, i, err)
							return
						}
					}
				})
			}
		}
		// Checkpoints race with the appends too.
		wg.Go(func() {
			for range 5 {
				if _, err := nodes[0].Checkpoint(ctx); err != nil {
					errs <- fmt.Errorf("checkpoint: %w", err)
					return
				}
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Both signers are trusted by a verifier that knows both keys.
		verifier := audit.New(dbs[1], audit.Options{})
		rep, err := verifier.Verify(ctx, audit.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("concurrent appends broke the chain: %v", rep.Problems())
		}
		var total int64
		for _, c := range rep.Chains {
			if c.FirstSeq != 1 || c.LastSeq != c.Entries {
				t.Errorf("%s: seqs %d..%d for %d entries: not gap-free", c.Chain, c.FirstSeq, c.LastSeq, c.Entries)
			}
			total += c.Entries
		}
		if want := int64(len(nodes) * workers * each); total != want {
			t.Fatalf("%d entries, want %d", total, want)
		}
	})
}
