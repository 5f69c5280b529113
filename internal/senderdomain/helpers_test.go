package senderdomain_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// env is a real App on one driver whose DNS is a server on loopback, with
// two organizations.
type env struct {
	app        *app.App
	dns        *dnstest.Server
	orgA, orgB auth.Org
	clock      *clock
}

// clock is the shared fake clock.
type clock = clocktest.Clock

// setup opens the App; edit adjusts the configuration first.
func setup(t *testing.T, d store.Driver, edit func(*config.Config)) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	if edit != nil {
		edit(cfg)
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{dns: dnstest.New(t), clock: clocktest.New(time.Now())}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler),
		app.Options{Clock: e.clock.Now, DNSServers: []string{e.dns.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	e.app = a
	e.orgA = e.org(t, "Riverside Clinic", "owner@riverside.example")
	e.orgB = e.org(t, "Lakeside Hospital", "owner@lakeside.example")
	return e
}

func (e *env) org(t *testing.T, name, email string) auth.Org {
	t.Helper()
	o, _, _, err := e.app.Auth.Bootstrap(context.Background(), name, email, "Owner")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// service builds another Service over the App's parts with opts.
func (e *env) service(t *testing.T, opts senderdomain.Options) *senderdomain.Service {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = e.clock.Now
	}
	s, err := senderdomain.New(senderdomain.Deps{DB: e.app.DB, Keys: e.app.Keys, Audit: e.app.Audit, Resolver: e.app.DNS}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// admin is a principal of org holding perms.
func admin(org auth.Org, perms ...access.Permission) senderdomain.Actor {
	if len(perms) == 0 {
		perms = []access.Permission{access.DomainsWrite}
	}
	return senderdomain.As(auth.Principal{OrgID: org.ID, UserID: "usr_test", Perms: access.NewSet(perms...)})
}

// publish serves recs from the loopback DNS server.
func (e *env) publish(recs []senderdomain.Record) {
	for _, r := range recs {
		e.dns.AddTXT(r.Name, r.Value)
	}
}

// add adds name for actor, failing the test on error.
func add(t *testing.T, s *senderdomain.Service, a senderdomain.Actor, name string) (senderdomain.Domain, []senderdomain.Record) {
	t.Helper()
	d, recs, err := s.Add(context.Background(), a, name)
	if err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	return d, recs
}

// storedKeys unseals a domain's keys the way only carepost can, so tests
// know what must (and must not) appear elsewhere.
func (e *env) storedKeys(t *testing.T, org, id string) (rsaDER, edDER []byte, keys dkim.Keys) {
	t.Helper()
	ctx := context.Background()
	r, err := store.GetSenderDomain(ctx, e.app.DB.Reader(), org, id)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := e.app.Keys.Open(ctx, e.app.DB.Reader(), keyring.AAD{Scope: org, Table: "sender_domains", Column: "dkim_keys", RowID: id}, r.DKIMKeys)
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ RSA, Ed25519 []byte }
	if err := json.Unmarshal(pt, &b); err != nil {
		t.Fatal(err)
	}
	rk, err := dkim.ParseRSAPrivateKey(b.RSA)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := dkim.ParseEd25519PrivateKey(b.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	return b.RSA, b.Ed25519, dkim.Keys{RSA: rk, Ed25519: ek, Selectors: dkim.Selectors{RSA: r.RSASelector, Ed25519: r.EdSelector}}
}

// publicData is the p= each key must have in DNS.
func publicData(t *testing.T, k dkim.Keys) (rsaP, edP string) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.RSA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der), base64.StdEncoding.EncodeToString(k.Ed25519.Public().(ed25519.PublicKey))
}

func byKind(checks []senderdomain.Check) map[string]senderdomain.Check {
	m := map[string]senderdomain.Check{}
	for _, c := range checks {
		m[c.Kind] = c
	}
	return m
}

func recordOf(t *testing.T, recs []senderdomain.Record, kind string) senderdomain.Record {
	t.Helper()
	for _, r := range recs {
		if r.Kind == kind {
			return r
		}
	}
	t.Fatalf("no %s record in %v", kind, recs)
	return senderdomain.Record{}
}

// auditActions lists the actions in org's chain.
func (e *env) auditActions(t *testing.T, org string) string {
	t.Helper()
	rows, err := e.app.DB.Reader().Query(context.Background(), `SELECT action FROM audit_entries WHERE chain = ? ORDER BY seq`, org)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

func inputMsg(err error) string {
	var in *auth.InputError
	if errors.As(err, &in) {
		return in.Msg
	}
	return ""
}
