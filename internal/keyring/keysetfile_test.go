package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/keyring"
)

func TestGenerateKeysetFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kek.keys")
	ks, err := keyring.GenerateKeysetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assertMode0600(t, path)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "KEEP THIS FILE APART FROM THE DATABASE") {
		t.Fatal("generated file has no warning header")
	}
	loaded, err := keyring.LoadKeysetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.PrimaryID() != ks.PrimaryID() {
		t.Fatalf("loaded %v, generated %v", loaded, ks)
	}
	if _, err := keyring.GenerateKeysetFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second generate over the same file: %v, want ErrExist", err)
	}
	if again, err := keyring.LoadKeysetFile(path); err != nil || again.PrimaryID() != ks.PrimaryID() {
		t.Fatal("a refused generate changed the file")
	}
}

func TestLoadKeysetFileRefusesLooseMode(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits")
	}
	ks := newKeyset(t)
	cases := []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o644, false}, {0o640, false}, {0o604, false}, {0o660, false},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "kek.keys")
		if err := os.WriteFile(path, ks.EncodeSecret(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, c.mode); err != nil {
			t.Fatal(err)
		}
		_, err := keyring.LoadKeysetFile(path)
		if c.ok && err != nil {
			t.Fatalf("mode %04o refused: %v", c.mode, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "chmod 600 "+path)) {
			t.Fatalf("mode %04o: %v, want a refusal telling the chmod command", c.mode, err)
		}
	}
}

func TestWriteKeysetFileRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "kek.keys")
	old, err := keyring.GenerateKeysetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("aad")
	oldID, wrapped, err := old.Wrap(ctx, bytes.Repeat([]byte{1}, 32), aad)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := old.WithNewPrimary()
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.WriteKeysetFile(path, rotated); err != nil {
		t.Fatal(err)
	}
	assertMode0600(t, path)
	loaded, err := keyring.LoadKeysetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(loaded.IDs(), " ") != strings.Join(rotated.IDs(), " ") {
		t.Fatalf("loaded ids %v, wrote %v", loaded.IDs(), rotated.IDs())
	}
	if got, err := loaded.Unwrap(ctx, oldID, wrapped, aad); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{1}, 32)) {
		t.Fatalf("the old key did not survive the rewrite: %v", err)
	}
	newID, wrapped2, _ := rotated.Wrap(ctx, []byte("0123456789abcdef0123456789abcdef"), aad)
	if _, err := loaded.Unwrap(ctx, newID, wrapped2, aad); err != nil {
		t.Fatalf("the new primary did not survive the rewrite: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries after the rewrite, want only the key file", len(entries))
	}
}

func assertMode0600(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %04o, want 0600", path, st.Mode().Perm())
	}
}
