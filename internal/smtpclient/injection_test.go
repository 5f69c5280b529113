package smtpclient_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/testpki"
)

// An attacker on the path appends plaintext replies to the server's 220 to
// STARTTLS, hoping the client reads them as the answer to its EHLO inside
// TLS (the STARTTLS command-injection class, CVE-2011-0411 and kin). The
// client must discard them and believe only what comes through TLS.
func TestSTARTTLSDiscardsInjectedReplies(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "test CA")
	cert := ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := make(chan error, 1)
	go func() { served <- injectingServer(ln, cert) }()

	c, err := smtpclient.Dial(t.Context(), options(ln.Addr().String(), smtpclient.RequireVerified, ca.Pool))
	if err != nil {
		t.Fatal(err)
	}
	if c.Supports("REQUIRETLS") || !c.Supports("PIPELINING") {
		t.Errorf("client believes the injected capabilities (REQUIRETLS %v, PIPELINING %v)",
			c.Supports("REQUIRETLS"), c.Supports("PIPELINING"))
	}
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// injectingServer speaks just enough SMTP for one session, injecting
// "250 REQUIRETLS" after its 220 to STARTTLS, in the same write.
func injectingServer(ln net.Listener, cert tls.Certificate) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	tp := textproto.NewConn(conn)
	steps := []struct{ expect, reply string }{
		{"", "220 mx ESMTP"},
		{"EHLO", "250-mx\r\n250 STARTTLS"},
		{"STARTTLS", "220 go ahead\r\n250-mx\r\n250 REQUIRETLS"},
	}
	for _, s := range steps {
		if s.expect != "" {
			line, err := tp.ReadLine()
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, s.expect) {
				return fmt.Errorf("got %q, want %s", line, s.expect)
			}
		}
		if err := tp.PrintfLine("%s", s.reply); err != nil {
			return err
		}
	}
	tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		return err
	}
	tp = textproto.NewConn(tc)
	for _, s := range []struct{ expect, reply string }{
		{"EHLO", "250-mx\r\n250 PIPELINING"},
		{"QUIT", "221 bye"},
	} {
		line, err := tp.ReadLine()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, s.expect) {
			return fmt.Errorf("got %q, want %s", line, s.expect)
		}
		if err := tp.PrintfLine("%s", s.reply); err != nil {
			return err
		}
	}
	return nil
}
