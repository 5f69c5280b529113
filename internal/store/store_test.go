package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestMigrateIsIdempotentAndReported(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		again, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if len(again) != 0 {
			t.Fatalf("second migrate applied %d migrations, want 0", len(again))
		}
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 || st[0].Version != 1 || st[0].AppliedAt.IsZero() {
			t.Fatalf("status = %+v, want migration 1 applied", st)
		}
		if n, err := db.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("pending = %d, %v", n, err)
		}
	})
}

func TestFreshDatabaseReportsPending(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, err := store.Open(ctx, store.Options{URL: storetest.URL(t, d)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n, err := db.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("fresh database reports no pending migrations")
		}
	})
}

func TestErrorsAreMappedOnEveryDriver(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		insert := func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, "org_x", "X", 1)
			return err
		}
		if err := db.Tx(ctx, insert); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(ctx, insert)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate insert: got %v, want ErrConflict", err)
		}
		var name string
		err = store.Scan(db.Reader().QueryRow(ctx, `SELECT name FROM organizations WHERE id = ?`, "nope"), &name)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing row: got %v, want ErrNotFound", err)
		}
	})
}

func TestRollbackLeavesNothingAndAfterCommitRunsOnlyOnCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		ran := false
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, "org_r", "R", 1); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		if ran {
			t.Fatal("AfterCommit ran after a rollback")
		}
		var n int
		if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT count(*) FROM organizations`), &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("rolled-back insert left %d rows", n)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !ran {
			t.Fatal("AfterCommit did not run after commit")
		}
	})
}

func TestAuditTriggersRefuseEditAndYoungDelete(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO audit_entries (chain, seq, at, actor_type, actor_id, action, target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash)
				VALUES ('system', 1, ?, 'system', '', 'test', '', '', 'success', '', '', '{}', ?, ?)`, store.Micros(time.Now()), []byte{0}, []byte{1})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE audit_entries SET action = 'x'`)
			return err
		}); err == nil {
			t.Fatal("UPDATE of an audit entry was allowed")
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM audit_entries`)
			return err
		}); err == nil {
			t.Fatal("DELETE of a young audit entry was allowed")
		}
	})
}

// The SQLite connections carry what durability and the hot paths rest on:
// the writer commits with synchronous=FULL in WAL mode, both keep
// statement journals and temporary b-trees in memory (no PHI page in an
// unnamed temporary file), the writer's page cache holds a large
// transaction, and readers cannot write.
func TestSQLiteConnectionSettings(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	pragma := func(q store.Querier, name string) string {
		t.Helper()
		var v string
		if err := store.Scan(q.QueryRow(ctx, "PRAGMA "+name), &v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	err := db.Tx(ctx, func(tx *store.Tx) error {
		for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "temp_store": "2",
			"cache_size": "-16384", "foreign_keys": "1", "wal_autocheckpoint": "10000"} {
			if got := pragma(tx, name); got != want {
				t.Errorf("writer: %s = %s, want %s", name, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"journal_mode": "wal", "temp_store": "2", "query_only": "1"} {
		if got := pragma(db.Reader(), name); got != want {
			t.Errorf("reader: %s = %s, want %s", name, got, want)
		}
	}
}
