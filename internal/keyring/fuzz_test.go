package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// FuzzOpen feeds arbitrary bytes to Open as a ciphertext. It must never
// panic, every failure must be ErrDecrypt, and the only input that opens is
// the one genuine ciphertext (anything else would be a forgery). The seed
// corpus in testdata/fuzz/FuzzOpen covers the header's edge cases.
func FuzzOpen(f *testing.F) {
	n := setup(f, store.SQLite)
	ctx := context.Background()
	plaintext := []byte("fuzz plaintext")
	genuine, _ := n.seal(f, noteAAD, plaintext)
	f.Add(genuine)
	f.Add(genuine[:len(genuine)-1])
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := n.kr.Open(ctx, n.db.Reader(), noteAAD, ct)
		if err != nil {
			if !errors.Is(err, keyring.ErrDecrypt) {
				t.Fatalf("failure is not ErrDecrypt: %v", err)
			}
			return
		}
		if !bytes.Equal(ct, genuine) || !bytes.Equal(pt, plaintext) {
			t.Fatalf("a ciphertext other than the genuine one opened: %x", ct)
		}
	})
}
