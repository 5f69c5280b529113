package smtpd

import (
	"bytes"
	"testing"
)

// The seed corpora are in testdata/fuzz.

// FuzzDecodePlain checks the PLAIN decoder: what it accepts has exactly
// the three fields it was given, none with NUL or a line break, and an
// authorization identity only when it equals the authentication one.
func FuzzDecodePlain(f *testing.F) {
	f.Add([]byte("\x00apikey\x00cpk_ABCDEFGH_secret"))
	f.Add([]byte("me\x00me\x00pw"))
	f.Add([]byte("\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		authz, authc, pw, ok := decodePlain(b)
		if !ok {
			return
		}
		if got := []byte(authz + "\x00" + authc + "\x00" + pw); !bytes.Equal(got, b) {
			t.Fatalf("decodePlain(%q) = %q %q %q: not the input's fields", b, authz, authc, pw)
		}
		if pw == "" || (authz != "" && authz != authc) {
			t.Fatalf("decodePlain(%q) accepted %q %q %q", b, authz, authc, pw)
		}
		for _, f := range []string{authz, authc, pw} {
			if len(f) > maxSASLField || bytes.ContainsAny([]byte(f), "\x00\r\n") {
				t.Fatalf("decodePlain(%q) accepted field %q", b, f)
			}
		}
	})
}

// FuzzSASL runs whole exchanges of up to three responses (an empty one
// stands for "no initial response"): the password checked is always one
// the client sent, and an exchange ends within three steps.
func FuzzSASL(f *testing.F) {
	f.Add(true, []byte(""), []byte("\x00u\x00cpk_good"), []byte(""))
	f.Add(false, []byte(""), []byte("user"), []byte("cpk_good"))
	f.Add(false, []byte("user"), []byte("cpk_good"), []byte("more"))
	f.Fuzz(func(t *testing.T, plainMech bool, r1, r2, r3 []byte) {
		mech := mechLogin
		if plainMech {
			mech = mechPlain
		}
		checked := ""
		srv, _ := newSASL(mech, func(pw string) error { checked = pw; return nil })
		resps := [][]byte{r1, r2, r3}
		if len(r1) == 0 {
			resps[0] = nil
		}
		done := false
		for _, r := range resps {
			if _, done, _ = srv.Next(r); done {
				break
			}
		}
		if !done && mech == mechPlain {
			t.Fatalf("PLAIN did not finish in three steps: %q", resps)
		}
		if checked != "" && !bytes.Contains(bytes.Join(resps, nil), []byte(checked)) {
			t.Fatalf("checked password %q the client never sent", checked)
		}
	})
}
