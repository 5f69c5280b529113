package smtpd_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestSubmissionNeedsTLSThenAuthAndAnswersAfterCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		from := e.Sender(t, e.A)
		w := dial(t, addr(t, e, smtpd.Submission))

		caps := w.ehlo()
		if !strings.Contains(caps, "STARTTLS") || strings.Contains(caps, "AUTH") {
			t.Fatalf("EHLO before TLS = %q: want STARTTLS offered and AUTH not advertised", caps)
		}
		w.cmd("AUTH PLAIN "+plain("apikey", e.A.Key), "523 5.7.10") // RFC 8314: no credentials in clear
		w.cmd("MAIL FROM:<"+from+">", "530 5.7.0")

		w.startTLS()
		caps = w.ehlo()
		for _, c := range []string{"AUTH PLAIN LOGIN", "SIZE 25000000", "REQUIRETLS", "SMTPUTF8", "8BITMIME", "PIPELINING"} {
			if !strings.Contains(caps, c) {
				t.Errorf("EHLO after TLS lacks %s: %q", c, caps)
			}
		}
		w.cmd("MAIL FROM:<"+from+">", "530 5.7.0") // still not authenticated
		w.cmd("AUTH PLAIN "+plain("anything", e.A.Key), "235")
		w.cmd("MAIL FROM:<"+from+"> REQUIRETLS", "250")
		w.cmd("RCPT TO:<patient@partner.example>", "250")
		w.cmd("RCPT TO:<Other Person <bad", "501")
		w.cmd("RCPT TO:<second@partner.example>", "250")
		w.cmd("DATA", "354")
		w.write(message(from, "patient@partner.example", "Results", "Your results are ready.") + "\r\n.\r\n")
		id := queuedID(t, w.reply())

		// The rows exist the moment 250 arrives: the commit came first.
		var source, submitter string
		var dsn, requireTLS bool
		row := e.App.DB.Reader().QueryRow(context.Background(),
			`SELECT source, submitter_type, dsn, requiretls FROM messages WHERE org_id = ? AND id = ?`, e.A.Org.ID, id)
		if err := store.Scan(row, &source, &submitter, &dsn, &requireTLS); err != nil {
			t.Fatalf("message %s after 250: %v", id, err)
		}
		if source != "smtp" || submitter != "apikey" || !dsn || !requireTLS {
			t.Errorf("message row: source %q, submitter %q, dsn %v, requiretls %v", source, submitter, dsn, requireTLS)
		}
		if n := count(t, e, `SELECT count(*) FROM recipients WHERE message_id = ?`, id); n != 2 {
			t.Errorf("%d recipient rows, want 2", n)
		}
		w.cmd("QUIT", "221")

		metrics := scrape(t, e, `carepost_smtp_sessions_total{listener="submission",result="accepted"} 1`)
		if !strings.Contains(metrics, `carepost_smtp_messages_total{listener="submission",result="accepted"} 1`) {
			t.Errorf("metrics lack the accepted message:\n%s", grep(metrics, "carepost_smtp"))
		}
	})
}

func TestSubmissionRefusesBadKeys(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	a := addr(t, e, smtpd.Submission)
	noSend := e.KeyWith(t, e.A, "users:read")

	w := dial(t, a)
	w.ehlo()
	w.startTLS()
	w.ehlo()
	wrong := e.A.Key[:len(e.A.Key)-4] + "AAAA"
	if r := w.cmd("AUTH PLAIN "+plain("", wrong), "535 5.7.8"); strings.Contains(r, "secret") || strings.Contains(r, "key") {
		t.Errorf("the refusal says why: %q", r)
	}
	w.cmd("AUTH PLAIN "+plain("", noSend), "535 5.7.8") // a valid key without messages:send
	// The third failure on one connection ends it.
	w.cmd("AUTH PLAIN "+plain("", "cpk_nope"), "421 4.7.0")
	w.closed()

	var denied int
	err := store.Scan(e.App.DB.Reader().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'smtp.auth' AND outcome = 'denied'`, e.A.Org.ID), &denied)
	if err != nil || denied != 1 {
		t.Errorf("audited refusals of the key without messages:send: %d, %v", denied, err)
	}
	if n := count(t, e, `SELECT count(*) FROM audit_entries WHERE action = 'auth.login' AND outcome = 'failure'`); n < 2 {
		t.Errorf("package auth audited %d failed key checks, want the wrong and the malformed key", n)
	}

	// AUTH LOGIN, the mechanism Outlook uses, with the user name asked for.
	w = dial(t, a)
	w.ehlo()
	w.startTLS()
	w.ehlo()
	w.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
	w.cmd(b64("someone@a.example"), "334 UGFzc3dvcmQ6")
	w.cmd(b64(e.A.Key), "235")
}

func TestImplicitTLSSubmission(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	w := dialTLS(t, addr(t, e, smtpd.SubmissionTLS))
	caps := w.ehlo()
	if strings.Contains(caps, "STARTTLS") || !strings.Contains(caps, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO on implicit TLS = %q", caps)
	}
	w.cmd("AUTH PLAIN "+plain("", e.A.Key), "235")
	id := queuedID(t, w.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Hello", "Hi.")))
	if n := count(t, e, `SELECT count(*) FROM messages WHERE id = ? AND source = 'smtp'`, id); n != 1 {
		t.Fatalf("message %s not stored", id)
	}
}

// scrape reads /metrics until it contains want (session counters move
// when the server closes the connection).
func scrape(t *testing.T, e *apitest.Env, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.Do(t, "", http.MethodGet, "/metrics", nil)
		if strings.Contains(string(r.Body), want) {
			return string(r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s:\n%s", want, grep(string(r.Body), "carepost_smtp"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func grep(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
