package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The checkpointer copies the log into the database file on its own: after
// writes of more pages than SQLite's default checkpoint threshold (which
// the writer no longer acts on below its backstop), it reports a log it
// has copied whole, without any commit doing it.
func TestCheckpointerBackfillsTheLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: filepath.Join(t.TempDir(), "carepost.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	row := strings.Repeat("x", sqlitePageSize-1000) // about a page a row
	for i := range 30 {
		if err := db.Tx(ctx, func(tx *Tx) error {
			for j := range 100 {
				if _, err := tx.Exec(ctx, `INSERT INTO filler (id, v) VALUES (?, ?)`, i*100+j, row); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		log, copied := db.ckpt.logFrames.Load(), db.ckpt.copied.Load()
		if log > 0 && copied == log {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %d frames, %d copied: the checkpointer did not backfill the log", log, copied)
		}
	}
	var n int
	if err := db.Reader().QueryRow(ctx, `SELECT count(*) FROM filler`).Scan(&n); err != nil || n != 3000 {
		t.Fatalf("%d rows read back (%v), want 3000", n, err)
	}
}
