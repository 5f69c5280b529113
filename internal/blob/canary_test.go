package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestPHICanaryNeverReachesDisk stores content carrying a unique PHI-like
// canary and reads the database's own files from disk: the canary must be
// nowhere, while the blob's plaintext kind (also unique to this run) must
// be found, proving the scan sees the data.
func TestPHICanaryNeverReachesDisk(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := context.Background()
		canary := newCanary(t)
		kind := "canary_" + randomHex(t, 6)
		// One small blob stored inline, one large enough to leave the row
		// (SQLite overflow pages, PostgreSQL TOAST).
		small := []byte("Patient Jane Roe, " + canary + ", presents with chest pain.")
		large := []byte(canary + strings.Repeat(" filler "+canary, 400))
		var before string
		if d == store.Postgres {
			before = walInsertLSN(t, e.db)
		}
		e.put(t, "org_canary", "small", kind, small)
		e.put(t, "org_canary", "large", kind, large)
		for _, id := range []string{"small", "large"} {
			if _, err := e.bs.Get(ctx, e.db.Reader(), "org_canary", id); err != nil {
				t.Fatal(err)
			}
		}

		var files map[string][]byte
		if d == store.SQLite {
			files = sqliteFiles(t, e.db)
		} else {
			files = postgresFiles(t, e.db, before)
		}
		// bytea renders as hex in text output: look for that form too.
		forms := []string{canary, hex.EncodeToString([]byte(canary))}
		seen := false
		for name, b := range files {
			for _, f := range forms {
				if bytes.Contains(b, []byte(f)) {
					t.Errorf("canary (as %.12q…) found in %s", f, name)
				}
			}
			if bytes.Contains(b, []byte(kind)) {
				seen = true
			}
		}
		if !seen {
			t.Fatalf("the plaintext kind %q is in none of %d files: the scan does not see the data", kind, len(files))
		}
	})
}

// newCanary is an SSN- and MRN-shaped string no other test writes.
func newCanary(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("SSN 078-05-%04d MRN-%s", n, randomHex(t, 5))
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// sqliteFiles reads the database file and its WAL and shared-memory files.
func sqliteFiles(t *testing.T, db *store.DB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		name := db.Path() + suffix
		b, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func walInsertLSN(t *testing.T, db *store.DB) string {
	t.Helper()
	var lsn string
	if err := store.Scan(db.Reader().QueryRow(context.Background(), `SELECT pg_current_wal_insert_lsn()::text`), &lsn); err != nil {
		t.Fatal(err)
	}
	return lsn
}

// postgresFiles checkpoints, then reads through the server (the test role
// is a superuser) the blobs heap file, its TOAST relation, the WAL segments
// written since walFrom, and the rows rendered as text.
func postgresFiles(t *testing.T, db *store.DB, walFrom string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	q := db.Reader()
	if _, err := q.Exec(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	read := func(label, query string, args ...any) {
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		defer rows.Close()
		i := 0
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			out[fmt.Sprintf("%s #%d", label, i)] = b
			i++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if i == 0 && label != "toast" {
			t.Fatalf("%s: nothing read", label)
		}
	}
	read("heap", `SELECT pg_read_binary_file(pg_relation_filepath('blobs'))`)
	read("toast", `SELECT pg_read_binary_file(pg_relation_filepath(reltoastrelid)) FROM pg_class WHERE oid = 'blobs'::regclass AND reltoastrelid <> 0`)
	read("wal", `SELECT pg_read_binary_file('pg_wal/' || name) FROM pg_ls_waldir()
		WHERE length(name) = 24 AND name >= pg_walfile_name(?::pg_lsn) AND name <= pg_walfile_name(pg_current_wal_insert_lsn()) ORDER BY name`, walFrom)
	read("rows as text", `SELECT convert_to(t::text, 'UTF8') FROM blobs t`)
	return out
}
