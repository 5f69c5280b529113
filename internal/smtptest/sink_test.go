package smtptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/testpki"
)

// raw is a hand-driven SMTP client, independent of internal/smtpclient, so
// the sinks are tested by something other than the code they test.
type raw struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := &raw{t: t, conn: c, tp: textproto.NewConn(c)}
	r.expect(220)
	return r
}

// cmd sends a line and returns the reply, failing the test unless it has code.
func (r *raw) cmd(code int, line string) string {
	r.t.Helper()
	if err := r.tp.PrintfLine("%s", line); err != nil {
		r.t.Fatalf("send %q: %v", line, err)
	}
	return r.expect(code)
}

func (r *raw) expect(code int) string {
	r.t.Helper()
	got, msg, err := r.tp.ReadResponse(code)
	if err != nil {
		r.t.Fatalf("want %d, got %d %q: %v", code, got, msg, err)
	}
	return msg
}

// startTLS upgrades the connection with cfg.
func (r *raw) startTLS(cfg *tls.Config) (tls.ConnectionState, error) {
	r.t.Helper()
	r.cmd(220, "STARTTLS")
	tc := tls.Client(r.conn, cfg)
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	r.conn, r.tp = tc, textproto.NewConn(tc)
	return tc.ConnectionState(), nil
}

func (r *raw) send(from string, rcpts []string, body string) {
	r.t.Helper()
	r.cmd(250, "MAIL FROM:<"+from+">")
	for _, rc := range rcpts {
		r.cmd(250, "RCPT TO:<"+rc+">")
	}
	r.cmd(354, "DATA")
	w := r.tp.DotWriter()
	_, _ = w.Write([]byte(body))
	_ = w.Close()
	r.expect(250)
}

func TestTLS10OnlySinkServesTLS10Only(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "ca")
	cert := ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{})
	sink := smtptest.NewSink(t, smtptest.Options{Cert: &cert, MinTLSVersion: tls.VersionTLS10, MaxTLSVersion: tls.VersionTLS10})

	old := dialRaw(t, sink.Addr())
	old.cmd(250, "EHLO client.test")
	cs, err := old.startTLS(&tls.Config{ServerName: smtptest.MXHost, RootCAs: ca.Pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
	if err != nil {
		t.Fatalf("TLS 1.0 handshake: %v", err)
	}
	if cs.Version != tls.VersionTLS10 {
		t.Fatalf("negotiated %s, want TLS 1.0", tls.VersionName(cs.Version))
	}

	modern := dialRaw(t, sink.Addr())
	modern.cmd(250, "EHLO client.test")
	if _, err := modern.startTLS(&tls.Config{ServerName: smtptest.MXHost, RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("a TLS 1.2+ client completed a handshake with the TLS 1.0-only sink")
	}
}

func TestSinkRecordsEnvelopeTransportAndCounts(t *testing.T) {
	t.Parallel()
	sink, ca := smtptest.NewTLSSink(t, smtptest.Options{})
	c := dialRaw(t, sink.Addr())
	if ehlo := c.cmd(250, "EHLO client.test"); !strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("STARTTLS not advertised: %q", ehlo)
	}
	if _, err := c.startTLS(&tls.Config{ServerName: smtptest.MXHost, RootCAs: ca.Pool}); err != nil {
		t.Fatal(err)
	}
	c.cmd(250, "EHLO client.test")
	c.send("a@sender.test", []string{"x@rcpt.test", "y@rcpt.test"}, "Subject: one\r\n\r\n.leading dot\r\n")
	c.send("a@sender.test", []string{"z@rcpt.test"}, "Subject: two\r\n\r\nbody\r\n")

	msgs, err := sink.WaitFor(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != "a@sender.test" || strings.Join(m.Rcpts, ",") != "x@rcpt.test,y@rcpt.test" {
		t.Errorf("envelope = %q %q", m.From, m.Rcpts)
	}
	if string(m.Data) != "Subject: one\r\n\r\n.leading dot\r\n" {
		t.Errorf("data = %q", m.Data)
	}
	if !m.TLS || m.TLSVersion < tls.VersionTLS12 || m.SNI != smtptest.MXHost {
		t.Errorf("transport: tls=%v version=%x sni=%q", m.TLS, m.TLSVersion, m.SNI)
	}
	conns := sink.Conns()
	if len(conns) != 1 || conns[0].Transactions != 2 || conns[0].Mails != 2 || !conns[0].TLS {
		t.Errorf("conns = %+v, want one TLS connection with 2 transactions", conns)
	}
}

func TestSinkScripts(t *testing.T) {
	t.Parallel()
	sink := smtptest.NewSink(t, smtptest.Options{Script: smtptest.Script{
		RejectRcpt:   []string{"Gone@Rcpt.test"},
		TempFailData: 1,
	}})
	c := dialRaw(t, sink.Addr())
	c.cmd(250, "EHLO client.test")
	c.cmd(250, "MAIL FROM:<a@sender.test>")
	if msg := c.cmd(550, "RCPT TO:<gone@rcpt.test>"); !strings.HasPrefix(msg, "5.1.1") {
		t.Errorf("rejection %q lacks 5.1.1", msg)
	}
	c.cmd(250, "RCPT TO:<ok@rcpt.test>")
	c.cmd(354, "DATA")
	w := c.tp.DotWriter()
	_, _ = w.Write([]byte("first\r\n"))
	_ = w.Close()
	c.expect(451)
	c.send("a@sender.test", []string{"ok@rcpt.test"}, "second\r\n")
	msgs := sink.Messages()
	if len(msgs) != 1 || string(msgs[0].Data) != "second\r\n" {
		t.Fatalf("messages = %+v, want only the second", msgs)
	}
}

// TestSinkTakesBDAT: the Sink advertises CHUNKING (go-smtp always does),
// takes a BDAT LAST chunk pipelined with its envelope, records it as sent
// (a line starting with "." is not un-stuffed), and plays its Script on
// BDAT as on DATA.
func TestSinkTakesBDAT(t *testing.T) {
	t.Parallel()
	sink := smtptest.NewSink(t, smtptest.Options{Script: smtptest.Script{TempFailData: 1}})
	c := dialRaw(t, sink.Addr())
	if ehlo := c.cmd(250, "EHLO client.test"); !strings.Contains(ehlo, "CHUNKING") || !strings.Contains(ehlo, "PIPELINING") {
		t.Fatalf("CHUNKING and PIPELINING not both advertised: %q", ehlo)
	}
	body := "Subject: chunk\r\n\r\n.leading dot\r\n..two\r\n"
	for _, want := range []int{451, 250} {
		fmt.Fprintf(c.tp.W, "MAIL FROM:<a@sender.test>\r\nRCPT TO:<b@rcpt.test>\r\nBDAT %d LAST\r\n%s", len(body), body)
		if err := c.tp.W.Flush(); err != nil {
			t.Fatal(err)
		}
		c.expect(250)
		c.expect(250)
		c.expect(want)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || string(msgs[0].Data) != body {
		t.Fatalf("messages = %+v, want only the second, as sent", msgs)
	}
}

func TestSinkDropsMidData(t *testing.T) {
	t.Parallel()
	sink := smtptest.NewSink(t, smtptest.Options{Script: smtptest.Script{DropData: 1, DropAfterBytes: 10}})
	c := dialRaw(t, sink.Addr())
	c.cmd(250, "EHLO client.test")
	c.cmd(250, "MAIL FROM:<a@sender.test>")
	c.cmd(250, "RCPT TO:<b@rcpt.test>")
	c.cmd(354, "DATA")
	w := c.tp.DotWriter()
	_, _ = w.Write([]byte(strings.Repeat("x", 100) + "\r\n"))
	_ = w.Close()
	if code, _, err := c.tp.ReadResponse(250); err == nil {
		t.Fatalf("got %d after a dropped DATA, want the connection closed", code)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages recorded from a dropped transfer", n)
	}
}

func TestSlowGreeting(t *testing.T) {
	t.Parallel()
	sink := smtptest.NewSink(t, smtptest.Options{Script: smtptest.Script{GreetingDelay: 5 * time.Second}})
	c, err := net.Dial("tcp", sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("read %d greeting bytes before the delay", n)
	}
}

func TestStripTLSProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      smtptest.ProxyOptions
		advertise []string
		absent    []string
	}{
		{"strip", smtptest.ProxyOptions{}, []string{"PIPELINING", "8BITMIME"}, []string{"STARTTLS"}},
		{"refuse", smtptest.ProxyOptions{Refuse: true}, []string{"STARTTLS", "PIPELINING"}, nil},
		{"strip pipelining too", smtptest.ProxyOptions{Strip: []string{"pipelining"}}, []string{"8BITMIME"}, []string{"STARTTLS", "PIPELINING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink, _ := smtptest.NewTLSSink(t, smtptest.Options{})
			proxy := smtptest.NewStripTLSProxy(t, sink.Addr(), tt.opts)
			c := dialRaw(t, proxy.Addr())
			ehlo := c.cmd(250, "EHLO client.test")
			for _, kw := range tt.advertise {
				if !strings.Contains(ehlo, kw) {
					t.Errorf("%s missing from %q", kw, ehlo)
				}
			}
			for _, kw := range tt.absent {
				if strings.Contains(ehlo, kw) {
					t.Errorf("%s still in %q", kw, ehlo)
				}
			}
			c.cmd(454, "STARTTLS")
			c.send("a@sender.test", []string{"b@rcpt.test"}, "plain\r\n")
			msgs, err := sink.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if msgs[0].TLS {
				t.Fatal("a TLS session formed through the proxy")
			}
		})
	}
}

// The test CA must not be trusted by the system; otherwise "self-signed"
// and "unknown CA" cases in other packages would mean nothing.
func TestCANotInSystemRoots(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "ca")
	leaf := ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{})
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: smtptest.MXHost}); err == nil {
		t.Fatal("a test CA leaf verifies against the system roots")
	}
}
