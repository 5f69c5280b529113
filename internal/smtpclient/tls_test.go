package smtpclient_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/testpki"
)

func TestRequireVerifiedDelivers(t *testing.T) {
	t.Parallel()
	sink, ca := smtptest.NewTLSSink(t, smtptest.Options{})
	c, res, err := dialSend(t, options(sink.Addr(), smtpclient.RequireVerified, ca.Pool), smtpclient.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rcpts) != 1 || !res.Rcpts[0].Accepted || res.Data.Code != 250 {
		t.Errorf("result = %+v", res)
	}
	msgs, err := sink.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if !m.TLS || m.TLSVersion < tls.VersionTLS12 || m.SNI != smtptest.MXHost {
		t.Errorf("sink saw tls=%v version=%x sni=%q", m.TLS, m.TLSVersion, m.SNI)
	}
	if !bytes.Equal(m.Data, message("")) {
		t.Errorf("data = %q", m.Data)
	}
	rep := c.TLS()
	if !rep.Verified || rep.DANE || rep.VerifyError != "" || rep.ServerName != smtptest.MXHost || rep.Version != m.TLSVersion || rep.CipherSuite == 0 {
		t.Errorf("report = %+v", rep)
	}
}

func TestRequireVerifiedRefuses(t *testing.T) {
	t.Parallel()
	expired := testpki.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}
	tests := []struct {
		name  string
		setup func(t *testing.T, ca *testpki.CA) (sink *smtptest.Sink, addr string)
		stage smtpclient.Stage
	}{
		{"no STARTTLS", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := smtptest.NewSink(t, smtptest.Options{})
			return s, s.Addr()
		}, smtpclient.StageSTARTTLS},
		{"STARTTLS stripped", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}), smtptest.Options{})
			return s, smtptest.NewStripTLSProxy(t, s.Addr(), smtptest.ProxyOptions{}).Addr()
		}, smtpclient.StageSTARTTLS},
		{"STARTTLS answered 454", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}), smtptest.Options{})
			return s, smtptest.NewStripTLSProxy(t, s.Addr(), smtptest.ProxyOptions{Refuse: true}).Addr()
		}, smtpclient.StageSTARTTLS},
		{"self-signed", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, testpki.SelfSigned(t, []string{smtptest.MXHost}, testpki.Options{}), smtptest.Options{})
			return s, s.Addr()
		}, smtpclient.StageTLSVerify},
		{"wrong name", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{"mx.elsewhere.test"}, testpki.Options{}), smtptest.Options{})
			return s, s.Addr()
		}, smtpclient.StageTLSVerify},
		{"expired", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, expired), smtptest.Options{})
			return s, s.Addr()
		}, smtpclient.StageTLSVerify},
		{"TLS 1.0 only", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}),
				smtptest.Options{MinTLSVersion: tls.VersionTLS10, MaxTLSVersion: tls.VersionTLS10})
			return s, s.Addr()
		}, smtpclient.StageSTARTTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := testpki.NewCA(t, "test CA")
			sink, addr := tt.setup(t, ca)
			c, _, err := dialSend(t, options(addr, smtpclient.RequireVerified, ca.Pool), smtpclient.SendOptions{})
			if c != nil || err == nil {
				t.Fatalf("Dial succeeded (conn %v, err %v)", c != nil, err)
			}
			e := asError(t, err)
			if e.Kind != smtpclient.KindTLS || e.Stage != tt.stage {
				t.Errorf("error %v: kind %v stage %v, want tls at %v", err, e.Kind, e.Stage, tt.stage)
			}
			assertNothingDelivered(t, sink)
			assertNoPHIInError(t, err)
		})
	}
}

func sinkWith(t *testing.T, cert tls.Certificate, opts smtptest.Options) *smtptest.Sink {
	opts.Cert = &cert
	return smtptest.NewSink(t, opts)
}

// pin accepts exactly the certificate with the given SHA-256, like a DANE
// 3 0 1 record.
func pin(cert tls.Certificate) func(tls.ConnectionState) error {
	want := sha256.Sum256(cert.Certificate[0])
	return func(cs tls.ConnectionState) error {
		if got := sha256.Sum256(cs.PeerCertificates[0].Raw); got != want {
			return errors.New("certificate does not match the TLSA record")
		}
		return nil
	}
}

func TestVerifyConnectionReplacesPKIX(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "test CA")
	self := testpki.SelfSigned(t, []string{"some.other.name"}, testpki.Options{})
	valid := ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{})
	tests := []struct {
		name    string
		served  tls.Certificate
		hook    func(tls.ConnectionState) error
		deliver bool
	}{
		{"hook approves a self-signed cert PKIX would refuse", self, pin(self), true},
		{"hook rejects a self-signed cert", self, pin(valid), false},
		{"hook rejects a cert PKIX would accept", valid, pin(self), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := sinkWith(t, tt.served, smtptest.Options{})
			opts := options(sink.Addr(), smtpclient.RequireVerified, ca.Pool)
			opts.VerifyConnection = tt.hook
			c, _, err := dialSend(t, opts, smtpclient.SendOptions{})
			if !tt.deliver {
				if e := asError(t, err); e.Kind != smtpclient.KindTLS || e.Stage != smtpclient.StageTLSVerify {
					t.Errorf("error %v, want tls-verify", err)
				}
				assertNothingDelivered(t, sink)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rep := c.TLS()
			sum := sha256.Sum256(tt.served.Certificate[0])
			if !rep.Verified || !rep.DANE || rep.PeerCertSHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("report = %+v", rep)
			}
			if msgs, err := sink.WaitFor(1, 5*time.Second); err != nil || !msgs[0].TLS {
				t.Errorf("sink: %v %+v", err, msgs)
			}
		})
	}
}

func TestOpportunistic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string)
		tls      bool // delivered over TLS
		verified bool
		conns    int    // connections the sink saw
		version  uint16 // negotiated version, when it matters
	}{
		{"valid certificate", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}), smtptest.Options{})
			return s, s.Addr()
		}, true, true, 1, 0},
		{"self-signed", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, testpki.SelfSigned(t, []string{smtptest.MXHost}, testpki.Options{}), smtptest.Options{})
			return s, s.Addr()
		}, true, false, 1, 0},
		{"TLS 1.0 only", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}),
				smtptest.Options{MinTLSVersion: tls.VersionTLS10, MaxTLSVersion: tls.VersionTLS10})
			return s, s.Addr()
		}, true, false, 1, tls.VersionTLS10},
		{"STARTTLS stripped", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := sinkWith(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}), smtptest.Options{})
			return s, smtptest.NewStripTLSProxy(t, s.Addr(), smtptest.ProxyOptions{}).Addr()
		}, false, false, 1, 0},
		{"handshake fails: reconnect in plaintext", func(t *testing.T, ca *testpki.CA) (*smtptest.Sink, string) {
			s := smtptest.NewSink(t, smtptest.Options{BrokenTLS: true})
			return s, s.Addr()
		}, false, false, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := testpki.NewCA(t, "test CA")
			sink, addr := tt.setup(t, ca)
			c, _, err := dialSend(t, options(addr, smtpclient.Opportunistic, ca.Pool), smtpclient.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := sink.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			rep := c.TLS()
			if msgs[0].TLS != tt.tls || (rep.Version != 0) != tt.tls || rep.Verified != tt.verified {
				t.Errorf("sink tls=%v, report %+v; want tls=%v verified=%v", msgs[0].TLS, rep, tt.tls, tt.verified)
			}
			if tt.version != 0 && rep.Version != tt.version {
				t.Errorf("negotiated %s, want %s", rep.VersionName(), tls.VersionName(tt.version))
			}
			if tt.tls && !tt.verified && rep.VerifyError == "" {
				t.Error("unverified TLS without a VerifyError")
			}
			if n := len(sink.Conns()); n != tt.conns {
				t.Errorf("sink saw %d connections, want %d", n, tt.conns)
			}
			if tt.conns == 2 && (rep.HandshakeError == "" || !rep.Offered) {
				t.Errorf("fallback not recorded: %+v", rep)
			}
		})
	}
}
