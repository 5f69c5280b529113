package dkim

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestVerifyPublished(t *testing.T) {
	t.Parallel()
	k := keys(t)
	z := published(t, k)
	checks := Verify(context.Background(), "clinic.example", k, z.lookup)
	if len(checks) != 4 {
		t.Fatalf("%d checks", len(checks))
	}
	for _, c := range checks {
		if c.Status != StatusOK {
			t.Errorf("%s %s: %s (%s)", c.Kind, c.Name, c.Status, c.Detail)
		}
	}
}

func TestVerifyProblems(t *testing.T) {
	t.Parallel()
	k := keys(t)
	other, err := GenerateKeys("clinic.example")
	if err != nil {
		t.Fatal(err)
	}
	rsaName := k.Selectors.RSA + "._domainkey.clinic.example"
	edName := k.Selectors.Ed25519 + "._domainkey.clinic.example"
	otherZone := published(t, other)
	tests := []struct {
		name string
		edit func(z zone)
		kind string
		want Status
		msg  string
	}{
		{"RSA key missing", func(z zone) { delete(z, rsaName) }, "dkim-rsa", StatusMissing, "no TXT"},
		{"other Ed25519 key", func(z zone) { z[edName] = otherZone[edName] }, "dkim-ed25519", StatusMismatch, "differs"},
		{"revoked", func(z zone) { z[edName] = []string{"v=DKIM1; k=ed25519; p="} }, "dkim-ed25519", StatusMismatch, "revoked"},
		{"wrong key type", func(z zone) { z[edName] = []string{strings.Replace(z[edName][0], "k=ed25519", "k=rsa", 1)} }, "dkim-ed25519", StatusMismatch, "key type"},
		{"two key records", func(z zone) { z[rsaName] = append(z[rsaName], z[rsaName][0]) }, "dkim-rsa", StatusMismatch, "more than one"},
		{"key record syntax", func(z zone) { z[rsaName] = []string{"v=DKIM1; k=rsa; p=abc; p=def"} }, "dkim-rsa", StatusMismatch, "syntax"},
		{"folded p= still matches", func(z zone) {
			v := z[rsaName][0]
			z[rsaName] = []string{v[:60] + " \t" + v[60:]}
		}, "dkim-rsa", StatusOK, "published"},
		{"no SPF", func(z zone) { z["clinic.example"] = []string{"google-site-verification=abc"} }, "spf", StatusMissing, "no v=spf1"},
		{"two SPF", func(z zone) { z["clinic.example"] = append(z["clinic.example"], "v=spf1 -all") }, "spf", StatusMismatch, "more than one"},
		{"spf1 prefix only", func(z zone) { z["clinic.example"] = []string{"v=spf10 -all"} }, "spf", StatusMissing, "no v=spf1"},
		{"no DMARC", func(z zone) { delete(z, "_dmarc.clinic.example") }, "dmarc", StatusMissing, "no TXT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			z := published(t, k)
			tt.edit(z)
			for _, c := range Verify(context.Background(), "clinic.example", k, z.lookup) {
				if c.Kind != tt.kind {
					continue
				}
				if c.Status != tt.want || !strings.Contains(c.Detail, tt.msg) {
					t.Errorf("got %s (%s), want %s containing %q", c.Status, c.Detail, tt.want, tt.msg)
				}
				return
			}
			t.Errorf("no %s check", tt.kind)
		})
	}
}

func TestVerifyLookupError(t *testing.T) {
	t.Parallel()
	k := keys(t)
	fail := func(context.Context, string) ([]string, error) { return nil, errors.New("server failure") }
	for _, c := range Verify(context.Background(), "clinic.example", k, fail) {
		if c.Status != StatusError {
			t.Errorf("%s: %s", c.Kind, c.Status)
		}
	}
	empty := func(context.Context, string) ([]string, error) { return nil, nil }
	for _, c := range Verify(context.Background(), "clinic.example", k, empty) {
		if c.Status != StatusMissing {
			t.Errorf("%s: %s", c.Kind, c.Status)
		}
	}
}

func TestParseTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{"v=DKIM1; k=rsa; p=abc", map[string]string{"v": "DKIM1", "k": "rsa", "p": "abc"}, true},
		{" v = DKIM1 ;p=ab\r\n c; ", map[string]string{"v": "DKIM1", "p": "ab\r\n c"}, true},
		{"", map[string]string{}, true},
		{"p=", map[string]string{"p": ""}, true},
		{"v=1; v=2", nil, false},
		{"=x", nil, false},
		{"1a=x", nil, false},
		{"novalue", nil, false},
		{"p=a\x00b", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseTags(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTags(%q) err = %v", tt.in, err)
			continue
		}
		if tt.ok && len(got) != len(tt.want) {
			t.Errorf("ParseTags(%q) = %v, want %v", tt.in, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseTags(%q)[%q] = %q, want %q", tt.in, k, got[k], v)
			}
		}
	}
}

func FuzzParseTags(f *testing.F) {
	f.Add("v=DKIM1; k=rsa; p=MIIBIjAN")
	f.Add("v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:a@b.example")
	f.Add(" a = b ;; c=\r\n d;")
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTags(s)
		if err != nil {
			if len(s) > 16 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		for k, v := range tags {
			if !validTagName(k) || strings.Contains(v, ";") {
				t.Fatalf("bad tag %q=%q", k, v)
			}
		}
	})
}
