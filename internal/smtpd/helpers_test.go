package smtpd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/store"
)

// wire is a raw SMTP client: it writes exactly the bytes a test gives and
// reads replies line by line, so tests can send what no well-behaved
// client would (bare LF, pipelined STARTTLS).
type wire struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dial connects from 127.0.0.1 and reads the greeting.
func dial(t *testing.T, addr net.Addr) *wire { return dialFrom(t, addr, "127.0.0.1") }

// dialFrom connects from a chosen loopback address (all of 127.0.0.0/8
// is the loopback interface), so gateway tests can be "another server".
func dialFrom(t *testing.T, addr net.Addr, local string) *wire {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return newWire(t, c)
}

// dialTLS connects with implicit TLS (port 465 style).
func dialTLS(t *testing.T, addr net.Addr) *wire {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr.String(), clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	return newWire(t, c)
}

func newWire(t *testing.T, c net.Conn) *wire {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	w := &wire{t: t, conn: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	w.expect("220")
	return w
}

// clientTLS trusts the node's self-signed development certificate.
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} // the node's self-signed development certificate
}

func (w *wire) write(s string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(s)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// reply reads one (possibly multi-line) reply, lines joined with "\n".
func (w *wire) reply() string {
	w.t.Helper()
	var lines []string
	for {
		l, err := w.r.ReadString('\n')
		if err != nil {
			w.t.Fatalf("read reply after %q: %v", lines, err)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect reads a reply and fails unless it starts with prefix.
func (w *wire) expect(prefix string) string {
	w.t.Helper()
	r := w.reply()
	if !strings.HasPrefix(r, prefix) {
		w.t.Fatalf("reply %q, want %s…", r, prefix)
	}
	return r
}

func (w *wire) cmd(line, prefix string) string {
	w.t.Helper()
	w.write(line + "\r\n")
	return w.expect(prefix)
}

// closed reads until the server closes the connection; a timeout fails.
func (w *wire) closed() {
	w.t.Helper()
	if _, err := io.Copy(io.Discard, w.r); err != nil {
		w.t.Fatalf("the server kept the connection open: %v", err)
	}
}

func (w *wire) ehlo() string { w.t.Helper(); return w.cmd("EHLO client.example", "250") }

// startTLS upgrades the connection, presenting certs (none when nil).
func (w *wire) startTLS(certs ...tls.Certificate) {
	w.t.Helper()
	w.cmd("STARTTLS", "220")
	w.upgrade(certs...)
}

// upgrade runs the TLS handshake after the server's 220 to STARTTLS.
func (w *wire) upgrade(certs ...tls.Certificate) {
	w.t.Helper()
	cfg := clientTLS()
	cfg.Certificates = certs
	tc := tls.Client(w.conn, cfg)
	if err := tc.Handshake(); err != nil {
		w.t.Fatalf("TLS handshake: %v", err)
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
}

func plain(user, key string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + key))
}

// login opens an authenticated submission session.
func login(t *testing.T, addr net.Addr, key string) *wire {
	t.Helper()
	w := dial(t, addr)
	w.ehlo()
	w.startTLS()
	w.ehlo()
	w.cmd("AUTH PLAIN "+plain("apikey", key), "235")
	return w
}

// send runs one transaction and returns the reply after DATA.
func (w *wire) send(from string, to []string, msg string) string {
	w.t.Helper()
	w.cmd("MAIL FROM:<"+from+">", "250")
	for _, r := range to {
		w.cmd("RCPT TO:<"+r+">", "250")
	}
	w.cmd("DATA", "354")
	w.write(msg + "\r\n.\r\n")
	return w.reply()
}

// message is a minimal RFC 5322 message with CRLF line ends.
func message(from, to, subject, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\n" + body
}

// queuedID is the message id from "250 2.0.0 OK: queued as msg_…".
func queuedID(t *testing.T, reply string) string {
	t.Helper()
	_, id, ok := strings.Cut(reply, "queued as ")
	if !strings.HasPrefix(reply, "250 2.0.0 ") || !ok || !strings.HasPrefix(id, "msg_") {
		t.Fatalf("reply after DATA %q, want 250 with the message id", reply)
	}
	return id
}

func count(t *testing.T, e *apitest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := store.Scan(e.App.DB.Reader().QueryRow(context.Background(), query, args...), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func messagesOf(t *testing.T, e *apitest.Env, tn *apitest.Tenant) int {
	t.Helper()
	return count(t, e, `SELECT count(*) FROM messages WHERE org_id = ?`, tn.Org.ID)
}

// addr is the node's listener of kind k.
func addr(t *testing.T, e *apitest.Env, k smtpd.Kind) net.Addr {
	t.Helper()
	a := e.Node.SMTPAddr(k)
	if a == nil {
		t.Fatalf("the node has no %s listener", k)
	}
	return a
}
