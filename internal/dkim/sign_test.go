package dkim

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/dkim"
)

// verify runs go-msgauth's verifier with the zone as DNS.
func verify(t *testing.T, z zone, raw []byte) []*msgauth.Verification {
	t.Helper()
	v, err := msgauth.VerifyWithOptions(bytes.NewReader(raw), &msgauth.VerifyOptions{LookupTXT: z.goLookup})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignVerifies(t *testing.T) {
	t.Parallel()
	k := keys(t)
	z := published(t, k)
	for _, algs := range [][]Algorithm{nil, {RSASHA256}, {Ed25519SHA256}} {
		s, err := NewSigner("clinic.example", k, algs...)
		if err != nil {
			t.Fatal(err)
		}
		raw := testMessage("<p>Hello Pat</p>\n")
		signed, err := s.Sign(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(signed, raw) {
			t.Fatal("the message is not kept unchanged after the signatures")
		}
		want := len(algs)
		if algs == nil {
			want = 2
		}
		vs := verify(t, z, signed)
		if len(vs) != want {
			t.Fatalf("algs %v: %d signatures, want %d", algs, len(vs), want)
		}
		for _, v := range vs {
			if v.Err != nil || v.Domain != "clinic.example" {
				t.Errorf("algs %v: verification %v for %q", algs, v.Err, v.Domain)
			}
			h := strings.ToLower(strings.Join(v.HeaderKeys, ":"))
			if strings.Count(h, "from") != 2 || strings.Count(h, "list-unsubscribe-post") != 2 || strings.Count(h, "list-unsubscribe:") != 2 {
				t.Errorf("h= %q: From and List-Unsubscribe* must be oversigned", h)
			}
		}
		sigHeader := string(signed[:len(signed)-len(raw)])
		if strings.Contains(sigHeader, " l=") || !strings.Contains(sigHeader, "c=relaxed/relaxed") {
			t.Errorf("signature fields: %s", sigHeader)
		}
		if algs == nil && !(strings.Index(sigHeader, "a=rsa-sha256") < strings.Index(sigHeader, "a=ed25519-sha256")) {
			t.Errorf("default order should be RSA then Ed25519:\n%s", sigHeader)
		}
	}
}

// TestSignTamper changes a signed message in ways an attacker or a broken
// relay might and checks which break verification.
func TestSignTamper(t *testing.T) {
	t.Parallel()
	k := keys(t)
	z := published(t, k)
	s, err := NewSigner("clinic.example", k)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign(testMessage("<p>Hello Pat</p>\n<p>See you Monday.</p>\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(string) string
		valid bool
	}{
		{"unchanged", func(m string) string { return m }, true},
		{"body changed", func(m string) string { return strings.Replace(m, "Monday", "Sunday", 1) }, false},
		{"body appended", func(m string) string { return m + "<p>Click here</p>\r\n" }, false},
		{"subject changed", func(m string) string { return strings.Replace(m, "Subject: Your", "Subject: Our", 1) }, false},
		{"second From prepended", func(m string) string { return "From: attacker@evil.example\r\n" + m }, false},
		{"second From before the body", func(m string) string {
			return strings.Replace(m, "\r\n\r\n", "\r\nFrom: attacker@evil.example\r\n\r\n", 1)
		}, false},
		{"List-Unsubscribe added", func(m string) string { return "List-Unsubscribe: <https://evil.example/>\r\n" + m }, false},
		{"unsigned header added", func(m string) string { return "X-Relay: gw.example\r\n" + m }, true},
		{"Received added on top", func(m string) string { return "Received: from gw.example by mx.example\r\n" + m }, true},
		{"subject refolded (relaxed)", func(m string) string {
			return strings.Replace(m, "Subject: Your appointment", "Subject:   Your\r\n\tappointment", 1)
		}, true},
		{"trailing whitespace in body (relaxed)", func(m string) string { return strings.Replace(m, "Pat</p>", "Pat</p>  ", 1) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, v := range verify(t, z, []byte(tt.edit(string(signed)))) {
				if (v.Err == nil) != tt.valid {
					t.Errorf("valid = %v (%v), want %v", v.Err == nil, v.Err, tt.valid)
				}
			}
		})
	}
}

func TestSignRefusals(t *testing.T) {
	t.Parallel()
	k := keys(t)
	s, err := NewSigner("clinic.example", k)
	if err != nil {
		t.Fatal(err)
	}
	raw := string(testMessage("body\n"))
	tests := []struct {
		name string
		msg  string
		err  error
	}{
		{"bare LF", strings.ReplaceAll(raw, "\r\n", "\n"), ErrLineEndings},
		{"bare CR in body", raw + "a\rb\r\n", ErrLineEndings},
		{"no From", strings.Replace(raw, "From:", "X-From:", 1), ErrFrom},
		{"two From", "From: other@clinic.example\r\n" + raw, ErrFrom},
	}
	for _, tt := range tests {
		if _, err := s.Sign([]byte(tt.msg)); !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
	if _, err := NewSigner("clinic.example", Keys{RSA: k.RSA, Selectors: k.Selectors}); !errors.Is(err, ErrNoKey) {
		t.Errorf("both algorithms without an Ed25519 key: %v", err)
	}
	if _, err := NewSigner("clinic.example", Keys{RSA: k.RSA}, RSASHA256); !errors.Is(err, ErrNoKey) {
		t.Errorf("no selector: %v", err)
	}
	if _, err := NewSigner("not a domain", k); !errors.Is(err, ErrDomain) {
		t.Errorf("bad domain: %v", err)
	}
}

// goMsgauthBH is the body hash go-msgauth's own signer computes for raw
// with relaxed canonicalization: the reference the fuzz target holds ours to.
func goMsgauthBH(t *testing.T, k Keys, raw []byte) string {
	t.Helper()
	var out bytes.Buffer
	err := msgauth.Sign(&out, bytes.NewReader(raw), &msgauth.SignOptions{Domain: "clinic.example", Selector: k.Selectors.Ed25519,
		Signer: k.Ed25519, HeaderCanonicalization: msgauth.CanonicalizationRelaxed, BodyCanonicalization: msgauth.CanonicalizationRelaxed,
		HeaderKeys: []string{"From"}})
	if err != nil {
		t.Fatal(err)
	}
	return tagOf(t, out.String(), "bh")
}

// tagOf reads one tag of the first DKIM-Signature field in a message.
func tagOf(t *testing.T, msg, name string) string {
	t.Helper()
	end := strings.Index(msg, "\r\n\r\n")
	for _, part := range strings.Split(strings.NewReplacer("\r\n ", "", "\r\n\t", "").Replace(msg[:max(end, 0)]), ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.HasSuffix(k, "DKIM-Signature: v") {
			continue
		}
		if k == name {
			return strings.ReplaceAll(v, " ", "")
		}
	}
	t.Fatalf("no %s= in %q", name, msg)
	return ""
}

// FuzzSign holds the signer to go-msgauth, an independent implementation:
// for any CRLF message, go-msgauth verifies both signatures and computes
// the same body hash (relaxed canonicalization of whitespace runs, tabs,
// trailing whitespace, empty lines at the end, a last line without CRLF).
func FuzzSign(f *testing.F) {
	for _, s := range []struct{ subject, body string }{
		{"Your appointment", "<p>Hello Pat</p>\n"},
		{"", ""},
		{"a", "\n\n\n"},
		{"  spaced\tout  ", "  lead\n\ttab\tbed \t\nend  \n \n\t\n"},
		{"x", "no final line break"},
		{"x", "\n\nafter empties\n\n  \nmore\n\n"},
		{"x", "a  b\t c \n\nd"},
	} {
		f.Add(s.subject, s.body)
	}
	k := keys(f)
	z := published(f, k)
	s, err := NewSigner("clinic.example", k)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, body string) {
		if strings.ContainsAny(subject, "\r\n") || strings.ContainsRune(body, '\r') {
			t.Skip()
		}
		raw := []byte(strings.Replace(string(testMessage(body)), "Subject: Your appointment on Monday", "Subject: "+subject, 1))
		signed, err := s.Sign(raw)
		if err != nil {
			t.Fatal(err)
		}
		vs := verify(t, z, signed)
		if len(vs) != 2 {
			t.Fatalf("%d signatures", len(vs))
		}
		for _, v := range vs {
			if v.Err != nil {
				t.Errorf("go-msgauth: %v\n%q", v.Err, signed)
			}
		}
		if got, want := tagOf(t, string(signed), "bh"), goMsgauthBH(t, k, raw); got != want {
			t.Errorf("bh=%s, go-msgauth bh=%s for body %q", got, want, body)
		}
		for _, line := range strings.Split(string(signed[:len(signed)-len(raw)]), "\r\n") {
			if len(line) > 78 {
				t.Errorf("signature line of %d characters: %q", len(line), line)
			}
		}
	})
}
