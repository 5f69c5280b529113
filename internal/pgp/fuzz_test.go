package pgp_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/pgp"
)

// FuzzParseKeys feeds uploaded-key input (armored, binary, garbage) to the
// parser and the checks that follow it: none may panic, and whatever
// parses must describe itself. The seed corpus is in
// testdata/fuzz/FuzzParseKeys.
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Add([]byte{0x99, 0x00, 0x0d, 0x04})
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := pgp.ParseKeys(data)
		if err != nil {
			return
		}
		for _, k := range keys {
			in := pgp.Describe(k, now)
			if in.Fingerprint == "" {
				t.Fatal("a parsed key without a fingerprint")
			}
			for _, e := range in.Emails {
				_ = pgp.Check(k, e, now)
			}
			_ = pgp.Check(k, "nobody@example.org", now)
		}
	})
}
