package delivery_test

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/testpki"
)

// world is what a test's nodes talk to: a DNS server, a test CA its MX
// hosts and MTA-STS hosts have certificates from, and an MTA-STS policy
// server, all on 127.0.0.1.
type world struct {
	t      testing.TB
	dns    *dnstest.Server
	ca     *testpki.CA
	caFile string
	sts    *stsServer
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, dns: dnstest.New(t), ca: testpki.NewCA(t, "delivery tests CA")}
	w.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(w.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.ca.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	w.sts = newSTSServer(t, w.ca)
	return w
}

// mxDomain publishes domain with one MX host, "mx.<domain>", at 127.0.0.1.
func (w *world) mxDomain(domain string) string {
	host := "mx." + domain
	w.dns.AddMX(domain, 10, host)
	w.dns.AddA(host, "127.0.0.1")
	return host
}

// enforce publishes an MTA-STS policy for domain in mode, allowing mx.
func (w *world) enforce(domain, mode string, mx ...string) {
	w.dns.AddTXT("_mta-sts."+domain, "v=STSv1; id=20250101T000000")
	w.dns.AddA("mta-sts."+domain, "127.0.0.1")
	body := "version: STSv1\nmode: " + mode + "\n"
	for _, m := range mx {
		body += "mx: " + m + "\n"
	}
	w.sts.set("mta-sts."+domain, body+"max_age: 86400\n")
}

// leaf is a certificate for names from the world's CA.
func (w *world) leaf(names ...string) *tls.Certificate {
	c := w.ca.Leaf(w.t, names, testpki.Options{})
	return &c
}

// stsServer serves MTA-STS policies over HTTPS by host name.
type stsServer struct {
	mu       sync.Mutex
	policies map[string]string
	port     int
}

func newSTSServer(t testing.TB, ca *testpki.CA) *stsServer {
	s := &stsServer{policies: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, TLSConfig: &tls.Config{
		GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := ca.Leaf(t, []string{hi.ServerName}, testpki.Options{})
			return &c, nil
		}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *stsServer) set(host, body string) {
	s.mu.Lock()
	s.policies[host] = body
	s.mu.Unlock()
}

func (s *stsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	s.mu.Lock()
	body, ok := s.policies[host]
	s.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(body))
}
