// Package storetest gives tests a fresh, migrated database on every driver.
//
// SQLite databases live in t.TempDir(). PostgreSQL tests run when
// CAREPOST_TEST_POSTGRES_URL names a server; each test gets its own schema,
// dropped when the test ends, so tests run in parallel without seeing each
// other. Without the variable the PostgreSQL subtests are skipped, and the
// package says so once on standard error.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for schema set-up

	"github.com/carepost/carepost/internal/store"
)

// PostgresEnv names the variable holding the PostgreSQL server URL.
const PostgresEnv = "CAREPOST_TEST_POSTGRES_URL"

var skipNotice sync.Once

// Drivers lists the drivers this run covers: SQLite always, PostgreSQL when
// PostgresEnv is set.
func Drivers() []store.Driver {
	if os.Getenv(PostgresEnv) != "" {
		return []store.Driver{store.SQLite, store.Postgres}
	}
	skipNotice.Do(func() {
		fmt.Fprintf(os.Stderr, "storetest: %s is not set: PostgreSQL tests are SKIPPED (SQLite only)\n", PostgresEnv)
	})
	return []store.Driver{store.SQLite}
}

// Each runs fn as a parallel subtest per driver, named after it.
func Each(t *testing.T, fn func(t *testing.T, d store.Driver)) {
	t.Helper()
	for _, d := range []store.Driver{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			if d == store.Postgres && os.Getenv(PostgresEnv) == "" {
				Drivers() // prints the notice once
				t.Skipf("%s not set", PostgresEnv)
			}
			fn(t, d)
		})
	}
}

// Default is the driver for tests that exercise one database only: the
// value of CAREPOST_TEST_DRIVER, else SQLite.
func Default() store.Driver {
	if os.Getenv("CAREPOST_TEST_DRIVER") == string(store.Postgres) && os.Getenv(PostgresEnv) != "" {
		return store.Postgres
	}
	return store.SQLite
}

// URL returns the URL of a new, empty database for driver d, removed when
// the test ends.
func URL(t testing.TB, d store.Driver) string {
	t.Helper()
	if d == store.SQLite {
		return filepath.Join(t.TempDir(), "carepost.db")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s not set", PostgresEnv)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store on a new database for driver d, closed when
// the test ends.
func Open(t testing.TB, d store.Driver) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{URL: URL(t, d)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
