package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// The peers carepost talks to during a run, all on 127.0.0.1: a DNS server
// for MX, A and TXT records, an HTTPS server publishing an MTA-STS policy
// in enforce mode, and an SMTP sink with STARTTLS, its certificate from a
// CA made for the run (given to carepost as delivery.extra_roots). With
// these, delivery runs the production path: MX lookup, MTA-STS, verified
// TLS, DKIM.

const (
	destDomain = "dest.test"
	mxHost     = "mx.dest.test"
	stsHost    = "mta-sts.dest.test"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA() (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "carepost-load CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key}, nil
}

func (c *ca) leaf(names ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key}, nil
}

func (c *ca) writePEM(path string) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}), 0o644)
}

// zone is the DNS server's data, changeable while it runs.
type zone struct {
	mu  sync.RWMutex
	txt map[string][]string
}

func (z *zone) addTXT(name, value string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[dns.Fqdn(strings.ToLower(name))] = append(z.txt[dns.Fqdn(strings.ToLower(name))], value)
}

func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
	switch {
	case q.Qtype == dns.TypeMX && name == dns.Fqdn(destDomain):
		hdr.Rrtype = dns.TypeMX
		m.Answer = append(m.Answer, &dns.MX{Hdr: hdr, Preference: 10, Mx: dns.Fqdn(mxHost)})
	case q.Qtype == dns.TypeA && (name == dns.Fqdn(mxHost) || name == dns.Fqdn(stsHost)):
		hdr.Rrtype = dns.TypeA
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IPv4(127, 0, 0, 1)})
	case q.Qtype == dns.TypeTXT:
		z.mu.RLock()
		for _, v := range z.txt[name] {
			hdr.Rrtype = dns.TypeTXT
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: splitTXT(v)})
		}
		z.mu.RUnlock()
		if len(m.Answer) == 0 {
			m.Rcode = dns.RcodeNameError
		}
	case q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeTLSA || q.Qtype == dns.TypeMX:
		// NODATA: no IPv6, no DANE, no MX for other names.
	default:
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func splitTXT(v string) []string {
	var out []string
	for len(v) > 255 {
		out, v = append(out, v[:255]), v[255:]
	}
	return append(out, v)
}

func startDNS(z *zone) (string, func(), error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return "", nil, err
	}
	udp := &dns.Server{PacketConn: pc, Handler: z}
	tcp := &dns.Server{Listener: ln, Handler: z}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	return pc.LocalAddr().String(), func() { udp.Shutdown(); tcp.Shutdown() }, nil
}

// startMTASTS serves the enforce-mode policy naming the sink's MX host.
func startMTASTS(cert tls.Certificate) (int, func(), error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return 0, nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 86400\r\n", mxHost)
	})}
	go srv.Serve(ln)
	return ln.Addr().(*net.TCPAddr).Port, func() { srv.Close() }, nil
}

// sink is an SMTP server that counts delivered messages and notes the time
// of the last one. It discards bodies after checking the DKIM header is
// there.
type sink struct {
	delivered atomic.Int64
	unsigned  atomic.Int64
	conns     atomic.Int64
	last      atomic.Int64 // unix nanoseconds
	srv       *smtp.Server
}

func startSink(cert tls.Certificate) (*sink, int, error) {
	s := &sink{}
	srv := smtp.NewServer(s)
	srv.Domain = mxHost
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.MaxMessageBytes = 50 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	s.srv = srv
	go srv.Serve(ln)
	return s, ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *sink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	if _, ok := c.TLSConnectionState(); !ok {
		s.conns.Add(1)
	}
	return &sinkSession{s: s}, nil
}

type sinkSession struct {
	s     *sink
	rcpts int
}

func (ss *sinkSession) AuthPlain(string, string) error       { return smtp.ErrAuthUnsupported }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { ss.rcpts++; return nil }
func (ss *sinkSession) Reset()                               { ss.rcpts = 0 }
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	head := make([]byte, 4096)
	n, _ := io.ReadFull(r, head)
	if !strings.Contains(string(head[:n]), "DKIM-Signature:") {
		ss.s.unsigned.Add(1)
	}
	_, _ = io.Copy(io.Discard, r)
	ss.s.delivered.Add(int64(ss.rcpts))
	ss.s.last.Store(time.Now().UnixNano())
	return nil
}
