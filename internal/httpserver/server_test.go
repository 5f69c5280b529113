package httpserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carepost/carepost/internal/devcert"
)

type fixture struct {
	base   string
	client *http.Client
	reg    *prometheus.Registry
	stop   func() error
}

// setup serves mux over real TLS on 127.0.0.1:0 with the standard
// middleware, and a client that trusts the generated certificate.
func setup(t *testing.T, mux *http.ServeMux, mutate func(*Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	cert, _, err := devcert.Ensure(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), devcert.Hosts("127.0.0.1:0"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	MountHealth(mux, reg, []Check{{Name: "database", Fn: func(context.Context) error { return nil }}})
	opts := Options{Listen: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, Registry: reg, MaxBody: 1024}
	if mutate != nil {
		mutate(&opts)
	}
	s := New(opts, mux)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	f := &fixture{
		base:   "https://" + s.Addr().String(),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		reg:    reg,
	}
	var once sync.Once
	var stopErr error
	f.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = f.stop() })
	return f
}

func (f *fixture) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestEveryResponseCarriesSecurityHeaders(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	f := setup(t, mux, nil)
	for _, path := range []string{"/healthz", "/readyz", "/nope"} {
		resp, _ := f.do(t, "GET", path, nil, nil)
		want := map[string]string{
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
			"X-Content-Type-Options":    "nosniff",
			"Referrer-Policy":           "no-referrer",
			"Cache-Control":             "no-store",
			"X-Frame-Options":           "DENY",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP = %q", path, csp)
		}
		if len(resp.Header.Get("X-Request-ID")) != 32 {
			t.Errorf("%s: no generated request id", path)
		}
	}
}

func TestHealthReadyAndMetrics(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, map[string]string{"ok": "1"}) })
	f := setup(t, mux, nil)
	if resp, body := f.do(t, "GET", "/healthz", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz = %d %s", resp.StatusCode, body)
	}
	resp, body := f.do(t, "GET", "/readyz", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz = %d %s", resp.StatusCode, body)
	}
	f.do(t, "GET", "/things/secret-token-123", nil, nil)
	resp, body = f.do(t, "GET", "/metrics", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `carepost_http_requests_total{code="200",method="GET",route="GET /things/{id}"} 1`) {
		t.Fatalf("metrics lack the route-pattern counter:\n%s", body)
	}
	if strings.Contains(body, "secret-token-123") {
		t.Fatal("a raw path reached the metrics")
	}
}

func TestReadyzFailsWhenACheckFails(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	MountHealth(mux, prometheus.NewRegistry(), []Check{{Name: "migrations", Fn: func(context.Context) error { return errors.New("2 pending") }}})
	srv := New(Options{Listen: "127.0.0.1:0"}, mux)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx)
	resp, err := http.Get("http://" + srv.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 503 || body.Checks["migrations"] != "2 pending" {
		t.Fatalf("readyz = %d %+v", resp.StatusCode, body)
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS sent over plain HTTP")
	}
}

func TestRequestIDAndClientIP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		wantIP  string
	}{
		{"untrusted peer ignores X-Forwarded-For", nil, "203.0.113.9", "127.0.0.1"},
		{"trusted proxy forwards the client", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.9", "203.0.113.9"},
		{"spoofed left-most hop is skipped", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}, "198.51.100.1, 203.0.113.9, 10.1.1.1", "203.0.113.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 200, Info(r.Context()))
			})
			f := setup(t, mux, func(o *Options) { o.TrustedProxies = c.trusted })
			resp, body := f.do(t, "GET", "/who", nil, map[string]string{"X-Forwarded-For": c.xff, "X-Request-ID": "abc-123"})
			var info RequestInfo
			if err := json.Unmarshal([]byte(body), &info); err != nil {
				t.Fatal(err)
			}
			if info.ClientIP != c.wantIP {
				t.Errorf("client ip = %q, want %q", info.ClientIP, c.wantIP)
			}
			if info.ID != "abc-123" || resp.Header.Get("X-Request-ID") != "abc-123" {
				t.Errorf("request id not propagated: %q / %q", info.ID, resp.Header.Get("X-Request-ID"))
			}
		})
	}
}

func TestOversizeBodyAndPanicAnswerJSONErrors(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			WriteError(w, r, http.StatusRequestEntityTooLarge, "too_large", "body too large", "")
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("internal detail: patient 078-05-1120") })
	f := setup(t, mux, nil)
	resp, body := f.do(t, "POST", "/echo", strings.NewReader(strings.Repeat("x", 2048)), nil)
	if resp.StatusCode != 413 || !strings.Contains(body, `"too_large"`) {
		t.Fatalf("oversize = %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, "GET", "/panic", nil, nil)
	if resp.StatusCode != 500 || strings.Contains(body, "078-05") || !strings.Contains(body, `"internal"`) {
		t.Fatalf("panic = %d %s", resp.StatusCode, body)
	}
}

func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("done"))
	})
	f := setup(t, mux, nil)
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := f.client.Get(f.base + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	if err := f.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request during shutdown: %q, %v", r.body, r.err)
	}
}
