package portal

import (
	"bytes"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	tok, hash := newToken(LinkPrefix)
	if len(tok) != 47 || !strings.HasPrefix(tok, LinkPrefix) {
		t.Fatalf("token %q", tok)
	}
	got, err := ParseToken(LinkPrefix, tok)
	if err != nil || !bytes.Equal(got, hash) {
		t.Fatalf("ParseToken(own token) = %x, %v; want %x", got, err, hash)
	}
	if _, err := ParseToken(SessionPrefix, tok); err == nil {
		t.Fatal("a link token parsed as a session token")
	}
	other, _ := newToken(LinkPrefix)
	if other == tok {
		t.Fatal("two tokens are equal")
	}
	for _, bad := range []string{"", LinkPrefix, tok[:46], tok + "A", strings.ToUpper(tok[:4]) + tok[4:], tok[:46] + "=",
		tok[:46] + "+", tok[:10] + "/" + tok[11:], " " + tok[1:]} {
		if _, err := ParseToken(LinkPrefix, bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c := newCode(8)
		if len(c) != 8 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct codes of 200", len(seen))
	}
	h := hashCode("pcd_1", "12345678")
	if !codeMatches("pcd_1", "12345678", h) || codeMatches("pcd_2", "12345678", h) || codeMatches("pcd_1", "12345679", h) {
		t.Fatal("code hashes do not bind the code to its row")
	}
	if normalizeCode(" 1234-5678 ") != "12345678" {
		t.Fatal("normalizeCode")
	}
}

// FuzzParseToken: the parser never panics, and whatever it accepts is
// the one canonical spelling of a 32-byte token of that kind.
func FuzzParseToken(f *testing.F) {
	tok, _ := newToken(LinkPrefix)
	sess, _ := newToken(SessionPrefix)
	for _, s := range []string{tok, sess, "", LinkPrefix, tok[:46] + "=", "cpm_" + strings.Repeat("A", 43), "cpm_" + strings.Repeat("_", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, prefix := range []string{LinkPrefix, SessionPrefix} {
			h, err := ParseToken(prefix, s)
			if err != nil {
				continue
			}
			if len(h) != 32 || len(s) != 47 || !strings.HasPrefix(s, prefix) {
				t.Fatalf("ParseToken(%q) accepted a malformed token", s)
			}
			if strings.ContainsAny(s[4:], "+/= \r\n") {
				t.Fatalf("ParseToken(%q) accepted a non-base64url character", s)
			}
		}
	})
}
