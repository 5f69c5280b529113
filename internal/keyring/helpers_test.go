package keyring_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// node is one carepost node's keyring over a test database.
type node struct {
	db *store.DB
	ks *keyring.Keyset
	kr *keyring.Keyring
}

func setup(t testing.TB, d store.Driver) node {
	t.Helper()
	db := storetest.Open(t, d)
	ks := newKeyset(t)
	return node{db: db, ks: ks, kr: keyring.New(db, ks, keyring.Options{})}
}

func newKeyset(t testing.TB) *keyring.Keyset {
	t.Helper()
	ks, err := keyring.GenerateKeyset()
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// seal seals plaintext in a transaction of its own and commits it.
func (n node) seal(t testing.TB, aad keyring.AAD, plaintext []byte) ([]byte, int) {
	t.Helper()
	var ct []byte
	var v int
	err := n.db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		ct, v, err = n.kr.Seal(context.Background(), tx, aad, plaintext)
		return err
	})
	if err != nil {
		t.Fatalf("seal %v: %v", aad, err)
	}
	return ct, v
}

func (n node) tx(t testing.TB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := n.db.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// headerVersion reads the data-key version a ciphertext names.
func headerVersion(ct []byte) int { return int(binary.BigEndian.Uint32(ct[1:5])) }

// notes is a domain table with two sealed columns, body nullable.
var notes = store.SealedTable{
	Table: "notes", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version",
	Columns: []string{"subject", "body"},
}

func createNotes(t testing.TB, n node) {
	t.Helper()
	blob := "BLOB"
	if n.db.Driver() == store.Postgres {
		blob = "BYTEA"
	}
	n.tx(t, func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), `CREATE TABLE notes (org_id TEXT NOT NULL, id TEXT NOT NULL,
			dek_version INTEGER NOT NULL, subject `+blob+` NOT NULL, body `+blob+`,
			PRIMARY KEY (org_id, id))`)
		return err
	})
	n.kr.Register(notes)
}

// putNote seals and inserts a note the way a domain package would: both
// columns in one transaction with the version Seal returned. A nil body is
// stored as NULL.
func putNote(t testing.TB, n node, org, id, subject string, body []byte) {
	t.Helper()
	ctx := context.Background()
	n.tx(t, func(tx *store.Tx) error {
		s, v, err := n.kr.Seal(ctx, tx, keyring.AAD{Scope: org, Table: "notes", Column: "subject", RowID: id}, []byte(subject))
		if err != nil {
			return err
		}
		var b any
		if body != nil {
			sb, v2, err := n.kr.Seal(ctx, tx, keyring.AAD{Scope: org, Table: "notes", Column: "body", RowID: id}, body)
			if err != nil {
				return err
			}
			if v2 != v {
				t.Errorf("two seals in one transaction used versions %d and %d", v, v2)
			}
			b = sb
		}
		_, err = tx.Exec(ctx, `INSERT INTO notes VALUES (?, ?, ?, ?, ?)`, org, id, v, s, b)
		return err
	})
}

// readNote opens a note's columns and returns them with its dek_version.
func readNote(t testing.TB, n node, org, id string) (subject string, body []byte, version int) {
	t.Helper()
	ctx := context.Background()
	var s, b []byte
	if err := store.Scan(n.db.Reader().QueryRow(ctx, `SELECT subject, body, dek_version FROM notes WHERE org_id = ? AND id = ?`, org, id), &s, &b, &version); err != nil {
		t.Fatalf("read note %s/%s: %v", org, id, err)
	}
	if headerVersion(s) != version {
		t.Errorf("note %s/%s: subject sealed with v%d but dek_version is %d", org, id, headerVersion(s), version)
	}
	ps, err := n.kr.Open(ctx, n.db.Reader(), keyring.AAD{Scope: org, Table: "notes", Column: "subject", RowID: id}, s)
	if err != nil {
		t.Fatalf("open note %s/%s subject: %v", org, id, err)
	}
	if b != nil {
		if headerVersion(b) != version {
			t.Errorf("note %s/%s: body sealed with v%d but dek_version is %d", org, id, headerVersion(b), version)
		}
		if body, err = n.kr.Open(ctx, n.db.Reader(), keyring.AAD{Scope: org, Table: "notes", Column: "body", RowID: id}, b); err != nil {
			t.Fatalf("open note %s/%s body: %v", org, id, err)
		}
	}
	return string(ps), body, version
}
