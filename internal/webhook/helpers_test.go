package webhook_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/jobs"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
	"github.com/carepost/carepost/internal/webhook"
)

const (
	orgA = "org_a"
	orgB = "org_b"
)

// loopback is the Allow list that lets tests reach their receivers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// env is one carepost node's webhook machinery over a fresh database: the
// service, the worker registered on a running River client, and a test CA
// that receivers' certificates chain to.
type env struct {
	db   *store.DB
	kr   *keyring.Keyring
	svc  *webhook.Service
	jobs *jobs.Client
	ca   *testpki.CA
}

// setup builds an env on driver d. opts.RootCAs is set to the env's CA.
func setup(t *testing.T, d store.Driver, opts webhook.Options) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, d)
	if _, err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	ks, err := keyring.GenerateKeyset()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, kr: keyring.New(db, ks, keyring.Options{}), ca: testpki.NewCA(t, "webhook receivers")}
	opts.RootCAs = e.ca.Pool
	w, err := webhook.NewWorker(db, e.kr, opts)
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	e.jobs, err = jobs.New(db, workers, nil, jobs.Options{Workers: 5, FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.jobs.Stop(ctx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
	if e.svc, err = webhook.New(db, e.kr, e.jobs, opts); err != nil {
		t.Fatal(err)
	}
	e.tx(t, func(tx *store.Tx) error {
		for _, org := range []string{orgA, orgB} {
			// Test fixture: the organizations table belongs to the
			// accounts code; two rows are all these tests need.
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`,
				org, org, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
	return e
}

func (e *env) tx(t testing.TB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := e.db.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// create adds an endpoint to org and returns it with its secret.
func (e *env) create(t testing.TB, org string, in webhook.EndpointInput) (webhook.Endpoint, string) {
	t.Helper()
	var ep webhook.Endpoint
	var secret string
	e.tx(t, func(tx *store.Tx) error {
		var err error
		ep, secret, err = e.svc.CreateEndpoint(context.Background(), tx, org, in)
		return err
	})
	return ep, secret
}

// enqueue commits one event for org.
func (e *env) enqueue(t testing.TB, org string, ev webhook.Event) {
	t.Helper()
	e.tx(t, func(tx *store.Tx) error { return e.svc.Enqueue(context.Background(), tx, org, ev) })
}

// event is a message event with PHI-free data.
func event(id, typ string) webhook.Event {
	return webhook.Event{ID: id, Type: typ, Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Data: json.RawMessage(`{"message_id": "msg_1", "recipient_id": "rcp_1", "state": "` + typ + `"}`)}
}

// deliveries returns every delivery of one endpoint, newest first.
func (e *env) deliveries(t testing.TB, org, endpointID string) []webhook.Delivery {
	t.Helper()
	list, _, err := e.svc.Deliveries(context.Background(), org, endpointID, "", webhook.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// waitFinal waits until every delivery of the endpoint has left pending and
// there are want of them.
func (e *env) waitFinal(t testing.TB, org, endpointID string, want int) []webhook.Delivery {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		list := e.deliveries(t, org, endpointID)
		done := len(list) == want
		for _, d := range list {
			done = done && d.State != webhook.StatePending
		}
		if done {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries of %s not final in time: %+v", endpointID, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on 127.0.0.1 over TLS with a certificate
// from the env's CA (names 127.0.0.1 and localhost). It answers the
// statuses in order, then 200.
type receiver struct {
	srv      *httptest.Server
	location string // when set, every answer is a 307 redirect there
	mu       sync.Mutex
	got      []received
	statuses []int
}

func (e *env) receiver(t testing.TB, statuses ...int) *receiver {
	t.Helper()
	return e.startReceiver(t, &receiver{statuses: statuses})
}

// redirector answers every request with a redirect to location.
func (e *env) redirector(t testing.TB, location string) *receiver {
	t.Helper()
	return e.startReceiver(t, &receiver{location: location})
}

func (e *env) startReceiver(t testing.TB, r *receiver) *receiver {
	t.Helper()
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{e.ca.Leaf(t, []string{"127.0.0.1", "localhost"}, testpki.Options{})}}
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, received{at: time.Now(), header: req.Header.Clone(), body: body})
	status := http.StatusOK
	if n := len(r.got); n <= len(r.statuses) {
		status = r.statuses[n-1]
	}
	r.mu.Unlock()
	if r.location != "" {
		http.Redirect(w, req, r.location, http.StatusTemporaryRedirect)
		return
	}
	w.WriteHeader(status)
}

// requests returns what the receiver got so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// url is the receiver's URL with host replaced (e.g. "localhost").
func (r *receiver) url(t testing.TB, host string) string {
	t.Helper()
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		u.Host = host + ":" + u.Port()
	}
	u.Path = "/hooks/carepost"
	return u.String()
}
