package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func insertOrg(ctx context.Context, tx *store.Tx, id string) error {
	_, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, id, "n", 1)
	return err
}

func TestCommitterIsolatesFailuresAndRunsHooksOnlyForCommitted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		c := store.NewCommitter(db, store.CommitterOptions{})
		defer c.Close()
		const n = 300
		var hooks atomic.Int64
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = c.Do(ctx, func(tx *store.Tx) error {
					if err := insertOrg(ctx, tx, fmt.Sprintf("org_%03d", i)); err != nil {
						return err
					}
					tx.AfterCommit(func() { hooks.Add(1) })
					if i%7 == 0 {
						return errors.New("refused")
					}
					// every 11th also collides with a row that already exists
					if i%11 == 0 {
						return insertOrg(ctx, tx, fmt.Sprintf("org_%03d", i))
					}
					return nil
				})
			}(i)
		}
		wg.Wait()
		want := 0
		for i := 0; i < n; i++ {
			fails := i%7 == 0 || i%11 == 0
			if fails != (errs[i] != nil) {
				t.Fatalf("request %d: err=%v, want failure=%v", i, errs[i], fails)
			}
			if i%11 == 0 && i%7 != 0 && !errors.Is(errs[i], store.ErrConflict) {
				t.Fatalf("request %d: %v, want ErrConflict", i, errs[i])
			}
			if !fails {
				want++
			}
		}
		var got int
		if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT count(*) FROM organizations`), &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%d rows committed, want %d (failed requests must leave nothing)", got, want)
		}
		if int(hooks.Load()) != want {
			t.Fatalf("%d AfterCommit hooks ran, want %d", hooks.Load(), want)
		}
	})
}

// One request at a time is a batch of one, which runs without a savepoint:
// its failure must still leave nothing behind and run no hook.
func TestCommitterAloneFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		c := store.NewCommitter(db, store.CommitterOptions{})
		defer c.Close()
		var hooks int
		for i, fail := range []bool{false, true, false, true} {
			err := c.Do(ctx, func(tx *store.Tx) error {
				if err := insertOrg(ctx, tx, fmt.Sprintf("org_%d", i)); err != nil {
					return err
				}
				tx.AfterCommit(func() { hooks++ })
				if fail {
					return insertOrg(ctx, tx, fmt.Sprintf("org_%d", i)) // a conflict after a write
				}
				return nil
			})
			if fail != (err != nil) || (fail && !errors.Is(err, store.ErrConflict)) {
				t.Fatalf("request %d: err=%v, want failure=%v", i, err, fail)
			}
		}
		var ids []string
		rows, err := db.Reader().Query(ctx, `SELECT id FROM organizations ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if fmt.Sprint(ids) != "[org_0 org_2]" || hooks != 2 {
			t.Fatalf("committed %v with %d hooks, want [org_0 org_2] and 2", ids, hooks)
		}
	})
}

func TestCommitterAfterCloseRefuses(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	c := store.NewCommitter(db, store.CommitterOptions{})
	if err := c.Do(context.Background(), func(tx *store.Tx) error { return insertOrg(context.Background(), tx, "org_1") }); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.Do(context.Background(), func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrCommitterClosed) {
		t.Fatalf("Do after Close = %v", err)
	}
}

// BenchmarkSingleRowCommits compares one transaction per row with group
// commit, both from 32 concurrent writers, on SQLite with synchronous=FULL.
func BenchmarkSingleRowCommits(b *testing.B) {
	for _, mode := range []string{"tx-per-row", "group-commit"} {
		b.Run(mode, func(b *testing.B) {
			db := storetest.Open(b, storetest.Default())
			c := store.NewCommitter(db, store.CommitterOptions{})
			defer c.Close()
			var next atomic.Int64
			b.SetParallelism(16) // × GOMAXPROCS writers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					id := fmt.Sprintf("org_%d", next.Add(1))
					fn := func(tx *store.Tx) error { return insertOrg(ctx, tx, id) }
					var err error
					if mode == "tx-per-row" {
						err = db.Tx(ctx, fn)
					} else {
						err = c.Do(ctx, fn)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
