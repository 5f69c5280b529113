package keydir_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

func TestWKDHash(t *testing.T) {
	t.Parallel()
	// draft-koch-openpgp-webkey-service section 3.1's example.
	if got := keydir.WKDHash("Joe.Doe"); got != "iy9q119eutrkn8s1mk4r39qejnbu3n5q" {
		t.Fatalf("WKDHash(Joe.Doe) = %s", got)
	}
	adv, direct, err := keydir.WKDURLs("Joe.Doe@Example.ORG", 443)
	if err != nil {
		t.Fatal(err)
	}
	if adv != "https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe" ||
		direct != "https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe" {
		t.Fatalf("urls %s %s", adv, direct)
	}
}

// wkdServer is a Web Key Directory over real TLS (a test CA's certificate
// for the domain and its openpgpkey host) on 127.0.0.1, and a loopback DNS
// server pointing the names at it.
type wkdServer struct {
	ca   *testpki.CA
	port int
	dns  *dnstest.Server
	mu   sync.Mutex
	keys map[string][]byte // request path → binary key
	hits []string
}

func newWKDServer(t *testing.T) *wkdServer {
	t.Helper()
	w := &wkdServer{ca: testpki.NewCA(t, "WKD test CA"), dns: dnstest.New(t), keys: map[string][]byte{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.hits = append(w.hits, r.Host+r.URL.Path+"?"+r.URL.RawQuery)
		k, ok := w.keys[r.Host+r.URL.Path]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "application/octet-stream")
		_, _ = rw.Write(k)
	}))
	leaf := w.ca.Leaf(t, []string{"openpgpkey.example.org", "example.org", "direct.example"}, testpki.Options{})
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	w.port, _ = strconv.Atoi(port)
	for _, h := range []string{"openpgpkey.example.org", "example.org", "direct.example"} {
		w.dns.AddA(h, "127.0.0.1")
	}
	return w
}

func (w *wkdServer) serve(host, path string, key []byte) {
	w.mu.Lock()
	w.keys[host+":"+strconv.Itoa(w.port)+path] = key
	w.mu.Unlock()
}

func (w *wkdServer) requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.hits...)
}

func binaryKey(t *testing.T, email string) []byte {
	t.Helper()
	e, _ := pgpKey(t, keyOpts{email: email})
	var b binaryBuf
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.b
}

type binaryBuf struct{ b []byte }

func (w *binaryBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func TestWKDLookup(t *testing.T) {
	t.Parallel()
	w := newWKDServer(t)
	resolver, err := dns.New(dns.Options{Servers: []string{w.dns.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	e := setup(t, storetest.Default(), resolver, func(o *keydir.Options) {
		o.WKD, o.WKDPort, o.WKDRootCAs, o.WKDAllow, o.WKDCacheTTL = true, w.port, w.ca.Pool, loopback, time.Minute
	})
	ctx := context.Background()

	// Advanced method: openpgpkey.<domain>/.well-known/openpgpkey/<domain>/hu/<hash>.
	w.serve("openpgpkey.example.org", "/.well-known/openpgpkey/example.org/hu/"+keydir.WKDHash("joe.doe"), binaryKey(t, "Joe.Doe@example.org"))
	kind, ok, err := e.svc.HasValidKey(ctx, e.orgA, "Joe.Doe@Example.org")
	if err != nil || !ok || kind != keydir.KindPGP {
		t.Fatalf("WKD key not found: %q %v %v (requests %v)", kind, ok, err, w.requests())
	}
	want := "openpgpkey.example.org:" + strconv.Itoa(w.port) + "/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=joe.doe"
	if r := w.requests(); len(r) != 1 || r[0] != want {
		t.Fatalf("requests %v, want [%s]", r, want)
	}
	// Answers are cached: no second request.
	if _, ok, _ := e.svc.HasValidKey(ctx, e.orgA, "joe.doe@example.org"); !ok || len(w.requests()) != 1 {
		t.Fatalf("second lookup: %v, %d requests", ok, len(w.requests()))
	}
	// A key served for another address is not taken.
	w.serve("openpgpkey.example.org", "/.well-known/openpgpkey/example.org/hu/"+keydir.WKDHash("mallory"), binaryKey(t, "joe.doe@example.org"))
	if _, ok, _ := e.svc.HasValidKey(ctx, e.orgA, "mallory@example.org"); ok {
		t.Fatal("took a WKD key whose user ID is another address")
	}
	// No openpgpkey host in DNS: the direct method.
	w.serve("direct.example", "/.well-known/openpgpkey/hu/"+keydir.WKDHash("ann"), binaryKey(t, "ann@direct.example"))
	if _, ok, err := e.svc.HasValidKey(ctx, e.orgA, "ann@direct.example"); !ok || err != nil {
		t.Fatalf("direct method: %v %v (requests %v)", ok, err, w.requests())
	}
	// Nothing there: no key, and Encrypt refuses.
	if _, _, err := e.svc.Encrypt(ctx, e.orgA, "nobody@example.org", []byte("From: a@b.example\r\n\r\nx\r\n")); err != keydir.ErrNoKey {
		t.Fatalf("Encrypt without a key: %v", err)
	}
}

func TestWKDGuardRefusesLoopback(t *testing.T) {
	t.Parallel()
	w := newWKDServer(t)
	resolver, err := dns.New(dns.Options{Servers: []string{w.dns.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, storetest.Default(), resolver, func(o *keydir.Options) {
		o.WKD, o.WKDPort, o.WKDRootCAs = true, w.port, w.ca.Pool // no WKDAllow
	})
	w.serve("openpgpkey.example.org", "/.well-known/openpgpkey/example.org/hu/"+keydir.WKDHash("joe"), binaryKey(t, "joe@example.org"))
	if _, ok, err := e.svc.HasValidKey(context.Background(), e.orgA, "joe@example.org"); ok || err != nil {
		t.Fatalf("lookup reached a loopback address: %v %v", ok, err)
	}
	if r := w.requests(); len(r) != 0 {
		t.Fatalf("the server was reached: %v", r)
	}
}
