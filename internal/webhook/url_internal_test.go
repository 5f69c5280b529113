package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	t.Parallel()
	long := "https://example.com/" + strings.Repeat("a", MaxURLLen)
	cases := []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://hooks.example.com/carepost", false, true},
		{"https://hooks.example.com:8443/in?token=abc", false, true},
		{"https://HOOKS.Example.com./x", false, true},
		{"https://xn--bcher-kva.example/x", false, true},
		{"https://localhost/x", false, true}, // a name: checked when it resolves
		{"https://93.184.215.14/x", false, true},
		{"https://[2606:4700:4700::1111]/x", false, true},
		{"http://hooks.example.com/x", true, true},

		{"", false, false},
		{long, false, false},
		{"http://hooks.example.com/x", false, false},
		{"ftp://hooks.example.com/x", false, false},
		{"javascript:alert(1)", false, false},
		{"hooks.example.com/x", false, false},
		{"//hooks.example.com/x", false, false},
		{"https:///x", false, false},
		{"https:hooks.example.com", false, false},
		{"https://user:pass@hooks.example.com/x", false, false},
		{"https://user@hooks.example.com/x", false, false},
		{"https://hooks.example.com/x#frag", false, false},
		{"https://hooks.example.com/x#", false, false},
		{"https://hooks.example.com:0/x", false, false},
		{"https://hooks.example.com:65536/x", false, false},
		{"https://hooks.example.com:/x", false, false},
		{"https://hooks.example.com:08443/x", false, false},
		{"https://hooks.example.com/a b", false, false},
		{"https://hooks.example.com/\x00", false, false},
		{"https://bücher.example/x", false, false},
		{"https://-bad.example.com/x", false, false},
		{"https://bad..example.com/x", false, false},
		{"https://127.0.0.1/x", false, false},
		{"https://10.0.0.1:8080/x", false, false},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://[::1]/x", false, false},
		{"https://[::ffff:127.0.0.1]/x", false, false},
		{"https://[fe80::1%25eth0]/x", false, false},
		{"https://0177.0.0.1/x", false, false},
		{"https://0x7f.0.0.1/x", false, false},
		{"https://2130706433/x", false, false},
		{"https://127.1/x", false, false},
	}
	for _, c := range cases {
		got, err := validateURL(c.url, c.allowHTTP, guard{})
		if c.ok != (err == nil) {
			t.Errorf("validateURL(%q) = %q, %v; want ok=%v", c.url, got, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("validateURL(%q) error %v does not wrap ErrInvalid", c.url, err)
			}
			if c.url != "" && strings.Contains(err.Error(), c.url) {
				t.Errorf("validateURL(%q) error repeats the URL: %v", c.url, err)
			}
		}
	}
}

func TestValidateURLAllowsAdministratorRange(t *testing.T) {
	t.Parallel()
	g := guard{allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if _, err := validateURL("https://10.1.2.3:8443/hooks", false, g); err != nil {
		t.Fatalf("allowed range refused: %v", err)
	}
	if _, err := validateURL("https://127.0.0.1/hooks", false, g); err == nil {
		t.Fatal("loopback accepted with only 10/8 allowed")
	}
}

// FuzzValidateURL checks that the validator never panics and that whatever
// it accepts is an https URL with a host, without user info or fragment,
// and is accepted again unchanged.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example.com/carepost?x=1",
		"https://[2606:4700:4700::1111]:8443/x",
		"https://user@hooks.example.com/",
		"https://127.0.0.1/",
		"https://0x7f.1/",
		"http://hooks.example.com/%zz",
		"https://hooks.example.com/#",
		"https://[fe80::1%25eth0]/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := validateURL(raw, false, guard{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q normalizes to %q, which does not parse: %v", raw, got, err)
		}
		if u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || strings.Contains(got, "#") {
			t.Fatalf("accepted %q as %q", raw, got)
		}
		again, err := validateURL(got, false, guard{})
		if err != nil || again != got {
			t.Fatalf("accepted %q as %q, but that gives %q, %v", raw, got, again, err)
		}
	})
}
