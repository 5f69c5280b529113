package message

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAcceptsSample(t *testing.T) {
	t.Parallel()
	if err := sampleDraft().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateNamesField tries each class of bad input, including header
// injection through every value that reaches a header, and checks the error
// names the right field and does not echo the value.
func TestValidateNamesField(t *testing.T) {
	t.Parallel()
	const canary = "CANARYPHI"
	tests := []struct {
		name   string
		edit   func(d *Draft)
		field  string
		substr string // in the message
	}{
		{"CR LF in subject", func(d *Draft) { d.Subject = "Hi " + canary + "\r\nBcc: x@evil.example" }, "subject", "header injection"},
		{"LF in subject", func(d *Draft) { d.Subject = canary + "\nX: y" }, "subject", "header injection"},
		{"long subject", func(d *Draft) { d.Subject = strings.Repeat(canary, 101) }, "subject", "too long"},
		{"CR LF in display name", func(d *Draft) { d.To[0].Name = canary + "\r\nBcc: x@evil.example" }, "to[0].name", "header injection"},
		{"CR LF in from name", func(d *Draft) { d.From.Name = canary + "\r\n" }, "from.name", "header injection"},
		{"LF in email", func(d *Draft) { d.Cc[0].Email = canary + "@example.org\nBcc: y@evil.example" }, "cc[0].email", "control character"},
		{"bad third recipient", func(d *Draft) {
			d.To = append(d.To, Address{Email: "b@example.org"}, Address{Email: canary + "@localhost"})
		}, "to[2].email", "fully qualified"},
		{"bad bcc", func(d *Draft) { d.Bcc[0].Email = canary }, "bcc[0].email", "RFC 5322"},
		{"bad reply-to", func(d *Draft) { d.ReplyTo[0].Email = canary + "@" }, "reply_to[0].email", "empty domain"},
		{"missing from", func(d *Draft) { d.From = Address{} }, "from.email", "required"},
		{"no recipients", func(d *Draft) { d.To, d.Cc, d.Bcc = nil, nil, nil }, "to", "at least one recipient"},
		{"no body", func(d *Draft) { d.Text, d.HTML = "", "" }, "text", "text or html"},
		{"NUL in text", func(d *Draft) { d.Text = canary + "\x00" }, "text", "control character"},
		{"invalid UTF-8 html", func(d *Draft) { d.HTML = canary + "\xff" }, "html", "UTF-8"},
		{"CR LF in header value", func(d *Draft) { d.Headers["X-Campaign-Id"] = canary + "\r\nBcc: x@evil.example" }, "headers.X-Campaign-Id", "header injection"},
		{"CR LF in header name", func(d *Draft) { d.Headers["X-A\r\nBcc"] = canary }, "headers.X-A__Bcc", "RFC 5322 section 2.2"},
		{"space in header name", func(d *Draft) { d.Headers["X-A B"] = canary }, "headers.X-A_B", "RFC 5322 section 2.2"},
		{"colon in header name", func(d *Draft) { d.Headers["X-A:B"] = canary }, "headers.X-A:B", "RFC 5322 section 2.2"},
		{"structural From", func(d *Draft) { d.Headers["from"] = canary + "@evil.example" }, "headers.from", "set by carepost"},
		{"structural Bcc", func(d *Draft) { d.Headers["Bcc"] = canary + "@evil.example" }, "headers.Bcc", "set by carepost"},
		{"structural Content-Type", func(d *Draft) { d.Headers["Content-Type"] = "text/html" }, "headers.Content-Type", "set by carepost"},
		{"structural DKIM-Signature", func(d *Draft) { d.Headers["DKIM-Signature"] = "v=1" }, "headers.DKIM-Signature", "set by carepost"},
		{"structural Received", func(d *Draft) { d.Headers["Received"] = "from x" }, "headers.Received", "set by carepost"},
		{"structural Message-ID", func(d *Draft) { d.Headers["Message-ID"] = "<x@y>" }, "headers.Message-ID", "set by carepost"},
		{"unknown header", func(d *Draft) { d.Headers["Organization"] = canary }, "headers.Organization", "not allowed"},
		{"reserved prefix", func(d *Draft) { d.Headers["X-Carepost-Policy"] = "none" }, "headers.X-Carepost-Policy", "reserved"},
		{"non-ASCII structured header", func(d *Draft) { d.Headers["List-Id"] = "Klinik " + canary + " <ü.example>" }, "headers.List-Id", "US-ASCII"},
		{"CR LF in filename", func(d *Draft) { d.Attachments[1].Filename = canary + ".pdf\r\nContent-Type: text/html" }, "attachments[1].filename", "control character"},
		{"path in filename", func(d *Draft) { d.Attachments[1].Filename = "../../" + canary + ".pdf" }, "attachments[1].filename", "path separator"},
		{"backslash in filename", func(d *Draft) { d.Attachments[1].Filename = `C:\` + canary + ".pdf" }, "attachments[1].filename", "path separator"},
		{"dot-dot filename", func(d *Draft) { d.Attachments[1].Filename = ".." }, "attachments[1].filename", "relative path"},
		{"empty filename", func(d *Draft) { d.Attachments[1].Filename = "" }, "attachments[1].filename", "required"},
		{"CR LF in content type", func(d *Draft) {
			d.Attachments[0].ContentType = "image/png\r\nContent-Disposition: attachment; filename=" + canary
		}, "attachments[0].content_type", "header injection"},
		{"bad content type", func(d *Draft) { d.Attachments[0].ContentType = "image png " + canary }, "attachments[0].content_type", "media type"},
		{"multipart content type", func(d *Draft) { d.Attachments[0].ContentType = "multipart/mixed; boundary=x" }, "attachments[0].content_type", "cannot be attached"},
		{"inline without content id", func(d *Draft) { d.Attachments[0].ContentID = "" }, "attachments[0].content_id", "required"},
		{"content id with brackets", func(d *Draft) { d.Attachments[0].ContentID = "<" + canary + ">" }, "attachments[0].content_id", "angle brackets"},
		{"CR LF in content id", func(d *Draft) { d.Attachments[0].ContentID = canary + "\r\nX: y" }, "attachments[0].content_id", "RFC 2392"},
		{"CR LF in tag", func(d *Draft) { d.Tags = []string{"ok", canary + "\r\n"} }, "tags[1]", "control characters"},
		{"bad metadata", func(d *Draft) { d.Metadata["k"] = canary + "\x00" }, "metadata.k", "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := sampleDraft()
			tt.edit(&d)
			err := d.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			var l FieldErrors
			errors.As(err, &l)
			var found *FieldError
			for _, e := range l {
				if e.Field == tt.field {
					found = e
				}
			}
			if found == nil {
				t.Fatalf("no error for field %q in %v", tt.field, err)
			}
			if !strings.Contains(found.Msg, tt.substr) {
				t.Errorf("message %q does not contain %q", found.Msg, tt.substr)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error echoes the value: %v", err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error contains a line break: %q", err.Error())
			}
			if _, err := Build(d, fixedOptions()); err == nil {
				t.Error("Build accepted a draft Validate refused")
			}
		})
	}
}

// TestValidateReportsAll checks that every problem is reported at once.
func TestValidateReportsAll(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	d.Subject = "a\r\nb"
	d.To[0].Email = "nobody"
	d.Attachments[1].Filename = "a/b"
	d.Headers["Bcc"] = "x@example.org"
	var l FieldErrors
	if !errors.As(d.Validate(), &l) {
		t.Fatal("want FieldErrors")
	}
	var fields []string
	for _, e := range l {
		fields = append(fields, e.Field)
	}
	want := "to[0].email subject attachments[1].filename headers.Bcc"
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

func TestValidateLimits(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	d.Attachments[1].Content = make([]byte, 2000)
	if err := d.ValidateWith(ValidateOptions{MaxSize: 1000}); !hasField(err, "size") {
		t.Errorf("size limit: %v", err)
	}
	d = sampleDraft()
	for i := 0; i < 5; i++ {
		d.Bcc = append(d.Bcc, Address{Email: "x@example.org"})
	}
	if err := d.ValidateWith(ValidateOptions{MaxRecipients: 4}); !hasField(err, "to") {
		t.Errorf("recipient limit: %v", err)
	}
	d = sampleDraft()
	if err := d.ValidateWith(ValidateOptions{MaxAttachments: 1}); !hasField(err, "attachments") {
		t.Errorf("attachment limit: %v", err)
	}
	// The built size counts too: base64 makes 2000 content bytes bigger.
	d = sampleDraft()
	d.Attachments[1].Content = make([]byte, 3000)
	opts := fixedOptions()
	opts.Limits.MaxSize = 3500
	if _, err := Build(d, opts); !errors.Is(err, errTooLarge) {
		t.Errorf("Build over the size limit: %v", err)
	}
}

func hasField(err error, field string) bool {
	var l FieldErrors
	if !errors.As(err, &l) {
		return false
	}
	for _, e := range l {
		if e.Field == field {
			return true
		}
	}
	return false
}

func TestDraftNeedsSMTPUTF8(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	if d.NeedsSMTPUTF8() {
		t.Error("ASCII draft needs SMTPUTF8")
	}
	d.Bcc = append(d.Bcc, Address{Email: "jürgen@example.org"})
	if !d.NeedsSMTPUTF8() {
		t.Error("UTF-8 Bcc local part not reported")
	}
	d = sampleDraft()
	d.To[0] = Address{Name: "Jürgen", Email: "j@bücher.example"} // name encoded, domain in A-labels
	if d.NeedsSMTPUTF8() {
		t.Error("UTF-8 name or IDN domain should not need SMTPUTF8")
	}
}
