package smtpd_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/smtpd"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// serve runs a submission listener of its own over the node's real
// services (outbox, auth, audit), for limits the node's configuration
// does not set.
func serve(t *testing.T, e *apitest.Env, l smtpd.Listener, opts smtpd.Options) net.Addr {
	t.Helper()
	a, _ := serveStoppable(t, e, l, opts)
	return a
}

// serveStoppable is serve that also returns a stop function, which ends
// Serve and waits for it.
func serveStoppable(t *testing.T, e *apitest.Env, l smtpd.Listener, opts smtpd.Options) (net.Addr, func() error) {
	t.Helper()
	l.Addr, l.Hostname = "127.0.0.1:0", "mx.test"
	l.TLS = &tls.Config{Certificates: []tls.Certificate{testpki.SelfSigned(t, []string{"localhost", "127.0.0.1"}, testpki.Options{})}, MinVersion: tls.VersionTLS12}
	if l.MaxRecipients == 0 {
		l.MaxRecipients = 100
	}
	l.ReadTimeout, l.WriteTimeout = time.Minute, time.Minute
	opts.Listeners = []smtpd.Listener{l}
	srv, err := smtpd.New(smtpd.Deps{Outbox: e.App.Outbox, Auth: e.App.Auth, Audit: e.App.Audit,
		Connectors: e.App.GatewayConnectors(), Clock: e.App.Clock}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv.Addr(l.Kind), stop
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	a := serve(t, e, smtpd.Listener{Kind: smtpd.Submission, MaxSize: 2048}, smtpd.Options{})
	w := login(t, a, e.A.Key)
	if caps := w.ehlo(); !strings.Contains(caps, "SIZE 2048") {
		t.Fatalf("EHLO does not advertise the limit: %q", caps)
	}
	// Declared too large: refused at MAIL (RFC 1870 section 6.1).
	w.cmd("MAIL FROM:<"+from+"> SIZE=4096", "552 5.3.4")
	// Undeclared: refused after DATA, with all of it read.
	w.cmd("MAIL FROM:<"+from+">", "250")
	w.cmd("RCPT TO:<patient@partner.example>", "250")
	w.cmd("DATA", "354")
	w.write(message(from, "patient@partner.example", "Big", strings.Repeat("0123456789abcdef\r\n", 200)) + "\r\n.\r\n")
	w.expect("552 5.3.4")
	w.noop()
	if n := messagesOf(t, e, e.A); n != 0 {
		t.Fatalf("%d oversize messages stored", n)
	}
	// A message within the limit still goes through on the same session.
	queuedID(t, w.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Small", "ok")))
}

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	a := serve(t, e, smtpd.Listener{Kind: smtpd.Submission, MaxSize: 1 << 20}, smtpd.Options{RatePerMinute: 2})
	w := login(t, a, e.A.Key)
	for i := 0; i < 2; i++ {
		queuedID(t, w.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Reminder", "See you soon.")))
	}
	w.cmd("MAIL FROM:<"+from+">", "451 4.7.0")
	// The bucket is the key's, not the connection's.
	w2 := login(t, a, e.A.Key)
	w2.cmd("MAIL FROM:<"+from+">", "451 4.7.0")
	// Another key has its own.
	other := e.KeyWith(t, e.A, "messages:send")
	w3 := login(t, a, other)
	queuedID(t, w3.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Reminder", "See you soon.")))
}

// TestShutdownEndsIdleConnections stops the server while a client sits
// idle after a delivered message: the client is told 421 and disconnected
// instead of holding the shutdown until its timeout.
func TestShutdownEndsIdleConnections(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	a, stop := serveStoppable(t, e, smtpd.Listener{Kind: smtpd.Submission, MaxSize: 1 << 20}, smtpd.Options{ShutdownTimeout: time.Hour})
	w := login(t, a, e.A.Key)
	queuedID(t, w.send(from, []string{"patient@partner.example"}, message(from, "patient@partner.example", "Hi", "Hello.")))
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	w.expect("421")
	w.closed()
	if err := <-stopped; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
		t.Fatal("the listener still accepts after shutdown")
	}
}
