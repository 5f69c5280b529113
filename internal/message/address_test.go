package message

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 64)
	tests := []struct {
		name     string
		in       string
		want     Address
		smtputf8 bool
		err      error
	}{
		{"bare", "pat@example.org", Address{Email: "pat@example.org"}, false, nil},
		{"with name", "Pat Doe <pat@example.org>", Address{Name: "Pat Doe", Email: "pat@example.org"}, false, nil},
		{"quoted name", `"Doe, Pat" <pat@example.org>`, Address{Name: "Doe, Pat", Email: "pat@example.org"}, false, nil},
		{"encoded name", "=?utf-8?q?J=C3=BCrgen?= <j@example.org>", Address{Name: "Jürgen", Email: "j@example.org"}, false, nil},
		{"domain lower-cased", "Pat@Example.ORG", Address{Email: "Pat@example.org"}, false, nil},
		{"IDNA to A-label", "info@Bücher.example", Address{Email: "info@xn--bcher-kva.example"}, false, nil},
		{"A-label kept", "info@xn--bcher-kva.example", Address{Email: "info@xn--bcher-kva.example"}, false, nil},
		{"SMTPUTF8 local part", "jürgen@example.org", Address{Email: "jürgen@example.org"}, true, nil},
		{"atext local part", "a.b+tag_x-y=z@example.org", Address{Email: "a.b+tag_x-y=z@example.org"}, false, nil},
		{"local part of 64", long + "@example.org", Address{Email: long + "@example.org"}, false, nil},

		{"CR in name", "Pat\r\nBcc: x@evil.example <pat@example.org>", Address{}, false, ErrAddressControl},
		{"LF in address", "pat@example.org\nBcc: x@evil.example", Address{}, false, ErrAddressControl},
		{"NUL", "pat\x00@example.org", Address{}, false, ErrAddressControl},
		{"TAB", "Pat\t<pat@example.org>", Address{}, false, ErrAddressControl},
		{"DEL", "pat\x7f@example.org", Address{}, false, ErrAddressControl},
		{"C1 control", "Pat\u0085 <pat@example.org>", Address{}, false, ErrAddressControl},
		{"invalid UTF-8", "pat\xff@example.org", Address{}, false, ErrAddressControl},
		{"encoded CR LF in name", "=?utf-8?q?Pat=0D=0ABcc=3A_x?= <pat@example.org>", Address{}, false, ErrAddressControl},
		{"empty", "", Address{}, false, ErrAddressSyntax},
		{"no at", "pat.example.org", Address{}, false, ErrAddressSyntax},
		{"empty domain", "pat@", Address{}, false, ErrAddressSyntax},
		{"empty local part", "@example.org", Address{}, false, ErrAddressSyntax},
		{"local part of 65", long + "a@example.org", Address{}, false, ErrLocalPartTooLong},
		{"quoted local part", `"pat doe"@example.org`, Address{}, false, ErrLocalPartSyntax},
		{"domain literal", "pat@[192.0.2.1]", Address{}, false, ErrDomainInvalid},
		{"single label", "pat@localhost", Address{}, false, ErrDomainNotQualified},
		{"numeric TLD", "pat@192.0.2.1", Address{}, false, ErrDomainNotQualified},
		{"label too long", "pat@" + strings.Repeat("a", 64) + ".example", Address{}, false, ErrDomainInvalid},
		{"domain too long", "pat@" + strings.Repeat("abcdefghi.", 26) + "example", Address{}, false, ErrDomainTooLong},
		{"underscore in domain", "pat@ex_ample.org", Address{}, false, ErrDomainInvalid},
		{"two addresses", "a@example.org, b@example.org", Address{}, false, ErrAddressSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAddress(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if tt.in != "" && strings.Contains(err.Error(), tt.in) {
					t.Errorf("error echoes the address: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.NeedsSMTPUTF8() != tt.smtputf8 {
				t.Errorf("NeedsSMTPUTF8 = %v, want %v", got.NeedsSMTPUTF8(), tt.smtputf8)
			}
		})
	}
}

// TestAddressErrorsNameNoValue checks that no address error carries any part
// of the address: errors reach logs and API responses, addresses are PHI.
func TestAddressErrorsNameNoValue(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"jane.secretpatient@", "jane.secretpatient@[10.0.0.1]", strings.Repeat("secretpatient", 6) + "@example.org",
		"Secret Patient <secretpatient@localhost>", "secretpatient@xn--zz", `"secret patient"@example.org`,
	} {
		_, err := ParseAddress(in)
		if err == nil {
			t.Fatalf("ParseAddress(%q) succeeded", in)
		}
		if strings.Contains(strings.ToLower(err.Error()), "secret") {
			t.Errorf("error for %q leaks the address: %v", in, err)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		err  error
	}{
		{"", nil, nil},
		{"a@example.org", []string{"a@example.org"}, nil},
		{`"Doe, Pat" <pat@Example.org>, b@example.net`, []string{"pat@example.org", "b@example.net"}, nil},
		{"a@example.org, b@localhost", nil, ErrDomainNotQualified},
		{"a@example.org,\r\nBcc: b@example.org", nil, ErrAddressControl},
		{"a@example.org b@example.org", nil, ErrAddressList},
	}
	for _, tt := range tests {
		got, err := ParseAddressList(tt.in)
		if !errors.Is(err, tt.err) {
			t.Errorf("ParseAddressList(%q) err = %v, want %v", tt.in, err, tt.err)
			continue
		}
		var emails []string
		for _, a := range got {
			emails = append(emails, a.Email)
		}
		if strings.Join(emails, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ParseAddressList(%q) = %v, want %v", tt.in, emails, tt.want)
		}
	}
}

// TestAddressStringRoundTrip formats addresses for a header and parses them
// back.
func TestAddressStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, a := range []Address{
		{Email: "pat@example.org"},
		{Name: "Pat Doe", Email: "pat@example.org"},
		{Name: `Doe, "Pat" (Jr.)`, Email: "pat@example.org"},
		{Name: "Jürgen Müller-Lüdenscheidt, Praxis für Allgemeinmedizin", Email: "j@example.org"},
		{Name: "患者", Email: "患者@example.org"},
	} {
		s := a.String()
		if hasControl(s) {
			t.Fatalf("String() = %q has control characters", s)
		}
		got, err := ParseAddress(s)
		if err != nil {
			t.Fatalf("ParseAddress(%q): %v", s, err)
		}
		if got != a {
			t.Errorf("round trip of %+v via %q gave %+v", a, s, got)
		}
	}
}
