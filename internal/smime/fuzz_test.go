package smime_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smime"
)

// FuzzParseChain feeds uploaded-certificate input to the PEM chain parser
// and the checks that follow it: none may panic, and whatever parses
// yields a certificate. The seed corpus is in testdata/fuzz/FuzzParseChain.
func FuzzParseChain(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		chain, err := smime.ParseChain(data)
		if err != nil {
			return
		}
		if len(chain) == 0 || len(chain) > smime.MaxChainCerts {
			t.Fatalf("%d certificates parsed", len(chain))
		}
		for _, e := range smime.Emails(chain[0]) {
			_ = smime.Verify(chain, nil, e, now)
		}
	})
}
