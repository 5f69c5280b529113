package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/keyring"
)

func TestKeysetWrapUnwrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ks := newKeyset(t)
	if !regexp.MustCompile(`^k1-[0-9a-f]{12}$`).MatchString(ks.PrimaryID()) {
		t.Fatalf("key id %q, want k1- and 12 hex digits", ks.PrimaryID())
	}
	dek := bytes.Repeat([]byte{7}, 32)
	aad := []byte("carepost:dek:v1\x00org_a\x001")
	id, wrapped, err := ks.Wrap(ctx, dek, aad)
	if err != nil || id != ks.PrimaryID() {
		t.Fatalf("wrap = %s, %v", id, err)
	}
	if bytes.Contains(wrapped, dek[:8]) {
		t.Fatal("wrapped key contains the key")
	}
	if got, err := ks.Unwrap(ctx, id, wrapped, aad); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("unwrap = %v", err)
	}
	if _, err := ks.Unwrap(ctx, id, wrapped, []byte("carepost:dek:v1\x00org_b\x001")); !errors.Is(err, keyring.ErrDecrypt) {
		t.Fatalf("unwrap with another scope's AAD: %v, want ErrDecrypt", err)
	}
	for i := range wrapped {
		bad := bytes.Clone(wrapped)
		bad[i] ^= 1
		if _, err := ks.Unwrap(ctx, id, bad, aad); !errors.Is(err, keyring.ErrDecrypt) {
			t.Fatalf("flipped byte %d of a wrapped key: %v, want ErrDecrypt", i, err)
		}
	}

	ks2, err := ks.WithNewPrimary()
	if err != nil {
		t.Fatal(err)
	}
	if ks2.PrimaryID() == ks.PrimaryID() || len(ks2.IDs()) != 2 || ks2.IDs()[1] != ks.PrimaryID() {
		t.Fatalf("WithNewPrimary ids %v from %v", ks2.IDs(), ks.IDs())
	}
	if len(ks.IDs()) != 1 {
		t.Fatal("WithNewPrimary changed the original keyset")
	}
	if got, err := ks2.Unwrap(ctx, id, wrapped, aad); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("new keyset cannot unwrap under the old key: %v", err)
	}
	if id2, _, _ := ks2.Wrap(ctx, dek, aad); id2 != ks2.PrimaryID() {
		t.Fatalf("new keyset wraps under %s, want its primary", id2)
	}
	only, err := ks2.Without(ks.PrimaryID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.Unwrap(ctx, id, wrapped, aad); !errors.Is(err, keyring.ErrUnknownKEK) {
		t.Fatalf("unwrap under a removed key: %v, want ErrUnknownKEK", err)
	}
	if _, err := ks2.Without(ks2.PrimaryID()); err == nil {
		t.Fatal("Without removed the primary")
	}
	if _, err := ks2.Without("k1-000000000000"); err == nil {
		t.Fatal("Without accepted an id it does not hold")
	}
}

func TestKeysetPrintsIDsOnly(t *testing.T) {
	t.Parallel()
	ks := newKeyset(t)
	secret := string(ks.EncodeSecret())
	key := strings.Fields(secret[strings.LastIndex(secret, "carepost-kek-v1"):])[2]
	raw, _ := base64.StdEncoding.DecodeString(key)
	want := "keyset[" + ks.PrimaryID() + "]"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{ks, *ks} {
			got := fmt.Sprintf(verb, v)
			if got != want || strings.Contains(got, key) || strings.Contains(got, fmt.Sprint(raw[:4])) {
				t.Fatalf("Sprintf(%s) = %q, want %q", verb, got, want)
			}
		}
	}
}

func TestParseKeyset(t *testing.T) {
	t.Parallel()
	a, b := newKeyset(t), newKeyset(t)
	lineA := keyLine(t, a)
	lineB := keyLine(t, b)
	keyA := strings.Fields(lineA)[2]
	good := []struct {
		name string
		text string
		ids  []string
	}{
		{"file", string(a.EncodeSecret()), a.IDs()},
		{"two lines with comments and CRLF", "# keys\r\n\r\n" + lineA + "\r\n  # old\r\n" + lineB + "\r\n", []string{a.PrimaryID(), b.PrimaryID()}},
		{"comma separated (environment)", lineB + "," + lineA, []string{b.PrimaryID(), a.PrimaryID()}},
	}
	for _, c := range good {
		ks, err := keyring.ParseKeyset(c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if strings.Join(ks.IDs(), " ") != strings.Join(c.ids, " ") {
			t.Fatalf("%s: ids %v, want %v", c.name, ks.IDs(), c.ids)
		}
	}
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	bad := map[string]string{
		"empty":             "",
		"comments only":     "# nothing\n",
		"other prefix":      strings.Replace(lineA, "carepost-kek-v1", "carepost-kek-v2", 1),
		"missing field":     "carepost-kek-v1 " + keyA,
		"extra field":       lineA + " extra",
		"not base64":        "carepost-kek-v1 " + a.PrimaryID() + " " + keyA[:10] + "!!" + keyA[12:],
		"short key":         "carepost-kek-v1 " + a.PrimaryID() + " " + short,
		"id does not match": "carepost-kek-v1 " + b.PrimaryID() + " " + keyA,
		"key in id place":   "carepost-kek-v1 " + keyA + " " + keyA,
		"duplicate":         lineA + "\n" + lineA,
	}
	for name, text := range bad {
		_, err := keyring.ParseKeyset(text)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), keyA[:12]) {
			t.Fatalf("%s: error %q contains key material", name, err)
		}
	}
}

// keyLine is the key line of a one-key keyset.
func keyLine(t *testing.T, ks *keyring.Keyset) string {
	t.Helper()
	for _, l := range strings.Split(string(ks.EncodeSecret()), "\n") {
		if strings.HasPrefix(l, "carepost-kek-v1 ") {
			return l
		}
	}
	t.Fatal("no key line")
	return ""
}
