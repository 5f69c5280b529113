package mtasts_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/mtasts"
)

func TestParseRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		txt    string
		id     string
		notSTS bool
		ok     bool
	}{
		{txt: "v=STSv1; id=20160831085700Z", id: "20160831085700Z", ok: true},
		{txt: "v=STSv1;id=abc;", id: "abc", ok: true},
		{txt: "v=STSv1 ;\tid=abc ; ext=1", id: "abc", ok: true},
		{txt: "v=STSv1; ext=x; id=abc; id=def", id: "abc", ok: true},
		{txt: "v=STSv1; id=" + strings.Repeat("a", 32), id: strings.Repeat("a", 32), ok: true},
		{txt: "v=STSv1; id=" + strings.Repeat("a", 33)},
		{txt: "v=STSv1; id=a-b"},
		{txt: "v=STSv1; id="},
		{txt: "v=STSv1;"},
		{txt: "v=STSv1"},
		{txt: "v=STSv1; id=abc x=y"},
		{txt: "v=STSv1;; id=abc"},
		{txt: "v=STSv1; ext=a;b"},
		{txt: "v=STSv10; id=abc", notSTS: true},
		{txt: "v=spf1 -all", notSTS: true},
		{txt: "V=STSv1; id=abc", notSTS: true},
		{txt: "", notSTS: true},
	}
	for _, tt := range tests {
		t.Run(tt.txt, func(t *testing.T) {
			t.Parallel()
			rec, err := mtasts.ParseRecord(tt.txt)
			if errors.Is(err, mtasts.ErrNotSTS) != tt.notSTS || (err == nil) != tt.ok || rec.ID != tt.id {
				t.Fatalf("ParseRecord(%q) = %+v, %v", tt.txt, rec, err)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want *mtasts.Policy
	}{
		{"RFC 8461 example", "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n",
			&mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, MaxAge: 604800 * time.Second}},
		{"CRLF, no final terminator, upper-case names", "Version: STSv1\r\nMODE: testing\r\nmx: MX.Example.COM\r\nmax_age:86400",
			&mtasts.Policy{Mode: mtasts.ModeTesting, MX: []string{"mx.example.com"}, MaxAge: 86400 * time.Second}},
		{"first of repeated fields counts", "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 10\nmax_age: 20\n",
			&mtasts.Policy{Mode: mtasts.ModeTesting, MX: []string{"a.example"}, MaxAge: 10 * time.Second}},
		{"none needs no mx", "version: STSv1\nmode: none\nmax_age: 0\n",
			&mtasts.Policy{Mode: mtasts.ModeNone}},
		{"max_age capped at a year", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n",
			&mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"a.example"}, MaxAge: mtasts.MaxMaxAge}},
		{"extensions kept, blank lines skipped", "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\nfuture_field: some value \n\n",
			&mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"a.example"}, MaxAge: time.Second, Extensions: []mtasts.Extension{{Key: "future_field", Value: "some value"}}}},
		{"version missing", "mode: enforce\nmx: a.example\nmax_age: 1\n", nil},
		{"version 2", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", nil},
		{"mode upper case", "version: STSv1\nmode: ENFORCE\nmx: a.example\nmax_age: 1\n", nil},
		{"enforce without mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", nil},
		{"max_age negative", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", nil},
		{"max_age eleven digits", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", nil},
		{"U-label mx", "version: STSv1\nmode: enforce\nmx: bücher.example\nmax_age: 1\n", nil},
		{"wildcard in the middle", "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", nil},
		{"no colon", "version STSv1\n", nil},
		{"not UTF-8", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nx: \xff\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mtasts.ParsePolicy(tt.body)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParsePolicy accepted %q: %+v", tt.body, got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePolicy = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestPolicyMatches(t *testing.T) {
	t.Parallel()
	p := &mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"mail.example.com", "*.example.net", "*.xn--bcher-kva.example"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.Example.com.", true},
		{"other.example.com", false},
		{"mx1.example.net", true},
		{"example.net", false},      // the wildcard needs a label
		{"a.b.example.net", false},  // and exactly one
		{".example.net", false},     // an empty label is not one
		{"mx.bücher.example", true}, // compared in A-labels
		{"mail.example.com.evil.test", false},
		{"not a host", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			if got := p.Matches(tt.host); got != tt.want {
				t.Fatalf("Matches(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

// FuzzParsePolicy: no input panics, and an accepted policy renders to a
// body that parses back to the same policy.
func FuzzParsePolicy(f *testing.F) {
	f.Add("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n")
	f.Add("version: STSv1\r\nmode: none\r\nmax_age: 0")
	f.Add("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 99999999999\next: x y z\n")
	f.Fuzz(func(t *testing.T, body string) {
		p, err := mtasts.ParsePolicy(body)
		if err != nil {
			return
		}
		if p.MaxAge < 0 || p.MaxAge > mtasts.MaxMaxAge {
			t.Fatalf("max_age %v out of range", p.MaxAge)
		}
		again, err := mtasts.ParsePolicy(p.String())
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", p.String(), again, err, p)
		}
	})
}

// FuzzParseRecord: no input panics, and an accepted record has a valid id.
func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1;id=a;ext=b")
	f.Add("v=STSv1 ; id=a ;")
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := mtasts.ParseRecord(txt)
		if err != nil {
			if rec.ID != "" {
				t.Fatalf("error with an id %q", rec.ID)
			}
			return
		}
		if rec.ID == "" || len(rec.ID) > 32 || !strings.HasPrefix(txt, "v=STSv1") {
			t.Fatalf("ParseRecord(%q) accepted id %q", txt, rec.ID)
		}
	})
}
