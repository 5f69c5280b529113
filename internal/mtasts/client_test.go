package mtasts_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/mtasts"
	"github.com/carepost/carepost/internal/testpki"
)

const (
	domain     = "example.test"
	policyHost = "mta-sts.example.test"
	txtName    = "_mta-sts.example.test"
	enforce    = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.mx.example.test\r\nmax_age: 86400\r\n"
)

// env is one recipient domain: its DNS, its policy host on 127.0.0.1, and
// a Client that reaches both through the real lookup path.
type env struct {
	dns    *dnstest.Server
	client *mtasts.Client

	mu          sync.Mutex
	status      int
	contentType string
	body        string
	stall       bool // hold requests until the client gives up

	fetches atomic.Int32 // requests for the well-known path
	others  atomic.Int32 // requests for any other path
	now     atomic.Int64 // the client's clock, Unix nanoseconds
}

// setup serves the policy with the certificate cert makes from the CA the
// client trusts (nil: a valid one) and publishes the TXT record with id 1.
// Timeouts are generous: tests run in parallel under -race on loaded
// machines; only the stall test relies on one firing.
func setup(t *testing.T, cert func(*testpki.CA) tls.Certificate) *env {
	return setupTimeout(t, cert, 10*time.Second)
}

func setupTimeout(t *testing.T, cert func(*testpki.CA) tls.Certificate, fetchTimeout time.Duration) *env {
	t.Helper()
	ca := testpki.NewCA(t, "mta-sts test CA")
	if cert == nil {
		cert = func(ca *testpki.CA) tls.Certificate { return ca.Leaf(t, []string{policyHost}, testpki.Options{}) }
	}
	e := &env{dns: dnstest.New(t), status: http.StatusOK, contentType: "text/plain; charset=utf-8", body: enforce}
	e.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())

	srv := httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	// Refused handshakes are what some tests are about; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert(ca)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	e.dns.AddTXT(txtName, "v=STSv1; id=1")
	e.dns.AddTXT(txtName, "v=spf1 -all") // not an STS record: ignored
	e.dns.AddA(policyHost, "127.0.0.1")
	r, err := dns.New(dns.Options{Servers: []string{e.dns.Addr()}, Timeout: 5 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	e.client, err = mtasts.New(mtasts.Options{
		Resolver:  r,
		HTTPSPort: p,
		RootCAs:   ca.Pool,
		Timeout:   fetchTimeout,
		Clock:     func() time.Time { return time.Unix(0, e.now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/.well-known/mta-sts.txt" {
		e.others.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(enforce))
		return
	}
	e.fetches.Add(1)
	e.mu.Lock()
	status, ct, body, stall := e.status, e.contentType, e.body, e.stall
	e.mu.Unlock()
	if stall {
		<-r.Context().Done()
		panic(http.ErrAbortHandler) // no response at all, just a dropped connection
	}
	if status == http.StatusFound {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (e *env) respond(status int, contentType, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status, e.contentType, e.body = status, contentType, body
}

func (e *env) setID(id string) {
	e.dns.Remove(txtName, "TXT")
	e.dns.AddTXT(txtName, "v=STSv1; id="+id)
}

func (e *env) advance(d time.Duration) { e.now.Add(int64(d)) }

func (e *env) lookup(t *testing.T) (*mtasts.Policy, mtasts.Status) {
	t.Helper()
	p, st, err := e.client.Lookup(context.Background(), domain)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if (p != nil) != (st.Mode != mtasts.ModeNone) {
		t.Fatalf("policy %v with mode %q: a policy comes exactly with enforce or testing", p, st.Mode)
	}
	if st.Err != nil && strings.Contains(st.Err.Error(), "127.0.0.1") {
		t.Fatalf("error %q names an address", st.Err)
	}
	return p, st
}

func TestLookupReportsTheMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode mtasts.Mode
		body string
	}{
		{mtasts.ModeEnforce, enforce},
		{mtasts.ModeTesting, strings.Replace(enforce, "enforce", "testing", 1)},
		{mtasts.ModeNone, "version: STSv1\nmode: none\nmax_age: 86400\n"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			e.respond(http.StatusOK, "text/plain", tt.body)
			p, st := e.lookup(t)
			if st.Mode != tt.mode || st.Source != mtasts.SourceFetched || st.ID != "1" || st.Err != nil {
				t.Fatalf("status %+v, want mode %s fetched under id 1", st, tt.mode)
			}
			if e.dns.Queries(policyHost, "A") == 0 {
				t.Fatal("the policy host was not resolved through our resolver")
			}
			if p != nil && (!p.Matches("mx1.example.test") || !p.Matches("a.mx.example.test") || p.Matches("other.example.test")) {
				t.Fatalf("policy %v matches wrongly", p.MX)
			}
		})
	}
}

func TestNoRecordMeansNoPolicyWithoutFetching(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.dns.Remove(txtName, "TXT")
	e.dns.AddTXT(txtName, "v=spf1 -all")
	p, st := e.lookup(t)
	if p != nil || st.Source != mtasts.SourceNone || st.Err != nil {
		t.Fatalf("status %+v, want no policy and no failure", st)
	}
	if e.fetches.Load() != 0 {
		t.Fatal("fetched a policy the domain does not publish")
	}
}

func TestInvalidRecordsMeanNoPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		txts []string
	}{
		{"two records", []string{"v=STSv1; id=1", "v=STSv1; id=2"}},
		{"malformed", []string{"v=STSv1; id=not-alnum"}},
		{"no id", []string{"v=STSv1;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			e.dns.Remove(txtName, "TXT")
			for _, txt := range tt.txts {
				e.dns.AddTXT(txtName, txt)
			}
			p, st := e.lookup(t)
			if p != nil || st.Source != mtasts.SourceFailed || !errors.Is(st.Err, mtasts.ErrRecord) {
				t.Fatalf("status %+v, want failed with ErrRecord", st)
			}
		})
	}
}
