package smtpd

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// exchange runs a SASL conversation: the responses in order (nil for no
// initial response), and returns the challenges and the outcome.
func exchange(mech string, responses ...[]byte) (challenges []string, done bool, got string, err error) {
	srv, _ := newSASL(mech, func(pw string) error {
		got = pw
		if pw != "cpk_good" {
			return errAuthFailed
		}
		return nil
	})
	for _, r := range responses {
		var c []byte
		c, done, err = srv.Next(r)
		if done {
			return challenges, done, got, err
		}
		challenges = append(challenges, string(c))
	}
	return challenges, done, got, err
}

func TestSASL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mech       string
		responses  [][]byte
		challenges string
		err        error
	}{
		{"plain initial response", mechPlain, [][]byte{[]byte("\x00apikey\x00cpk_good")}, "", nil},
		{"plain without initial response", mechPlain, [][]byte{nil, []byte("\x00apikey\x00cpk_good")}, "", nil},
		{"plain, empty user name", mechPlain, [][]byte{[]byte("\x00\x00cpk_good")}, "", nil},
		{"plain, authzid equal to authcid", mechPlain, [][]byte{[]byte("me\x00me\x00cpk_good")}, "", nil},
		{"plain, acting as someone else", mechPlain, [][]byte{[]byte("boss\x00me\x00cpk_good")}, "", errAuthMalformed},
		{"plain, wrong key", mechPlain, [][]byte{[]byte("\x00apikey\x00cpk_bad")}, "", errAuthFailed},
		{"plain, two fields", mechPlain, [][]byte{[]byte("apikey\x00cpk_good")}, "", errAuthMalformed},
		{"plain, empty password", mechPlain, [][]byte{[]byte("\x00apikey\x00")}, "", errAuthMalformed},
		{"plain, CRLF in password", mechPlain, [][]byte{[]byte("\x00apikey\x00cpk_good\r\nMAIL")}, "", errAuthMalformed},
		{"plain, not UTF-8", mechPlain, [][]byte{[]byte("\x00\xff\x00cpk_good")}, "", errAuthMalformed},
		{"login", mechLogin, [][]byte{nil, []byte("someone"), []byte("cpk_good")}, "Username:|Password:", nil},
		{"login with initial user name", mechLogin, [][]byte{[]byte("someone"), []byte("cpk_good")}, "Password:", nil},
		{"login, wrong key", mechLogin, [][]byte{nil, []byte("someone"), []byte("cpk_bad")}, "Username:|Password:", errAuthFailed},
		{"login, empty password", mechLogin, [][]byte{nil, []byte("someone"), {}}, "Username:|Password:", errAuthMalformed},
		{"login, too long", mechLogin, [][]byte{nil, []byte(strings.Repeat("x", 256))}, "Username:", errAuthMalformed},
	}
	for _, tt := range tests {
		challenges, done, _, err := exchange(tt.mech, tt.responses...)
		if !done || !errors.Is(err, tt.err) || strings.Join(challenges, "|") != tt.challenges {
			t.Errorf("%s: challenges %q, done %v, err %v; want %q, done, %v", tt.name, challenges, done, err, tt.challenges, tt.err)
		}
	}
	if _, ok := newSASL("CRAM-MD5", nil); ok {
		t.Error("an unoffered mechanism was accepted")
	}
	// A finished exchange takes no more responses.
	srv, _ := newSASL(mechPlain, func(string) error { return nil })
	srv.Next([]byte("\x00u\x00cpk_good"))
	if _, done, err := srv.Next([]byte("\x00u\x00cpk_good")); !done || err == nil {
		t.Error("a second response after the outcome was accepted")
	}
}

func TestHasBareLineEnd(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"": false, "a": false, "a\r\nb\r\n": false, "\r\n\r\n": false,
		"a\nb": true, "a\rb": true, "a\r": true, "\n": true, "a\r\n\n": true, "a\r\r\n": true, "a\r\n.\nb\r\n": true,
	} {
		if got := hasBareLineEnd([]byte(in)); got != want {
			t.Errorf("hasBareLineEnd(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(60, func() time.Time { return now })
	for i := 0; i < 60; i++ {
		if !l.allow("key_a") {
			t.Fatalf("message %d of the first minute refused", i+1)
		}
	}
	if l.allow("key_a") {
		t.Fatal("the 61st message in a minute was allowed")
	}
	if !l.allow("key_b") {
		t.Fatal("another key was limited by the first")
	}
	now = now.Add(time.Second) // one token back
	if !l.allow("key_a") || l.allow("key_a") {
		t.Fatal("one second should give back exactly one message")
	}
	if !newLimiter(0, time.Now).allow("key") {
		t.Fatal("rate 0 should mean no limit")
	}
}
