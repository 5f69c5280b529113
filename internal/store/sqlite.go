package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// sqlitePragmas are set on every connection. synchronous=FULL makes a commit
// durable across power loss, which is what "accepted means durable" rests on
// (https://www.sqlite.org/pragma.html#pragma_synchronous). busy_timeout
// covers another process (a CLI command) holding the lock briefly.
// temp_store=MEMORY keeps statement journals (every SAVEPOINT the group
// committer opens per request writes the pages it changes to one) and
// temporary b-trees in memory instead of in temporary files: a file write
// per savepoint was a tenth of the API path's CPU, and no page of a
// message then reaches an unnamed file outside the database
// (https://www.sqlite.org/tempfiles.html#stmtjrnl).
var sqlitePragmas = []string{
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"busy_timeout(10000)",
	"foreign_keys(1)",
	"temp_store(MEMORY)",
}

func sqlitePath(raw string) string {
	p := strings.TrimPrefix(raw, "sqlite://")
	p = strings.TrimPrefix(p, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// BEGIN IMMEDIATE takes the write lock at the start of the
		// transaction, so a transaction never fails half way when it
		// upgrades from reading to writing.
		q.Set("_txlock", "immediate")
		// The writer's page cache holds a large transaction's dirty pages
		// (an import batch, a campaign's fan-out) until commit; at the
		// default 2 MiB it spilled them into the WAL mid-transaction and
		// re-read them. 16 MiB is a ceiling, filled only as pages are
		// used; the process pays about twice that in RSS (a 100k-row
		// import: 15.9k rows/s at 2 MiB, 17.3k at 16, 18.7k at 64, where
		// a 10k campaign's peak RSS went from 122 to 147 and 248 MiB).
		q.Add("_pragma", "cache_size(-16384)")
		// Checkpoints are the checkpointer's (checkpoint.go); the
		// writer's own is a backstop.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutocheckpoint))
	}
	return "file:" + path + "?" + q.Encode()
}

// sqliteCheckpointDSN is the checkpointer's connection: the common
// settings (synchronous=FULL syncs the database file after a checkpoint),
// neither read-only nor the writer.
func sqliteCheckpointDSN(path string) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	return "file:" + path + "?" + q.Encode()
}

// sqlitePageSize is the page size of a database carepost creates. Every
// page a commit changes goes to the log as a frame of its own — two
// writes — and is written again, and synced, when the checkpoint copies
// it, so the number of pages a commit changes is much of what the writer
// pays. Larger pages hold more of what is appended together (a stored
// message of a few KiB shares its page instead of filling one); but a
// write at a random place (a contact's blind email index, one page per
// new contact at a million) carries the whole page. Measured at a million
// contacts: the six-step journey at 4, 8 and 16 KiB ran 19.9k, 22.3k and
// 24.0k steps/s, the CSV import 19.8k, 19.5k and 13.4k rows/s. 8 KiB
// takes most of the one without the cost of the other. A database created
// at another size keeps it: SQLite changes the page size of a WAL database
// only by rebuilding it (https://www.sqlite.org/pragma.html#pragma_page_size).
const sqlitePageSize = 8192

// createSQLite creates the database file at path, if it does not exist
// yet or is empty, with sqlitePageSize pages and in WAL mode; the file is
// the owner's alone from the start. The connection pragmas (sqliteDSN)
// cannot do it: the driver runs them in alphabetical order, and once
// journal_mode has switched to WAL the page size is fixed.
func createSQLite(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("create sqlite %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("create sqlite %s: %w", path, err)
		}
	case err != nil || st.Size() > 0:
		return nil // a database already (or the open that follows says why not)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("create sqlite %s: %w", path, err)
	}
	defer db.Close()
	for _, p := range []string{fmt.Sprintf("PRAGMA page_size = %d", sqlitePageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("create sqlite %s: %s: %w", path, p, mapError(err))
		}
	}
	return nil
}

func openSQLite(ctx context.Context, opts Options) (*DB, error) {
	path := sqlitePath(opts.URL)
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	if err := createSQLite(ctx, path); err != nil {
		return nil, err
	}
	// Both pools' connections keep their prepared statements (stmtconn.go).
	write := sql.OpenDB(newCachingConnector(sqliteDSN(path, false)))
	// One writer connection: see the package documentation.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before readers open it.
	if _, err := write.ExecContext(ctx, "SELECT 1"); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, mapError(err))
	}
	if err := os.Chmod(path, 0o600); err != nil {
		write.Close()
		return nil, fmt.Errorf("restrict database file mode: %w", err)
	}
	read := sql.OpenDB(newCachingConnector(sqliteDSN(path, true)))
	read.SetMaxOpenConns(opts.MaxConns)
	read.SetMaxIdleConns(opts.MaxConns)
	ckpt, err := startCheckpointer(path)
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open sqlite checkpointer %s: %w", path, err)
	}
	return &DB{driver: SQLite, write: write, read: read, path: path, ckpt: ckpt}, nil
}

// insertVerb begins a multi-row INSERT. On SQLite it is INSERT OR FAIL: a
// statement that may write several rows and stop half way on a constraint
// (the default, ABORT) makes SQLite open a statement journal and copy each
// page the statement changes into it first, so the statement alone can be
// undone (https://www.sqlite.org/tempfiles.html#stmtjrnl; a page of the
// random blind email index per new contact). FAIL keeps the rows written
// before the failing one instead, which costs nothing here: a failed
// statement's error fails its request, and its transaction or savepoint is
// rolled back whole. The table's foreign keys must be deferred for this to
// hold (an immediate one needs the journal too; migration 0021).
// PostgreSQL has no statement journal and no OR FAIL.
func insertVerb(q Querier) string {
	if q.Driver() == SQLite {
		return "INSERT OR FAIL"
	}
	return "INSERT"
}
