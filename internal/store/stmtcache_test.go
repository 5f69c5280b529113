package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// Statements first seen in a transaction are prepared after its commit and
// reused by later transactions and by the read pool, with the same results
// as unprepared ones; rolled-back writes stay rolled back; the cache stays
// bounded.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: "sqlite://" + filepath.Join(t.TempDir(), "c.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const ins = `INSERT INTO kv (k, v) VALUES (?, ?)`
	for i := range 3 {
		if err := db.Tx(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, ins, fmt.Sprint("k", i), i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if db.stmts.lookup(ins) == nil {
		t.Fatal("the insert was not prepared after its first commit")
	}
	// A failing transaction through the cached statement leaves nothing.
	if err := db.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, ins, "gone", 9); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	}); err == nil {
		t.Fatal("want the error back")
	}
	var n, sum int
	for range 2 { // the read pool prepares on first use, then reuses
		if err := db.Reader().QueryRow(ctx, `SELECT count(*), sum(v) FROM kv`).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != 3 || sum != 3 {
			t.Fatalf("read %d rows summing %d, want 3 and 3", n, sum)
		}
	}
	// Distinct texts beyond the bound run unprepared and still work.
	for i := range maxCachedStatements + 20 {
		q := fmt.Sprintf(`SELECT v + %d FROM kv WHERE k = ?`, i)
		var v int
		if err := db.Tx(ctx, func(tx *Tx) error { return tx.QueryRow(ctx, q, "k2").Scan(&v) }); err != nil {
			t.Fatal(err)
		}
		if v != 2+i {
			t.Fatalf("query %d gave %d", i, v)
		}
	}
	db.stmts.mu.Lock()
	size := len(db.stmts.stmts) + len(db.stmts.pending)
	db.stmts.mu.Unlock()
	if size > maxCachedStatements {
		t.Fatalf("cache holds %d statements, bound %d", size, maxCachedStatements)
	}
}
