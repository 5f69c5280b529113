package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestSealedTableValidate(t *testing.T) {
	t.Parallel()
	ok := store.BlobsTable()
	with := func(f func(*store.SealedTable)) store.SealedTable {
		st := ok
		st.Columns = append([]string(nil), ok.Columns...)
		f(&st)
		return st
	}
	cases := []struct {
		name  string
		table store.SealedTable
		valid bool
	}{
		{"blobs", ok, true},
		{"two columns", with(func(s *store.SealedTable) { s.Columns = []string{"a", "b_2"} }), true},
		{"injection in table", with(func(s *store.SealedTable) { s.Table = "blobs; DROP TABLE blobs" }), false},
		{"injection in column", with(func(s *store.SealedTable) { s.Columns = []string{"content, kind"} }), false},
		{"quoted", with(func(s *store.SealedTable) { s.IDColumn = `"id"` }), false},
		{"upper case", with(func(s *store.SealedTable) { s.ScopeColumn = "Scope" }), false},
		{"leading digit", with(func(s *store.SealedTable) { s.VersionColumn = "1v" }), false},
		{"empty", with(func(s *store.SealedTable) { s.IDColumn = "" }), false},
		{"too long", with(func(s *store.SealedTable) { s.Table = strings.Repeat("a", 64) }), false},
		{"no columns", with(func(s *store.SealedTable) { s.Columns = nil }), false},
		{"column twice", with(func(s *store.SealedTable) { s.Columns = []string{"a", "a"} }), false},
		{"sealed column is the id", with(func(s *store.SealedTable) { s.Columns = []string{"id"} }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.table.Validate(); (err == nil) != c.valid {
				t.Fatalf("Validate() = %v, want valid=%v", err, c.valid)
			}
		})
	}
}

// notesTable is a table with two sealed columns, one nullable, as another
// domain package would declare it.
var notesTable = store.SealedTable{
	Table: "notes", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version",
	Columns: []string{"subject", "body"},
}

func createNotes(t *testing.T, db *store.DB) {
	t.Helper()
	blob := "BLOB"
	if db.Driver() == store.Postgres {
		blob = "BYTEA"
	}
	ctx := context.Background()
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE notes (org_id TEXT NOT NULL, id TEXT NOT NULL, dek_version INTEGER NOT NULL,
			subject `+blob+` NOT NULL, body `+blob+`, PRIMARY KEY (org_id, id))`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSealedRowsCountSelectUpdate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		createNotes(t, db)
		rows := []struct {
			org, id string
			v       int
			body    []byte
		}{
			{"org_a", "n1", 1, []byte("b1")},
			{"org_a", "n2", 1, nil},
			{"org_a", "n3", 2, []byte("b3")},
			{"org_b", "n4", 1, []byte("b4")},
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, r := range rows {
				var body any
				if r.body != nil {
					body = r.body
				}
				if _, err := tx.Exec(ctx, `INSERT INTO notes VALUES (?, ?, ?, ?, ?)`, r.org, r.id, r.v, []byte("s-"+r.id), body); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		counts, err := store.CountSealedByVersion(ctx, db.Reader(), notesTable, "org_a")
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 2 || counts[1] != 2 || counts[2] != 1 {
			t.Fatalf("org_a counts = %v, want map[1:2 2:1]", counts)
		}
		all, err := store.CountSealed(ctx, db.Reader(), notesTable)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.SealedCount{{"org_a", 1, 2}, {"org_a", 2, 1}, {"org_b", 1, 1}}
		if len(all) != len(want) {
			t.Fatalf("all counts = %v, want %v", all, want)
		}
		for i := range want {
			if all[i] != want[i] {
				t.Fatalf("all counts = %v, want %v", all, want)
			}
		}

		err = db.Tx(ctx, func(tx *store.Tx) error {
			below, err := store.SealedRowsBelow(ctx, tx, notesTable, "org_a", 2, 10)
			if err != nil {
				return err
			}
			if len(below) != 2 || below[0].ID != "n1" || below[1].ID != "n2" {
				t.Fatalf("rows below 2 = %+v, want n1, n2", below)
			}
			if !bytes.Equal(below[0].Values[0], []byte("s-n1")) || !bytes.Equal(below[0].Values[1], []byte("b1")) || below[1].Values[1] != nil {
				t.Fatalf("row values = %q / %q, want subject, body and a nil body", below[0].Values, below[1].Values)
			}
			if one, err := store.SealedRowsBelow(ctx, tx, notesTable, "org_a", 2, 1); err != nil || len(one) != 1 {
				t.Fatalf("limit 1 gave %d rows, %v", len(one), err)
			}
			ok, err := store.UpdateSealedRow(ctx, tx, notesTable, "org_a", "n2", 1, 2, [][]byte{[]byte("new"), nil})
			if err != nil || !ok {
				t.Fatalf("update n2 = %v, %v; want true", ok, err)
			}
			// Stale: n2 is no longer at version 1.
			if ok, err := store.UpdateSealedRow(ctx, tx, notesTable, "org_a", "n2", 1, 3, [][]byte{[]byte("x"), nil}); err != nil || ok {
				t.Fatalf("stale update = %v, %v; want false", ok, err)
			}
			// Another scope's row is not touched.
			if ok, err := store.UpdateSealedRow(ctx, tx, notesTable, "org_a", "n4", 1, 2, [][]byte{[]byte("x"), nil}); err != nil || ok {
				t.Fatalf("cross-scope update = %v, %v; want false", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var subject []byte
		var bodyNull bool
		var v int
		if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT subject, body IS NULL, dek_version FROM notes WHERE id = 'n2'`), &subject, &bodyNull, &v); err != nil {
			t.Fatal(err)
		}
		if string(subject) != "new" || !bodyNull || v != 2 {
			t.Fatalf("n2 after update = %q, body null %v, v%d; want new, true, v2", subject, bodyNull, v)
		}
		if _, err := store.CountSealed(ctx, db.Reader(), store.SealedTable{Table: "notes; --", ScopeColumn: "a", IDColumn: "b", VersionColumn: "c", Columns: []string{"d"}}); err == nil {
			t.Fatal("an invalid descriptor reached SQL")
		}
	})
}
