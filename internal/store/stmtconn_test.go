package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// writerStatements reports how many statements the writer connection has
// prepared for its cache and how many it keeps.
func writerStatements(t *testing.T, db *DB) (prepared, kept int) {
	t.Helper()
	conn, err := db.write.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error {
		c := dc.(*cachedConn)
		prepared, kept = c.prepares, len(c.stmts)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return prepared, kept
}

// TestConnectionsKeepStatements: a text run again on a connection reuses
// its statement, including texts run on the pool directly as the job
// engine does; the same query inside a loop over its own rows gets a
// statement of its own and both read right; scripts of several statements
// run and are not kept; the connection keeps at most maxConnStatements.
func TestConnectionsKeepStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: "sqlite://" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE n (i INTEGER PRIMARY KEY); INSERT INTO n VALUES (1), (2), (3);`); err != nil {
		t.Fatal(err)
	}
	before, _ := writerStatements(t, db)
	const q = `SELECT i FROM n WHERE i >= ? ORDER BY i`
	sum := func(rows *sql.Rows) (s int) {
		for rows.Next() {
			var i int
			if err := rows.Scan(&i); err != nil {
				t.Fatal(err)
			}
			s += i
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for range 50 {
		rows, err := db.write.QueryContext(ctx, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		if s := sum(rows); s != 5 {
			t.Fatalf("sum %d, want 5", s)
		}
		rows.Close()
		if _, err := db.write.ExecContext(ctx, `UPDATE n SET i = i WHERE i = ?`, 1); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := writerStatements(t, db); after-before != 2 {
		t.Fatalf("%d statements prepared for 100 runs of 2 texts, want 2", after-before)
	}

	// The same text while its rows are open, on one connection.
	nested := func() {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		outer, err := conn.QueryContext(ctx, q, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer outer.Close()
		total := 0
		for outer.Next() {
			var i int
			if err := outer.Scan(&i); err != nil {
				t.Fatal(err)
			}
			inner, err := conn.QueryContext(ctx, q, i)
			if err != nil {
				t.Fatal(err)
			}
			total += sum(inner)
			inner.Close()
		}
		if total != 6+5+3 {
			t.Fatalf("nested sums %d, want 14", total)
		}
	}
	nested()

	// A transaction rolled back through a kept statement leaves nothing,
	// and the next one through it commits.
	const ins = `INSERT INTO n (i) VALUES (?)`
	for _, c := range []struct {
		i    int
		fail bool
	}{{10, false}, {11, true}, {12, false}} {
		err := db.Tx(ctx, func(tx *Tx) error {
			if _, err := tx.Exec(ctx, ins, c.i); err != nil {
				return err
			}
			if c.fail {
				return fmt.Errorf("roll back")
			}
			return nil
		})
		if (err != nil) != c.fail {
			t.Fatalf("insert %d: %v", c.i, err)
		}
	}
	var got int
	if err := db.Reader().QueryRow(ctx, `SELECT coalesce(sum(i), 0) FROM n WHERE i >= 10`).Scan(&got); err != nil || got != 22 {
		t.Fatalf("committed inserts sum to %d, %v; want 22", got, err)
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM n WHERE i >= 10`); err != nil {
		t.Fatal(err)
	}

	// Many texts: the connection stays bounded and every answer right.
	for i := range maxConnStatements + 50 {
		var got int
		if err := db.write.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + ?`, i), 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("SELECT %d + 1 = %d, %v", i, got, err)
		}
	}
	if _, kept := writerStatements(t, db); kept > maxConnStatements {
		t.Fatalf("%d statements kept", kept)
	}
	var count int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM n`).Scan(&count); err != nil || count != 3 {
		t.Fatalf("count %d, %v", count, err)
	}
}
