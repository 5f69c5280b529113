package smtpd_test

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/store/storetest"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// noop proves the server has no reply pending: the next reply read must be
// the NOOP's own.
func (w *wire) noop() {
	w.t.Helper()
	w.cmd("NOOP", "250 2.0.0 I have successfully done nothing")
}

// TestSmugglingSequencesNeverEndData sends, raw over the socket, the
// end-of-data look-alikes of SMTP smuggling (CVE-2023-51764 and its
// relatives) followed by a smuggled transaction. The data must end only at
// the real CRLF.CRLF, be refused for its bare line end, and store nothing;
// the smuggled MAIL, RCPT and DATA must never run.
func TestSmugglingSequencesNeverEndData(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	w := login(t, addr(t, e, smtpd.Submission), e.A.Key)
	smuggled := "MAIL FROM:<" + from + ">\r\nRCPT TO:<victim@partner.example>\r\nDATA\r\nFrom: " + from + "\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"
	for _, seq := range []string{"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r.\n"} {
		t.Run(strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(seq), func(t *testing.T) {
			w.t = t
			w.cmd("MAIL FROM:<"+from+">", "250")
			w.cmd("RCPT TO:<patient@partner.example>", "250")
			w.cmd("DATA", "354")
			w.write(message(from, "patient@partner.example", "Hi", "first part") + seq + smuggled + "\r\n.\r\n")
			w.expect("550 5.6.0")
			w.noop()
		})
	}
	w.t = t
	t.Run("bare LF line ends", func(t *testing.T) {
		w.t = t
		w.cmd("MAIL FROM:<"+from+">", "250")
		w.cmd("RCPT TO:<patient@partner.example>", "250")
		w.cmd("DATA", "354")
		w.write("From: " + from + "\nSubject: unix\n\nbody\n\r\n.\r\n")
		w.expect("550 5.6.0")
		w.noop()
	})
	w.t = t
	if n := messagesOf(t, e, e.A); n != 0 {
		t.Fatalf("%d messages stored from refused data", n)
	}

	// QUIRK (see the package documentation): go-smtp drops "." CR at the
	// start of a line when no LF follows. What remains has no bare line end
	// and is one message: the text after it is content, never a command.
	w.cmd("MAIL FROM:<"+from+">", "250")
	w.cmd("RCPT TO:<patient@partner.example>", "250")
	w.cmd("DATA", "354")
	w.write(message(from, "patient@partner.example", "Hi", "first part") + "\r\n.\r" + smuggled + "\r\n.\r\n")
	queuedID(t, w.reply())
	w.noop()
	if n := messagesOf(t, e, e.A); n != 1 {
		t.Fatalf("%d messages stored, want the one", n)
	}
}

// TestPipelinedCommandAfterSTARTTLSIsDiscarded pipelines a command in the
// same packet as STARTTLS (CVE-2011-0411). It must not run, neither in
// clear nor inside the TLS session.
func TestPipelinedCommandAfterSTARTTLSIsDiscarded(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	for _, k := range []smtpd.Kind{smtpd.Submission, smtpd.Gateway} {
		t.Run(string(k), func(t *testing.T) {
			w := dial(t, addr(t, e, k))
			w.ehlo()
			w.write("STARTTLS\r\nHELP\r\n") // one write, one segment on loopback
			w.expect("220 2.0.0")
			w.upgrade()
			// Had HELP run, its 502 would be the next reply.
			w.noop()
			if caps := w.ehlo(); k == smtpd.Submission && !strings.Contains(caps, "AUTH") {
				t.Errorf("EHLO in TLS = %q", caps)
			}
		})
	}
}

// TestChunking covers BDAT (RFC 3030), which go-smtp always offers and
// Exchange Online uses when offered: chunks carry raw octets with no
// end-of-data marker at all, and the same line-ending rule applies.
func TestChunking(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	w := login(t, addr(t, e, smtpd.Submission), e.A.Key)
	bdat := func(msg string) string {
		w.cmd("MAIL FROM:<"+from+">", "250")
		w.cmd("RCPT TO:<patient@partner.example>", "250")
		half := len(msg) / 2
		w.write("BDAT " + strconv.Itoa(half) + "\r\n" + msg[:half])
		w.expect("250 2.0.0 Continue")
		w.write("BDAT " + strconv.Itoa(len(msg)-half) + " LAST\r\n" + msg[half:])
		return w.reply()
	}
	queuedID(t, bdat(message(from, "patient@partner.example", "Chunked", "one\r\ntwo\r\n")))
	if r := bdat(message(from, "patient@partner.example", "Chunked", "one\n.\nMAIL FROM:<x@a.example>\r\n")); !strings.HasPrefix(r, "550 5.6.0") {
		t.Fatalf("bare LF in chunks: %q", r)
	}
	w.noop()
	if n := messagesOf(t, e, e.A); n != 1 {
		t.Fatalf("%d messages stored, want the one well-formed", n)
	}
}
