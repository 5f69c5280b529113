package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestContactsRebuildKeepsTheRows: migration 0021 rebuilds contacts with
// its organization key deferred; a database with contacts from before it
// keeps every row and column, and the key is still enforced at commit.
func TestContactsRebuildKeepsTheRows(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: filepath.Join(t.TempDir(), "before.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	known, bodies, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	// The schema as it was before 0021, with the migrations recorded as
	// Migrate records them.
	err = db.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
			return err
		}
		for _, m := range known {
			if m.Version >= 21 {
				break
			}
			if _, err := tx.tx.ExecContext(ctx, bodies[m.Version]); err != nil {
				return fmt.Errorf("migration %d: %w", m.Version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, 0)`,
				m.Version, m.Name, m.Checksum); err != nil {
				return err
			}
		}
		if err := InsertOrganization(ctx, tx, OrgRow{ID: "org_1", Name: "One", Status: OrgActive, IdleTimeoutS: 900, SessionLifetimeS: 43200}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contacts (`+contactInsertColumns+`) VALUES
			('org_1', 'con_1', x'0102', 'bounced', 'Europe/Paris', 'fr', '{"plan":"gold"}', x'aa', 'cns_1', 1, 2, 3, 4, 5),
			('org_1', 'con_2', x'0304', 'subscribed', '', '', '{}', x'bb', '', 0, 0, 0, 6, 7)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	later := 0
	for _, m := range known {
		if m.Version >= 21 {
			later++
		}
	}
	if done, err := db.Migrate(ctx); err != nil || len(done) != later || done[0].Version != 21 {
		t.Fatalf("Migrate applied %+v, %v; want 0021 onwards", done, err)
	}
	var got []string
	rows, err := db.Reader().Query(ctx, `SELECT `+contactInsertColumns+` FROM contacts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var org, id, status, tz, locale, attrs, consent string
		var index, phi []byte
		var at, exp, rev, created, updated int64
		if err := rows.Scan(&org, &id, &index, &status, &tz, &locale, &attrs, &phi, &consent, &at, &exp, &rev, &created, &updated); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %x %s %s %s %s %x %s %d %d %d %d %d", org, id, index, status, tz, locale, attrs, phi, consent, at, exp, rev, created, updated))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`org_1 con_1 0102 bounced Europe/Paris fr {"plan":"gold"} aa cns_1 1 2 3 4 5`,
		`org_1 con_2 0304 subscribed   {} bb  0 0 0 6 7`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the rebuild:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	err = db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contacts (org_id, id, email_index, status, phi, created_at, updated_at) VALUES ('org_none', 'con_3', x'05', 'subscribed', x'cc', 0, 0)`)
		return err
	})
	if err == nil {
		t.Fatal("a contact of an organization that does not exist was committed")
	}
	var unique int
	if err := db.Reader().QueryRow(ctx, `SELECT count(*) FROM pragma_index_list('contacts') WHERE name = 'contacts_email' AND "unique" = 1`).Scan(&unique); err != nil || unique != 1 {
		t.Fatalf("contacts_email unique index after the rebuild: %d %v", unique, err)
	}
}
