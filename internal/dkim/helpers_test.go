package dkim

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKeys are made once: an RSA-2048 key takes a noticeable time under
// -race, and every test only reads them.
var testKeys = sync.OnceValues(func() (Keys, error) { return GenerateKeys("clinic.example") })

func keys(t testing.TB) Keys {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testRecordOptions = RecordOptions{
	SPFIPs:     []string{"192.0.2.10", "2001:db8::/48"},
	SPFInclude: []string{"_spf.carepost.example"},
	DMARCRUA:   "dmarc-reports@clinic.example",
	TLSRPTRUA:  "tls-reports@clinic.example",
}

// zone is a DNS stand-in at the LookupTXTFunc seam: name to TXT records.
type zone map[string][]string

func (z zone) lookup(_ context.Context, name string) ([]string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if txts, ok := z[name]; ok {
		return txts, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// goLookup adapts the zone to go-msgauth's verifier.
func (z zone) goLookup(name string) ([]string, error) { return z.lookup(context.Background(), name) }

// published returns the zone that publishes Records for clinic.example.
func published(t testing.TB, k Keys) zone {
	t.Helper()
	recs, err := Records("clinic.example", k, testRecordOptions)
	if err != nil {
		t.Fatal(err)
	}
	z := zone{}
	for _, r := range recs {
		// A resolver joins the character-strings of one record.
		z[r.Name] = append(z[r.Name], strings.Join(r.TXTStrings(), ""))
	}
	return z
}

// testMessage is a small CRLF message with the fields that get signed.
func testMessage(body string) []byte {
	h := []string{
		"From: Riverside Clinic <appointments@clinic.example>",
		"To: Pat Doe <pat@patient.example>",
		"Subject: Your appointment on Monday",
		"Date: " + time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC).Format(time.RFC1123Z),
		"Message-ID: <sign.1@clinic.example>",
		"MIME-Version: 1.0",
		"List-Unsubscribe: <https://clinic.example/u/abc>",
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
		"Content-Type: text/html; charset=utf-8",
		"Content-Transfer-Encoding: 8bit",
	}
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	return []byte(strings.Join(h, "\r\n") + "\r\n\r\n" + body)
}
