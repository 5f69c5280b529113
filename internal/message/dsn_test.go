package message

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func dsnParams(original []byte) DSNParams {
	at := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	return DSNParams{
		ReportingMTA:       "mta.carepost.example",
		OriginalEnvelopeID: "env_01jd8x3k9w",
		ArrivalDate:        at.Add(-time.Hour),
		Recipients: []DSNRecipient{
			{FinalRecipient: "pat@patient.example", Action: ActionFailed, Status: "5.1.1", RemoteMTA: "mx.patient.example",
				DiagnosticCode: "smtp; 550 5.1.1 <pat@patient.example>: user unknown\r\nX-Injected: yes", LastAttemptDate: at},
			{FinalRecipient: "lee@other.example", Action: ActionDelayed, Status: "4.4.1", DiagnosticCode: "connection timed out \xff"},
		},
		OriginalHeaders: original,
		From:            Address{Name: "Mail Delivery System", Email: "mailer-daemon@mta.carepost.example"},
		To:              Address{Email: "appointments@clinic.example"},
		Date:            at,
		MessageID:       "dsn.1@mta.carepost.example",
		Boundary:        counterBoundaries(),
	}
}

func TestBuildDSN(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	d.Text = "BODYCANARY diagnosis: diabetes\n"
	d.HTML = "<p>BODYCANARY</p>"
	original, err := Build(d, fixedOptions())
	if err != nil {
		t.Fatal(err)
	}
	out, err := BuildDSN(dsnParams(original))
	if err != nil {
		t.Fatal(err)
	}
	assertLineRules(t, out)
	golden(t, "dsn.eml", out)
	if bytes.Contains(out, []byte("BODYCANARY")) || bytes.Contains(out, []byte("directions.pdf")) {
		t.Error("the DSN echoes the original body")
	}
	p, err := Inspect(out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Defects) > 0 {
		t.Errorf("defects %v", p.Defects)
	}
	g := fieldsGetter(p.Header)
	ct := g.Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/report;") || !strings.Contains(ct, "report-type=delivery-status") {
		t.Errorf("Content-Type = %q", ct)
	}
	if g.Get("Auto-Submitted") != "auto-replied" || p.Subject != "Delivery Status Notification (Failure)" {
		t.Errorf("Auto-Submitted %q, Subject %q", g.Get("Auto-Submitted"), p.Subject)
	}
	if !strings.Contains(p.Text, "<pat@patient.example>: failed, status 5.1.1") {
		t.Errorf("human text = %q", p.Text)
	}
	if len(p.Attachments) != 2 {
		t.Fatalf("parts: %+v", p.Attachments)
	}
	status, headers := string(p.Attachments[0].Content), string(p.Attachments[1].Content)
	for _, want := range []string{
		"Reporting-MTA: dns; mta.carepost.example\r\n",
		"Original-Envelope-Id: env_01jd8x3k9w\r\n",
		"Arrival-Date: Fri, 14 Mar 2025 09:00:00 +0000\r\n\r\nFinal-Recipient: rfc822; pat@patient.example\r\n",
		"Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.patient.example\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <pat@patient.example>: user\r\n unknown??X-Injected: yes\r\n",
		"Last-Attempt-Date: Fri, 14 Mar 2025 10:00:00 +0000\r\n\r\nFinal-Recipient: rfc822; lee@other.example\r\n",
		"Diagnostic-Code: smtp; connection timed out ?",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, status)
		}
	}
	if p.Attachments[0].ContentType != "message/delivery-status" || p.Attachments[1].ContentType != "text/rfc822-headers" {
		t.Errorf("types %q %q", p.Attachments[0].ContentType, p.Attachments[1].ContentType)
	}
	if !strings.Contains(headers, "Subject: Your appointment on Monday") || strings.Contains(headers, "\r\n\r\n") {
		t.Errorf("rfc822-headers = %q", headers)
	}
}

// TestDSNWholeMessageCut passes a whole LF message as OriginalHeaders: only
// its header may come back.
func TestDSNWholeMessageCut(t *testing.T) {
	t.Parallel()
	out, err := BuildDSN(dsnParams([]byte("Subject: x\nX-Bad: a\rb\n\nBODYCANARY\n")))
	if err != nil {
		t.Fatal(err)
	}
	assertLineRules(t, out)
	if bytes.Contains(out, []byte("BODYCANARY")) {
		t.Error("body echoed")
	}
	if !bytes.Contains(out, []byte("Subject: x\r\nX-Bad: a b\r\n--")) {
		t.Errorf("headers not normalized:\n%s", out)
	}
}

func TestDSNRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(p *DSNParams)
	}{
		{"no recipients", func(p *DSNParams) { p.Recipients = nil }},
		{"bad action", func(p *DSNParams) { p.Recipients[0].Action = "bounced" }},
		{"status class mismatch", func(p *DSNParams) { p.Recipients[0].Status = "4.1.1" }},
		{"bad status", func(p *DSNParams) { p.Recipients[0].Status = "5.1" }},
		{"bad recipient", func(p *DSNParams) { p.Recipients[0].FinalRecipient = "pat\r\n@x.example" }},
		{"bad remote mta", func(p *DSNParams) { p.Recipients[0].RemoteMTA = "mx\r\nX: y" }},
		{"bad reporting mta", func(p *DSNParams) { p.ReportingMTA = "localhost" }},
		{"bad envelope id", func(p *DSNParams) { p.OriginalEnvelopeID = "a b" }},
		{"bad from", func(p *DSNParams) { p.From.Name = "x\r\n" }},
		{"control in human text", func(p *DSNParams) { p.Human = "x\x00" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := dsnParams([]byte("Subject: x\r\n\r\n"))
			tt.edit(&p)
			if _, err := BuildDSN(p); err == nil {
				t.Error("BuildDSN accepted it")
			}
		})
	}
}
