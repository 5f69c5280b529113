package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

var noteAAD = keyring.AAD{Scope: "org_a", Table: "notes", Column: "body", RowID: "n1"}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		cases := []struct {
			name      string
			aad       keyring.AAD
			plaintext []byte
		}{
			{"empty", noteAAD, []byte{}},
			{"text", noteAAD, []byte("Patient reports chest pain since Tuesday.")},
			{"binary 1 MiB", keyring.AAD{Scope: "org_b", Table: "blobs", Column: "content", RowID: "b1"}, bytes.Repeat([]byte{0, 0xff, 7}, 1<<20/3)},
			{"system scope", keyring.AAD{Scope: keyring.SystemScope, Table: "settings", Column: "value", RowID: "smtp_password"}, []byte("hunter2")},
		}
		for _, c := range cases {
			ct, v := n.seal(t, c.aad, c.plaintext)
			if v != 1 {
				t.Errorf("%s: sealed with version %d, want 1 for a new scope", c.name, v)
			}
			if len(c.plaintext) > 8 && bytes.Contains(ct, c.plaintext[:8]) {
				t.Errorf("%s: ciphertext contains plaintext", c.name)
			}
			if len(ct) != 1+4+12+len(c.plaintext)+16 {
				t.Errorf("%s: ciphertext is %d bytes for %d of plaintext", c.name, len(ct), len(c.plaintext))
			}
			got, err := n.kr.Open(ctx, n.db.Reader(), c.aad, ct)
			if err != nil {
				t.Fatalf("%s: open: %v", c.name, err)
			}
			if !bytes.Equal(got, c.plaintext) {
				t.Fatalf("%s: round trip changed the plaintext", c.name)
			}
			// A fresh node (empty caches) opens it too, inside a transaction.
			other := keyring.New(n.db, n.ks, keyring.Options{})
			n.tx(t, func(tx *store.Tx) error {
				got, err := other.Open(ctx, tx, c.aad, ct)
				if err == nil && !bytes.Equal(got, c.plaintext) {
					err = errors.New("plaintext differs")
				}
				return err
			})
		}
		a, _ := n.seal(t, noteAAD, []byte("same"))
		b, _ := n.seal(t, noteAAD, []byte("same"))
		if bytes.Equal(a, b) {
			t.Fatal("two seals of the same plaintext gave the same ciphertext: nonce reused")
		}
	})
}

func TestFlippedByteFailsToOpen(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		ct, _ := n.seal(t, noteAAD, []byte("Diagnosis: type 2 diabetes"))
		region := func(i int) string {
			switch {
			case i == 0:
				return "format byte"
			case i < 5:
				return "key version"
			case i < 17:
				return "nonce"
			case i < len(ct)-16:
				return "body"
			}
			return "tag"
		}
		for i := range ct {
			for _, bit := range []byte{0x01, 0x80} {
				bad := bytes.Clone(ct)
				bad[i] ^= bit
				if _, err := n.kr.Open(ctx, n.db.Reader(), noteAAD, bad); !errors.Is(err, keyring.ErrDecrypt) {
					t.Fatalf("byte %d (%s) xor %#x: got %v, want ErrDecrypt", i, region(i), bit, err)
				}
			}
		}
		for name, bad := range map[string][]byte{
			"truncated":     ct[:len(ct)-1],
			"extended":      append(bytes.Clone(ct), 0),
			"header only":   ct[:17],
			"empty":         nil,
			"other version": append([]byte{0x02}, ct[1:]...),
		} {
			if _, err := n.kr.Open(ctx, n.db.Reader(), noteAAD, bad); !errors.Is(err, keyring.ErrDecrypt) {
				t.Fatalf("%s: got %v, want ErrDecrypt", name, err)
			}
		}
	})
}

func TestWrongRecordFailsToOpen(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		ct, _ := n.seal(t, noteAAD, []byte("HbA1c 9.1%"))
		n.tx(t, func(tx *store.Tx) error { return n.kr.EnsureScope(ctx, tx, "org_b") })
		with := func(f func(*keyring.AAD)) keyring.AAD { a := noteAAD; f(&a); return a }
		cases := map[string]keyring.AAD{
			"other row":            with(func(a *keyring.AAD) { a.RowID = "n2" }),
			"other column":         with(func(a *keyring.AAD) { a.Column = "subject" }),
			"other table":          with(func(a *keyring.AAD) { a.Table = "messages" }),
			"other scope with key": with(func(a *keyring.AAD) { a.Scope = "org_b" }),
			"other scope, no key":  with(func(a *keyring.AAD) { a.Scope = "org_c" }),
			// Length prefixes: moving a byte between fields is a different record.
			"shifted field boundary": with(func(a *keyring.AAD) { a.Table, a.Column = "notesb", "ody" }),
		}
		for name, aad := range cases {
			if _, err := n.kr.Open(ctx, n.db.Reader(), aad, ct); !errors.Is(err, keyring.ErrDecrypt) {
				t.Errorf("%s: got %v, want ErrDecrypt", name, err)
			}
		}
	})
}

func TestWrongKeyCannotOpen(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		ct, _ := n.seal(t, noteAAD, []byte("positive for strep"))

		stranger := keyring.New(n.db, newKeyset(t), keyring.Options{})
		if _, err := stranger.Open(ctx, n.db.Reader(), noteAAD, ct); !errors.Is(err, keyring.ErrUnknownKEK) {
			t.Fatalf("keyring with another KEK: got %v, want ErrUnknownKEK", err)
		}

		// Another scope's data key: give org_a's row org_b's wrapped key.
		// The wrapping is bound to (scope, version), so it does not unwrap
		// as org_a's, and a fresh node cannot open org_a's record with it.
		n.tx(t, func(tx *store.Tx) error { return n.kr.EnsureScope(ctx, tx, "org_b") })
		n.tx(t, func(tx *store.Tx) error {
			b, err := store.GetDataKey(ctx, tx, "org_b", 1)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE scope = 'org_a' AND version = 1`, b.KEKID, b.Wrapped)
			return err
		})
		fresh := keyring.New(n.db, n.ks, keyring.Options{})
		if _, err := fresh.Open(ctx, n.db.Reader(), noteAAD, ct); !errors.Is(err, keyring.ErrDecrypt) {
			t.Fatalf("another scope's data key: got %v, want ErrDecrypt", err)
		}
	})
}

func TestRolledBackKeyNeverSeals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		boom := errors.New("boom")
		err := n.db.Tx(ctx, func(tx *store.Tx) error {
			if _, _, err := n.kr.Seal(ctx, tx, noteAAD, []byte("x")); err != nil {
				return err
			}
			return boom // version 1 of org_a is rolled back
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		ct, _ := n.seal(t, noteAAD, []byte("after rollback"))
		// Another node must be able to open it: the key that sealed it
		// must be one that committed.
		other := keyring.New(n.db, n.ks, keyring.Options{})
		if _, err := other.Open(ctx, n.db.Reader(), noteAAD, ct); err != nil {
			t.Fatalf("a node with the same KEK cannot open a committed record: %v", err)
		}
	})
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	n := setup(t, storetest.Default())
	ctx := context.Background()
	secret := []byte("SSN 078-05-1120")
	ct, _ := n.seal(t, noteAAD, secret)
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	_, err := n.kr.Open(ctx, n.db.Reader(), noteAAD, bad)
	if err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	msg := err.Error()
	for _, leak := range []string{string(secret), fmt.Sprintf("%x", ct[17:25]), string(ct[17:25])} {
		if strings.Contains(msg, leak) {
			t.Fatalf("error %q contains %q", msg, leak)
		}
	}
}

func TestSealNeedsATransaction(t *testing.T) {
	t.Parallel()
	n := setup(t, storetest.Default())
	n.seal(t, noteAAD, []byte("warms the cache"))
	if _, _, err := n.kr.Seal(context.Background(), nil, noteAAD, []byte("x")); err == nil {
		t.Fatal("Seal without a transaction succeeded")
	}
}
