package dane_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dane"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/testpki"
)

// serveTLS accepts TLS connections on 127.0.0.1 with cert, completing the
// handshake of each and closing it.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				// The client refusing the handshake is an expected outcome.
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestHandshakeEnforcesDANE(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "dane test CA")
	// A self-signed certificate for another name: only DANE can vouch for it.
	server := testpki.SelfSigned(t, []string{"localhost.invalid"}, testpki.Options{})
	addr := serveTLS(t, server)
	tests := []struct {
		name   string
		record dns.TLSA
		ok     bool
	}{
		{"matching DANE-EE record", tlsa(dns.TLSAUsageDANEEE, dns.TLSASelectorSPKI, dns.TLSAMatchSHA256, server.Leaf), true},
		{"record of another key", tlsa(dns.TLSAUsageDANEEE, dns.TLSASelectorSPKI, dns.TLSAMatchSHA256, ca.Cert), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got *dane.Result
			cfg := dane.ClientConfig([]dns.TLSA{tt.record}, []string{mxHost}, nil, func(r dane.Result) { got = &r })
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			conn := tls.Client(raw, cfg)
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			err = conn.Handshake()
			if !tt.ok {
				if !errors.Is(err, dane.ErrNoMatch) || got != nil {
					t.Fatalf("handshake: %v (result %v), want ErrNoMatch", err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got == nil || got.Record.String() != tt.record.String() || got.Depth != 0 {
				t.Fatalf("matched %v, want %v at depth 0", got, tt.record)
			}
			if st := conn.ConnectionState(); st.Version < tls.VersionTLS12 || st.ServerName != mxHost {
				t.Fatalf("version %x, SNI %q", st.Version, st.ServerName)
			}
		})
	}
}
