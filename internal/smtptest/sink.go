package smtptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/carepost/carepost/internal/testpki"
)

// MXHost is the host name NewTLSSink's certificate is valid for.
const MXHost = "mx.example.test"

// Options shapes a Sink. The zero value is a plaintext server without
// STARTTLS that accepts everything.
type Options struct {
	// Cert, when set, enables STARTTLS with this certificate; nil means the
	// server does not offer STARTTLS.
	Cert *tls.Certificate
	// MinTLSVersion and MaxTLSVersion bound the versions served (e.g. both
	// tls.VersionTLS10 for a TLS 1.0-only server); 0 means Go's defaults.
	MinTLSVersion, MaxTLSVersion uint16
	// BrokenTLS offers STARTTLS but fails every handshake (no usable
	// certificate), as misconfigured servers do.
	BrokenTLS bool
	// RequireTLS advertises REQUIRETLS (RFC 8689) in TLS sessions.
	RequireTLS bool
	// SMTPUTF8 and DSN advertise those extensions.
	SMTPUTF8, DSN bool
	// MaxMessageBytes, when positive, is advertised as SIZE and enforced.
	MaxMessageBytes int64
	// DiscardData keeps envelopes but not message bodies or wire bytes
	// (benchmarks).
	DiscardData bool
	// Script lists the failures to play.
	Script Script
}

// Script is the sink's misbehaviour. Counters run across all connections of
// the sink, in the order DATA commands arrive.
type Script struct {
	// RejectRcpt lists addresses refused with 550 5.1.1.
	RejectRcpt []string
	// DropData drops the connection during the first DropData DATA
	// transfers, after reading DropAfterBytes (default 64) bytes of them.
	DropData       int
	DropAfterBytes int
	// TempFailData answers the first TempFailData DATA transfers (after any
	// dropped ones) with 451 4.3.0.
	TempFailData int
	// RejectData answers every DATA transfer with 554 5.6.0.
	RejectData bool
	// GreetingDelay delays the 220 greeting of every connection.
	GreetingDelay time.Duration
}

// Message is one message the sink accepted.
type Message struct {
	Conn       int // index of the connection in Sink.Conns
	From       string
	Rcpts      []string
	Data       []byte // as received, dot-stuffing removed; nil with DiscardData
	TLS        bool
	TLSVersion uint16
	SNI        string // the server name the client sent, if any
	RequireTLS bool   // MAIL had REQUIRETLS
	SMTPUTF8   bool
	Body       string // MAIL BODY= value
	Size       int64  // MAIL SIZE= value
	EnvID      string
}

// Sink is a recording SMTP server on 127.0.0.1.
type Sink struct {
	opts Options
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}
	once sync.Once

	mu        sync.Mutex
	msgs      []Message
	conns     []*ConnStats
	wire      bytes.Buffer
	dataSeen  int           // DATA transfers begun, for the Script counters
	changed   chan struct{} // closed and replaced when msgs grows
	serveDone chan struct{}
}

// maxWire bounds the recorded raw bytes.
const maxWire = 8 << 20

// NewSink starts a sink; t.Cleanup closes it.
func NewSink(t testing.TB, opts Options) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Sink{opts: opts, done: make(chan struct{}), changed: make(chan struct{}), serveDone: make(chan struct{})}
	s.ln = &listener{Listener: ln, sink: s}
	s.srv = smtp.NewServer(&backend{sink: s})
	s.srv.Domain = MXHost
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = opts.MaxMessageBytes
	s.srv.EnableREQUIRETLS = opts.RequireTLS
	s.srv.EnableSMTPUTF8 = opts.SMTPUTF8
	s.srv.EnableDSN = opts.DSN
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are what tests provoke
	s.srv.TLSConfig = opts.tlsConfig()
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(s.ln)
	}()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// NewTLSSink makes a test CA and a sink offering STARTTLS with a valid
// certificate for MXHost, the common case. opts.Cert is overwritten.
func NewTLSSink(t testing.TB, opts Options) (*Sink, *testpki.CA) {
	t.Helper()
	ca := testpki.NewCA(t, "smtptest CA")
	cert := ca.Leaf(t, []string{MXHost}, testpki.Options{})
	opts.Cert = &cert
	return NewSink(t, opts), ca
}

func (o Options) tlsConfig() *tls.Config {
	if o.BrokenTLS {
		return &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return nil, errors.New("smtptest: no certificate configured")
		}}
	}
	if o.Cert == nil {
		return nil
	}
	return &tls.Config{Certificates: []tls.Certificate{*o.Cert}, MinVersion: o.MinTLSVersion, MaxVersion: o.MaxTLSVersion}
}

// Addr is the sink's "127.0.0.1:port".
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink and drops its connections.
func (s *Sink) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.srv.Close()
		<-s.serveDone
	})
	return err
}

// Messages returns a copy of the messages accepted so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitFor waits until at least n messages were accepted and returns them.
func (s *Sink) WaitFor(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := slices.Clone(s.msgs), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return msgs, fmt.Errorf("smtptest: %d of %d messages after %v", len(msgs), n, timeout)
		}
	}
}

// Wire returns every byte the sink read from clients (TLS records appear
// as ciphertext), up to 8 MiB; empty with DiscardData.
func (s *Sink) Wire() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.wire.Bytes())
}

// Conns returns a snapshot of each connection's counters, in accept order.
func (s *Sink) Conns() []ConnStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnStats, len(s.conns))
	for i, c := range s.conns {
		out[i] = *c
	}
	return out
}

// Mails counts the MAIL commands the sink accepted on all connections,
// whether or not a message followed.
func (s *Sink) Mails() int {
	n := 0
	for _, c := range s.Conns() {
		n += c.Mails
	}
	return n
}

func (s *Sink) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.conns[m.Conn].Transactions++
	close(s.changed)
	s.changed = make(chan struct{})
}
