package portal

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/carepost/carepost/internal/message"
)

// The portal's mail carries no PHI (see the package documentation): these
// builders take only the organization's name, its notification text, the
// subject when the organization shows it and policy did not flag it, a
// link, a code and times. Nothing else reaches them.

type noticeInput struct {
	Org, From, To string
	Subject       string // "" unless shown
	Text          string
	Link          string
	Expires       time.Time
}

// noticeDraft is the notification of a new portal message.
func noticeDraft(in noticeInput) message.Draft {
	subject := "Secure message from " + headerText(in.Org, 120)
	if s := headerText(in.Subject, 200); s != "" {
		subject += ": " + s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sent you a secure message.\n\n", in.Org)
	b.WriteString(in.Text)
	fmt.Fprintf(&b, "\n\nOpen the message:\n%s\n\n", in.Link)
	fmt.Fprintf(&b, "The link works until %s. Before the message is shown, you will be asked to confirm it is you.\n\n",
		in.Expires.UTC().Format("2 January 2006"))
	b.WriteString("If you did not expect a message from " + in.Org + ", you can ignore this email.\n")
	return message.Draft{
		From:    message.Address{Name: headerText(in.Org, 120), Email: in.From},
		To:      []message.Address{{Email: in.To}},
		Subject: subject,
		Text:    b.String(),
		Headers: map[string]string{"Auto-Submitted": "auto-generated"}, // RFC 3834 section 5
	}
}

type codeInput struct {
	Org, From, To string
	Code          string
	TTL           time.Duration
}

// codeDraft is the email carrying a one-time code.
func codeDraft(in codeInput) message.Draft {
	text := fmt.Sprintf("Your code to open the secure message from %s is:\n\n    %s\n\n"+
		"It works once, for the next %d minutes. Never share it: %s will never ask you for it.\n\n"+
		"If you did not ask for a code, you can ignore this email.\n", in.Org, in.Code, int(in.TTL.Minutes()), in.Org)
	return message.Draft{
		From:    message.Address{Name: headerText(in.Org, 120), Email: in.From},
		To:      []message.Address{{Email: in.To}},
		Subject: "Your verification code",
		Text:    text,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

// smsText is an SMS carrying a one-time code.
func smsText(org, code string) string {
	return fmt.Sprintf("%s: your code to open your secure message is %s. Never share it.", headerText(org, 60), code)
}

// headerText makes s safe as a header phrase: control characters become
// spaces, runs of spaces collapse, and it is cut to at most max runes.
func headerText(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimSpace(string(r[:max])) + "…"
	}
	return s
}
