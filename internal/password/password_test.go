package password

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		pw      string
		context []string
		ok      bool
	}{
		{"too short", "Tr0ub4dor&3", nil, false},
		{"common breached password", "password1234", nil, false},
		{"common with capitals", "Password1234", nil, false},
		{"keyboard walk", "qwertyuiop123", nil, false},
		{"repeats", "aaaaaaaaaaaaaaaa", nil, false},
		{"the user's own address", "jane.doe@clinic.example", []string{"jane.doe@clinic.example", "Jane Doe"}, false},
		{"the organization name", "riverside health clinic", []string{"Riverside Health Clinic"}, false},
		{"passphrase", "correct horse battery staple", nil, true},
		{"long random", "vX9#kq2!Lm8@pZ", nil, true},
		{"unicode passphrase", "café ñandú pingüino árbol", nil, true},
		{"64 characters accepted", strings.Repeat("jx7-", 16), nil, false}, // repeated pattern
		{"long unique passphrase", "the quiet lighthouse keeper paints violet storms over marble harbors every tuesday", nil, true},
		{"over the maximum", strings.Repeat("abcdefghij", 26) + "x", nil, false},
		{"control character", "correct horse\x00battery staple", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := Check(c.pw, c.context...)
			if (err == nil) != c.ok {
				t.Fatalf("Check = %v, want ok=%v", err, c.ok)
			}
			var pe *PolicyError
			if err != nil && (!errors.As(err, &pe) || strings.Contains(err.Error(), c.pw)) {
				t.Fatalf("error %q is not a PolicyError or echoes the password", err)
			}
		})
	}
}

func TestHashVerifyAndRehash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(DefaultParams)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry its parameters", enc)
	}
	if err := h.Verify(ctx, enc, "correct horse battery staple"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := h.Verify(ctx, enc, "correct horse battery stapl"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if h.NeedsRehash(enc) {
		t.Fatal("fresh hash needs rehash")
	}
	stronger := NewHasher(Params{Memory: 32 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32})
	if !stronger.NeedsRehash(enc) {
		t.Fatal("hash with weaker parameters does not need rehash")
	}
	if err := stronger.Verify(ctx, enc, "correct horse battery staple"); err != nil {
		t.Fatalf("old parameters no longer verify: %v", err)
	}
	h.Dummy(ctx, "anything")
}

func TestMalformedHashesAreRefused(t *testing.T) {
	t.Parallel()
	h := NewHasher(DefaultParams)
	for _, enc := range []string{
		"",
		"$2a$10$abcdefghijklmnopqrstuv",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0",
		"$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0",
	} {
		err := h.Verify(context.Background(), enc, "x")
		if err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a malformed-hash error", enc, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"correct horse battery staple", "password1234", "", "\xff\xfe"} {
		f.Add(s)
	}
	// Every refusal is one of the policy's fixed sentences, so no input can
	// make its way into an error message.
	known := map[string]bool{}
	for _, s := range []string{"short", strings.Repeat("x", 300), "password1234", "aaaaaaaaaaaaaaaa", "\xff\xfe", "correct horse\x00battery"} {
		if err := Check(s); err != nil {
			known[err.Error()] = true
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s, "user@example.org")
		if err == nil {
			return
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || !known[err.Error()] {
			t.Fatalf("unexpected refusal %q", err)
		}
	})
}
