package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// A database carepost creates has its large pages, is in WAL mode and is
// the owner's alone; one that exists already keeps the page size it was
// made with, and its rows.
func TestSQLitePageSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pragma := func(db *DB, name string) string {
		t.Helper()
		var v string
		if err := db.Reader().QueryRow(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	fresh := filepath.Join(t.TempDir(), "carepost.db")
	db, err := Open(ctx, Options{URL: fresh})
	if err != nil {
		t.Fatal(err)
	}
	if got := pragma(db, "page_size"); got != "8192" {
		t.Errorf("new database: page_size %s, want 8192", got)
	}
	if got := pragma(db, "journal_mode"); got != "wal" {
		t.Errorf("new database: journal_mode %s, want wal", got)
	}
	db.Close()
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new database file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}

	old := filepath.Join(t.TempDir(), "carepost.db")
	raw, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size = 4096", "PRAGMA journal_mode = WAL", "CREATE TABLE kept (v TEXT)", "INSERT INTO kept VALUES ('row')"} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()
	db, err = Open(ctx, Options{URL: old})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := pragma(db, "page_size"); got != "4096" {
		t.Errorf("existing database: page_size %s, want the 4096 it was made with", got)
	}
	var v string
	if err := db.Reader().QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "row" {
		t.Errorf("existing database's row: %q, %v", v, err)
	}
}
